"""Companies: each one has a domain of its own and a company-wide Bcc address derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gateway.mail.address import normalize_domain
from gateway.crm.domains import own_domains_of
from gateway.routing.bcc_address import slug_for_domain, unique_slug
from gateway.services.errors import Conflict, ServiceError, company_by_slug
from gateway.store.database import Database
from gateway.store.models import (
    AlternateAddress, Company, Deal, FormerSlug, Lead, Message, Organization, Person, Project, User, utcnow,
)


@dataclass(frozen=True)
class CompanyView:
    id: int
    name: str
    slug: str
    domain: str
    address: str
    crm_mode: str
    created_at: datetime
    own_domains: tuple[str, ...] = ()     # colleagues' domains: the setting, else ``domain`` (preferences)


@dataclass(frozen=True)
class CompanyDetails:
    company: CompanyView
    counts: dict[str, int]     # users, alternates, contacts, organizations, leads, deals, projects, messages


def company_view(db: Database, company: Company) -> CompanyView:
    return CompanyView(company.id, company.name, company.slug, company.domain,
                       db.company_address(company.slug), company.crm_mode, company.created_at,
                       tuple(sorted(own_domains_of(company.domain, company.own_domains))))


async def add_company(db: Database, name: str, domain: str) -> CompanyView:
    """A new company; its slug comes from the domain, made unique against current and former slugs."""
    name = name.strip()
    if not name:
        raise ServiceError("the company needs a name, e.g. `smartbcc company add \"Acme Corp\" --domain acme.com`")
    domain = normalize_domain(domain)
    try:
        async with db.writing() as session, session.begin():
            other = await session.scalar(select(Company).where(Company.domain == domain))
            if other is not None:
                raise Conflict(f"company {other.slug!r} already has the domain {domain}; "
                               "each company needs a domain of its own")
            taken = set(await session.scalars(select(Company.slug)))
            taken |= set(await session.scalars(select(FormerSlug.slug)))
            company = Company(name=name, domain=domain, slug=unique_slug(slug_for_domain(domain), taken))
            session.add(company)
    except IntegrityError:
        raise Conflict(f"another company was just added with the domain {domain} or the same address; "
                       "see `smartbcc company list`") from None
    return company_view(db, company)


async def list_companies(db: Database) -> list[CompanyView]:
    async with db.sessions() as session:
        companies = await session.scalars(select(Company).order_by(Company.slug))
        return [company_view(db, company) for company in companies]


_COUNTED: dict[str, type[User | AlternateAddress | Person | Organization | Lead | Deal | Project | Message]] = {
    "users": User, "alternates": AlternateAddress, "contacts": Person, "organizations": Organization,
    "leads": Lead, "deals": Deal, "projects": Project, "messages": Message,
}


async def company_details(db: Database, slug: str) -> CompanyDetails:
    async with db.sessions() as session:
        company = await company_by_slug(session, slug)
        counts: dict[str, int] = {}
        for label, model in _COUNTED.items():
            counts[label] = (await session.execute(
                select(func.count()).select_from(model).where(model.company_id == company.id))).scalar_one()
        return CompanyDetails(company_view(db, company), counts)


@dataclass(frozen=True)
class DomainChange:
    company: CompanyView
    former_address: str | None        # still accepted until ``former_expires_at``; None: address unchanged
    former_expires_at: datetime | None


async def change_domain(db: Database, slug: str, new_domain: str, grace_days: int | None = None) -> DomainChange:
    """Give the company a new domain, and with it a new company address; the old address keeps being
    accepted for ``grace_days`` (the deployment's address_grace_days by default), then 550 5.1.1."""
    grace = db.settings.address_grace_days if grace_days is None else grace_days
    if grace < 0:
        raise ServiceError("the grace period is a number of days, 0 or more")
    new_domain = normalize_domain(new_domain)
    async with db.writing() as session, session.begin():
        company = await company_by_slug(session, slug)
        if company.domain == new_domain:
            raise ServiceError(f"{company.slug!r} already has the domain {new_domain}")
        other = await session.scalar(select(Company).where(Company.domain == new_domain))
        if other is not None:
            raise Conflict(f"company {other.slug!r} already has the domain {new_domain}")
        old_slug = company.slug
        own_former = {row.slug: row for row in await session.scalars(
            select(FormerSlug).where(FormerSlug.company_id == company.id))}
        taken = set(await session.scalars(select(Company.slug).where(Company.id != company.id)))
        taken |= set(await session.scalars(select(FormerSlug.slug))) - set(own_former)
        new_slug = unique_slug(slug_for_domain(new_domain), taken)
        company.domain = new_domain
        if new_slug == old_slug:
            return DomainChange(company_view(db, company), None, None)
        if new_slug in own_former:              # back to an address the company had: it is its own again
            await session.delete(own_former.pop(new_slug))
        expires = utcnow() + timedelta(days=grace)
        if old_slug in own_former:
            own_former[old_slug].expires_at = expires
        else:
            session.add(FormerSlug(slug=old_slug, company_id=company.id, expires_at=expires))
        company.slug = new_slug
        return DomainChange(company_view(db, company), db.company_address(old_slug), expires)
