"""What an admin operation says when it cannot be done, and the look-ups every service shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.mail.address import normalize_email
from gateway.crm.recipients import NOUNS
from gateway.store.models import RECORD_MODELS, Company, User


class ServiceError(ValueError):
    """The request cannot be carried out; the message says what to fix."""


class NotFound(ServiceError):
    """A company, user, record or message named by the admin does not exist (here)."""


class Conflict(ServiceError):
    """The request clashes with something that exists already (a domain, an address, a contact)."""


async def company_by_slug(session: AsyncSession, slug: str) -> Company:
    company = await session.scalar(select(Company).where(Company.slug == slug.strip().lower()))
    if company is None:
        raise NotFound(f"no company with slug {slug!r} (see `smartbcc company list`)")
    return company


async def user_by_email(session: AsyncSession, email: str) -> User:
    user = await session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(f"no user with address {email!r} (see `smartbcc user list`)")
    return user


async def record_by_id(session: AsyncSession, kind: str, record_id: int, company_id: int | None = None) -> Any:
    """Any kind of CRM record (contacts and organizations to smart processes), of ``company_id`` if given."""
    if kind not in RECORD_MODELS:
        raise ServiceError(f"the kind of record is one of {', '.join(RECORD_MODELS)}, not {kind!r}")
    record = await session.get(RECORD_MODELS[kind], record_id)
    if record is None or (company_id is not None and record.company_id != company_id):
        raise NotFound(f"no {NOUNS[kind]} with id {record_id}"
                       + (" in this company" if record is not None else "")
                       + f" (see `smartbcc {kind} list --company SLUG`)")
    return record
