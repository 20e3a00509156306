"""Sending mail from a CRM record: who may receive it, and the send itself.

The rules are the pure decision of :mod:`gateway.crm.recipients`; this module gathers what it needs (the
record, its contact and company, their addresses, the sender's rights), then sends through the
smarthost and stores the message with :func:`gateway.store.filing.store_message`, so that it is linked
like a Bcc'd message (the record by its address, the recipient's contact and company as participants).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.headerregistry import Address
from email.utils import format_datetime, make_msgid
from typing import Any

from aiosmtplib.email import flatten_message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.mail.address import validate_mailbox
from gateway.config import Settings
from gateway.mail.parsing import parse_message
from gateway.services.smarthost import send
from gateway.crm.kinds import Kind, Status
from gateway.crm.recipients import (
    NOUNS, SENDING_KINDS, AddressCheck, Party, RecipientList, SendingContext, check_address, permitted,
    recipients,
)
from gateway.routing.links import RecordRef
from gateway.auth.senders import Authorization
from gateway.services.errors import ServiceError, record_by_id, user_by_email
from gateway.services.permissions import rights_of
from gateway.services.record_emails import extra_addresses, last_used, mark_used, primary_address
from gateway.store.database import Database
from gateway.store.filing import Delivery, store_message
from gateway.store.models import Company, Lead, Link, Organization, Person, RecordEmail, User, utcnow


@dataclass(frozen=True)
class SentMessage:
    message_pk: int                 # the stored message (`smartbcc messages show ID`)
    message_id: str
    kind: str
    record_id: int
    to: str
    smarthost_reply: str
    created: tuple[str, int] | None     # ("lead", id) or ("person", id): the address was new to the CRM
    links: tuple[tuple[str, int, str], ...]     # (kind, record id, rule)


def _kind(kind: str) -> str:
    if kind not in SENDING_KINDS:
        raise ServiceError(f"mail is sent from a {', '.join(SENDING_KINDS)}; not from {kind!r}")
    return kind


async def _sender(session: AsyncSession, email: str) -> User:
    user = await user_by_email(session, email)
    if not user.active:
        raise ServiceError(f"{user.email} is deactivated and cannot send mail")
    return user


@dataclass(frozen=True)
class _Rows:
    """The record mail is sent from and the rows whose addresses may receive it."""

    own: Any = None                     # a lead, contact or organization itself
    contact: Person | None = None       # the linked contact
    company: Organization | None = None     # the linked organization (a contact's own)
    members: tuple[Person, ...] = ()    # an organization's contacts


async def _rows(session: AsyncSession, kind: str, record: Any) -> _Rows:
    if kind == Kind.ORG:
        members = await session.scalars(select(Person).where(
            Person.company_id == record.company_id, Person.org_id == record.id).order_by(Person.id))
        return _Rows(own=record, members=tuple(members))
    company = await session.get(Organization, record.org_id) if record.org_id else None
    if kind == Kind.PERSON:
        return _Rows(own=record, company=company)
    contact = await session.get(Person, record.person_id) if record.person_id else None
    return _Rows(own=record if kind == Kind.LEAD else None, contact=contact, company=company)


async def sending_context(session: AsyncSession, user: User, kind: str, record_id: int) -> SendingContext:
    """What :func:`gateway.crm.recipients.recipients` needs to know about the record and the sender."""
    record = await record_by_id(session, _kind(kind), record_id, user.company_id)
    company = await session.get_one(Company, user.company_id)
    rights = await rights_of(session, user.id)
    rows = await _rows(session, kind, record)
    kinds = [(kind, rows.own), (Kind.PERSON, rows.contact), (Kind.ORG, rows.company), *((Kind.PERSON, m) for m in rows.members)]
    extras = await extra_addresses(session, user.company_id, [(k, row.id) for k, row in kinds if row is not None])

    def party(party_kind: str, row: Any) -> Party | None:
        if row is None:
            return None
        primary = primary_address(party_kind, row)
        addresses = tuple(dict.fromkeys([*([primary] if primary else []), *extras.get((party_kind, row.id), [])]))
        visible = permitted(rights[party_kind].view, row.owner_user_id, user.id)
        return Party(party_kind, row.id, row.name, addresses, visible, row.org_id if party_kind == Kind.PERSON else None)

    own, contact, org = party(kind, rows.own), party(Kind.PERSON, rows.contact), party(Kind.ORG, rows.company)
    members = tuple(p for p in (party(Kind.PERSON, m) for m in rows.members) if p is not None)
    used = await last_used(session, user.company_id,
                           [e for p in (own, contact, org, *members) if p is not None for e in p.addresses])
    return SendingContext(kind, record.id, permitted(rights[kind].edit, record.owner_user_id, user.id),
                          own, contact, org, members, tuple(used.items()), company.allow_any_address)


async def list_recipients(db: Database, kind: str, record_id: int, user_email: str) -> RecipientList:
    """Who ``user_email`` may mail from this record, most recently used first; a clear error when nobody."""
    async with db.sessions() as session:
        user = await _sender(session, user_email)
        listing = recipients(await sending_context(session, user, kind, record_id))
    if listing.problem:
        raise ServiceError(listing.problem)
    return listing


async def _holder(session: AsyncSession, company_id: int, email: str) -> tuple[str, int] | None:
    """The contact, lead or record that has this address in the CRM, if any."""
    person = await session.scalar(select(Person.id).where(Person.company_id == company_id, Person.email == email))
    if person is not None:
        return Kind.PERSON, person
    lead = await session.scalar(select(Lead.id).where(Lead.company_id == company_id, Lead.email == email)
                                .order_by(Lead.status != Status.OPEN, Lead.id.desc()))
    if lead is not None:
        return Kind.LEAD, lead
    row = (await session.execute(select(RecordEmail.kind, RecordEmail.record_id).where(
        RecordEmail.company_id == company_id, RecordEmail.email == email).order_by(RecordEmail.id))).first()
    return (row.kind, row.record_id) if row is not None else None


def compose(user: User, to: str, to_name: str, subject: str, body: str, mail_domain: str) -> EmailMessage:
    """From the user's login address (with their name) to one recipient; a text body."""
    message = EmailMessage()
    message["From"] = Address(user.name, addr_spec=user.email)
    message["To"] = Address(to_name, addr_spec=to)
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=mail_domain)
    # a 7-bit body (quoted-printable if need be): the bytes stored are the bytes the smarthost gets,
    # whether or not it offers 8BITMIME
    plain = body.isascii() and all(len(line) <= 998 for line in body.splitlines())
    message.set_content(body, cte="7bit" if plain else "quoted-printable")
    return message


