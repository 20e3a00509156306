"""A lead's, contact's or organization's addresses: its own field and any others an admin adds.

Mail sent from a record may go to these addresses (gateway.crm.recipients); each remembers when mail last
went to it, so the most recently used comes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.mail.address import validate_mailbox
from gateway.crm.kinds import Kind
from gateway.crm.recipients import NOUNS, OWN_ADDRESS_KINDS
from gateway.services.errors import Conflict, NotFound, ServiceError, record_by_id
from gateway.store.database import Database
from gateway.store.models import RecordEmail, utcnow


@dataclass(frozen=True)
class RecordAddress:
    email: str
    primary: bool                   # the record's own email field (a contact's or a lead's)
    last_used_at: datetime | None


@dataclass(frozen=True)
class RecordAddresses:
    kind: str
    record_id: int
    addresses: tuple[RecordAddress, ...]


def primary_address(kind: str, record: Any) -> str | None:
    return getattr(record, "email", None) if kind in (Kind.PERSON, Kind.LEAD) else None


async def extra_addresses(session: AsyncSession, company_id: int,
                          records: Iterable[tuple[str, int]]) -> dict[tuple[str, int], list[str]]:
    """The added addresses of these records, in the order they were added."""
    by_kind: dict[str, set[int]] = {}
    for kind, record_id in records:
        by_kind.setdefault(kind, set()).add(record_id)
    found: dict[tuple[str, int], list[str]] = {}
    for kind, ids in by_kind.items():
        rows = await session.execute(select(RecordEmail.record_id, RecordEmail.email).where(
            RecordEmail.company_id == company_id, RecordEmail.kind == kind, RecordEmail.record_id.in_(ids))
            .order_by(RecordEmail.id))
        for row in rows:
            found.setdefault((kind, row.record_id), []).append(row.email)
    return found


async def last_used(session: AsyncSession, company_id: int, emails: Iterable[str]) -> dict[str, datetime]:
    """When mail sent from the CRM last went to each of these addresses (never: absent)."""
    emails = sorted(set(emails))
    if not emails:
        return {}
    rows = await session.execute(select(RecordEmail.email, RecordEmail.last_used_at).where(
        RecordEmail.company_id == company_id, RecordEmail.email.in_(emails),
        RecordEmail.last_used_at.is_not(None)))
    out: dict[str, datetime] = {}
    for email, when in rows:
        if when is not None and (email not in out or when > out[email]):
            out[email] = when
    return out


async def mark_used(session: AsyncSession, company_id: int, kind: str, record_id: int, email: str,
                    when: datetime) -> None:
    row = await session.scalar(select(RecordEmail).where(
        RecordEmail.company_id == company_id, RecordEmail.kind == kind, RecordEmail.record_id == record_id,
        RecordEmail.email == email))
    if row is None:
        session.add(RecordEmail(company_id=company_id, kind=kind, record_id=record_id, email=email,
                                last_used_at=when))
    else:
        row.last_used_at = when


def _kind(kind: str) -> str:
    if kind not in OWN_ADDRESS_KINDS:
        raise ServiceError(f"only leads, contacts and organizations have addresses of their own (a "
                           f"{NOUNS.get(kind, kind)} sends to its linked contact and company); kind is one of "
                           + ", ".join(OWN_ADDRESS_KINDS))
    return kind


async def list_addresses(db: Database, kind: str, record_id: int) -> RecordAddresses:
    _kind(kind)
    async with db.sessions() as session:
        record = await record_by_id(session, kind, record_id)
        primary = primary_address(kind, record)
        extras = (await extra_addresses(session, record.company_id, [(kind, record_id)])).get((kind, record_id), [])
        emails = list(dict.fromkeys([*([primary] if primary else []), *extras]))
        used = await last_used(session, record.company_id, emails)
        return RecordAddresses(kind, record_id, tuple(
            RecordAddress(email, email == primary, used.get(email)) for email in emails))


async def add_address(db: Database, kind: str, record_id: int, email: str) -> RecordAddresses:
    _kind(kind)
    email = validate_mailbox(email)
    try:
        async with db.writing() as session, session.begin():
            record = await record_by_id(session, kind, record_id)
            existing = await session.scalar(select(RecordEmail.id).where(
                RecordEmail.company_id == record.company_id, RecordEmail.kind == kind,
                RecordEmail.record_id == record_id, RecordEmail.email == email))
            if existing is not None or email == primary_address(kind, record):
                raise Conflict(f"{email} is already an address of {NOUNS[kind]} {record_id}")
            session.add(RecordEmail(company_id=record.company_id, kind=kind, record_id=record_id, email=email,
                                    created_at=utcnow()))
    except IntegrityError:
        raise Conflict(f"{email} was just added to {NOUNS[kind]} {record_id}") from None
    return await list_addresses(db, kind, record_id)


async def remove_address(db: Database, kind: str, record_id: int, email: str) -> RecordAddresses:
    _kind(kind)
    email = validate_mailbox(email)
    async with db.writing() as session, session.begin():
        record = await record_by_id(session, kind, record_id)
        if email == primary_address(kind, record):
            raise ServiceError(f"{email} is the {NOUNS[kind]}'s own address field; it stays")
        row = await session.scalar(select(RecordEmail).where(
            RecordEmail.company_id == record.company_id, RecordEmail.kind == kind,
            RecordEmail.record_id == record_id, RecordEmail.email == email))
        if row is None:
            raise NotFound(f"{email} is not an address of {NOUNS[kind]} {record_id}")
        await session.delete(row)
    return await list_addresses(db, kind, record_id)
