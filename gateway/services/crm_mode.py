"""Switching a company from classic to simple CRM mode: every active lead becomes a deal.

Runs inside the caller's transaction (`company set SLUG --crm-mode simple`, gateway.services.preferences),
so the switch and all the conversions commit together or not at all. The decisions are
:func:`gateway.crm.conversion.plan_conversion`; here they are carried out: clients created, a deal opened in
the chosen pipeline, the lead's message links, planned activities, addresses and review items moved,
the lead marked converted. Switching back to classic converts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.conversion import ConversionOptions, LeadFacts, plan_conversion
from gateway.crm.kinds import Kind, LinkRule, Status
from gateway.services import webhooks
from gateway.store.database import rows_matched
from gateway.store.models import (
    Activity, Company, Deal, Lead, Link, Organization, Person, RecordEmail, ReviewItem,
)


@dataclass(frozen=True)
class ConvertedLead:
    lead_id: int
    deal_id: int
    person_id: int | None
    org_id: int | None
    created: tuple[str, ...]            # "contact" and/or "organization" made for this deal
    messages_moved: int
    activities_moved: int
    activities_completed: int


async def _facts(session: AsyncSession, lead: Lead) -> LeadFacts:
    person_org = await session.scalar(select(Person.org_id).where(Person.id == lead.person_id)) \
        if lead.person_id else None
    by_email = await session.scalar(select(Person.id).where(
        Person.company_id == lead.company_id, Person.email == lead.email)) if lead.email else None
    name = lead.company_name.strip()
    by_name = await session.scalar(select(Organization.id).where(
        Organization.company_id == lead.company_id, func.lower(Organization.name) == name.lower())
        .order_by(Organization.id)) if name else None
    return LeadFacts(lead.id, lead.title, lead.email, lead.name, lead.company_name, lead.person_id, lead.org_id,
                     person_org, by_email, by_name)


async def _move_addresses(session: AsyncSession, lead: Lead, kind: str, record_id: int) -> None:
    """The lead's extra addresses (and their last use) go to its client."""
    rows = await session.scalars(select(RecordEmail).where(
        RecordEmail.company_id == lead.company_id, RecordEmail.kind == Kind.LEAD, RecordEmail.record_id == lead.id))
    for row in rows.all():
        twin = await session.scalar(select(RecordEmail).where(
            RecordEmail.company_id == lead.company_id, RecordEmail.kind == kind,
            RecordEmail.record_id == record_id, RecordEmail.email == row.email))
        if twin is None:
            row.kind, row.record_id = kind, record_id
            continue
        if row.last_used_at and (twin.last_used_at is None or row.last_used_at > twin.last_used_at):
            twin.last_used_at = row.last_used_at
        await session.delete(row)


async def _convert(session: AsyncSession, lead: Lead, options: ConversionOptions, now: datetime) -> ConvertedLead:
    plan = plan_conversion(await _facts(session, lead), options)
    made = dict(company_id=lead.company_id, owner_user_id=lead.owner_user_id,
                created_from_message_id=lead.created_from_message_id)
    created: list[str] = []
    org_id = plan.org_id
    if plan.new_org:
        org = Organization(name=plan.new_org[:200], **made)
        session.add(org)
        await session.flush()
        org_id = org.id
        created.append("organization")
    person_id = plan.person_id
    if plan.new_person is not None:
        email, name = plan.new_person
        person = Person(email=email, name=name, org_id=org_id, **made)
        session.add(person)
        await session.flush()
        await webhooks.contact_created(session, person, lead.created_from_message_id)
        person_id = person.id
        created.append("contact")
    deal = Deal(title=plan.title, person_id=person_id, org_id=org_id, pipeline=options.pipeline, **made)
    session.add(deal)
    await session.flush()
    moved = await session.execute(update(Link).where(Link.kind == Kind.LEAD, Link.record_id == lead.id)
                                  .values(kind=Kind.DEAL, record_id=deal.id, rule=LinkRule.CONVERTED))
    planned = (Activity.company_id == lead.company_id, Activity.kind == Kind.LEAD, Activity.record_id == lead.id,
               Activity.status == "planned")
    if options.activities == "keep":
        activities = await session.execute(update(Activity).where(*planned).values(kind=Kind.DEAL, record_id=deal.id))
    else:
        activities = await session.execute(update(Activity).where(*planned)
                                           .values(status="completed", completed_at=now))
    if person_id is not None:
        await _move_addresses(session, lead, Kind.PERSON, person_id)
    elif org_id is not None:
        await _move_addresses(session, lead, Kind.ORG, org_id)
    lead.status, lead.closed_at, lead.converted_deal_id = Status.CONVERTED, now, deal.id
    count = rows_matched(activities)
    return ConvertedLead(lead.id, deal.id, person_id, org_id, tuple(created), rows_matched(moved),
                         count if options.activities == "keep" else 0,
                         count if options.activities == "complete" else 0)


async def _move_reviews(session: AsyncSession, company_id: int, deals: dict[int, int]) -> None:
    """Open review items that offered converted leads now offer their deals."""
    items = (await session.scalars(select(ReviewItem).where(
        ReviewItem.company_id == company_id, ReviewItem.kind == Kind.LEAD, ReviewItem.status == "open"))).all()
    for item in items:
        candidates = [deals[c] for c in item.candidates if c in deals]
        if not candidates:
            continue
        twin = await session.scalar(select(ReviewItem).where(
            ReviewItem.message_pk == item.message_pk, ReviewItem.kind == Kind.DEAL,
            ReviewItem.person_id == item.person_id))
        if twin is None:
            item.kind, item.candidates = Kind.DEAL, candidates
        else:
            twin.candidates = list(dict.fromkeys([*twin.candidates, *candidates]))
            await session.delete(item)


async def convert_active_leads(session: AsyncSession, company: Company, options: ConversionOptions,
                               now: datetime) -> tuple[ConvertedLead, ...]:
    leads = (await session.scalars(select(Lead).where(Lead.company_id == company.id, Lead.status == Status.OPEN)
                                   .order_by(Lead.id))).all()
    converted = []
    for lead in leads:
        converted.append(await _convert(session, lead, options, now))
    await _move_reviews(session, company.id, {c.lead_id: c.deal_id for c in converted})
    return tuple(converted)