def wire_bytes(message: EmailMessage, envelope_sender: str, to: str) -> bytes:
    """The message as aiosmtplib puts it on the wire (SMTPUTF8 only for a non-ASCII address)."""
    return flatten_message(message, utf8=not (envelope_sender.isascii() and to.isascii()), cte_type="7bit")


async def _check(db: Database, user_email: str, kind: str, record_id: int,
                 to: str | None) -> tuple[User, Company, str, AddressCheck, tuple[str, int] | None]:
    async with db.sessions() as session:
        user = await _sender(session, user_email)
        company = await session.get_one(Company, user.company_id)
        context = await sending_context(session, user, kind, record_id)
        if to is None:
            listing = recipients(context)
            if listing.problem or not listing.recipients:
                raise ServiceError(listing.problem or "say who gets the message: --to ADDRESS")
            to = listing.recipients[0].email
        holder = await _holder(session, company.id, to)
        verdict = check_address(context, to, known_to_crm=holder is not None,
                                any_address_creates=("contact" if company.crm_mode == "simple"   # no leads
                                                     else company.any_address_creates))
    if not verdict.allowed:
        raise ServiceError(verdict.reason)
    return user, company, to, verdict, holder


async def send_from_record(db: Database, kind: str, record_id: int, user_email: str, to: str | None,
                           subject: str, body: str, settings: Settings | None = None) -> SentMessage:
    """Send from a record through the smarthost, then store and link it like a Bcc'd message.

    Nothing is stored or created when the smarthost does not take the message.
    """
    settings = settings or db.settings
    to = validate_mailbox(to) if to is not None else None
    user, company, to, verdict, holder = await _check(db, user_email, kind, record_id, to)
    message = compose(user, to, verdict.recipient.name if verdict.recipient else "", subject, body, db.mail_domain)
    raw = wire_bytes(message, settings.sender_address, to)
    reply = await send(settings, message)
    created: tuple[str, int] | None = None
    async with db.sessions() as session, session.begin():
        if verdict.creates:     # an address new to the CRM, sent to under "allow sending to any address"
            made = dict(company_id=company.id, email=to, owner_user_id=user.id)
            row: Any = Person(**made) if verdict.creates == "contact" else Lead(title=to, **made)
            session.add(row)
            await session.flush()
            created = holder = (Kind.PERSON if verdict.creates == "contact" else Kind.LEAD, row.id)
        used_by = (verdict.recipient.kind, verdict.recipient.record_id) if verdict.recipient else holder
        if used_by is not None:
            await mark_used(session, company.id, *used_by, to, utcnow())
    stored = await store_message(db, Delivery(
        company_id=company.id, raw=raw, parsed=parse_message(raw, mail_domain=db.mail_domain),
        authorization=Authorization(True, user.id, user.email, "header-from",
                                    f"sent by {user.email} from {NOUNS[kind]} {record_id} (smartbcc send)"),
        envelope_from=settings.sender_address, envelope_rcpts=(to,), addressed=(RecordRef(kind, record_id),)))
    async with db.sessions() as session:
        links = tuple((row.kind, row.record_id, row.rule) for row in await session.execute(
            select(Link.kind, Link.record_id, Link.rule).where(Link.message_pk == stored.message_pk)
            .order_by(Link.id)))
    return SentMessage(stored.message_pk, str(message["Message-ID"]), kind, record_id, to, reply, created, links)
