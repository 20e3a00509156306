"""Save to CRM: a record made from a message and the message linked to it, in one transaction.

What is proposed comes from gateway.crm.prefill (the customer is a forward's original sender, else the
first participant outside the company; the title is the subject without Re:/Fwd:). A deal gets the
customer's contact: the one the CRM has (when the user may view it), else a new one (when the user may
make contacts), linked to the message too. A lead keeps the customer's address and name, as filing's
leads do. No leads in simple CRM mode. The user needs edit rights on the kind (on records they own:
the new record is theirs) and must see the message; a message they may not see is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.kinds import NOUNS, Kind, LinkRule
from gateway.crm.prefill import Party, Proposal, customer, propose
from gateway.mail.address import InvalidAddress, normalize_domain, validate_mailbox
from gateway.services import webhooks
from gateway.services.errors import Conflict, ServiceError
from gateway.services.mailbox import visible
from gateway.services.visibility import Sight, Viewer, sight
from gateway.store.database import Database
from gateway.store.models import (
    AlternateAddress, Company, Deal, Lead, Link, Message, Organization, Person, User,
)

SAVE_KINDS = (Kind.DEAL, Kind.LEAD, Kind.PERSON, Kind.ORG)


@dataclass(frozen=True)
class Offer:
    """What the message page's "Save to CRM" form offers and proposes."""

    kinds: tuple[str, ...]      # the kinds this user may make here (no leads in simple mode)
    proposal: Proposal
    contact_id: int | None      # the customer's contact, when the CRM has one the user may view


@dataclass(frozen=True)
class Saved:
    kind: str
    id: int
    created: bool               # False: a contact that existed already was linked
    contact_id: int | None = None   # a deal's or lead's contact (made for it or found)


async def _own_addresses(session: AsyncSession, company_id: int) -> set[str]:
    users = set(await session.scalars(select(User.email).where(User.company_id == company_id)))
    alternates = set(await session.scalars(select(AlternateAddress.email).where(
        AlternateAddress.company_id == company_id, AlternateAddress.status == "verified")))
    return {a.lower() for a in users | alternates}


def _party(box: Any) -> Party | None:
    if isinstance(box, dict) and box.get("email"):
        return Party(str(box["email"]), str(box.get("name") or ""))
    return None


async def _proposal(db: Database, session: AsyncSession, message: Message) -> Proposal:
    forwarded = message.forwarded if isinstance(message.forwarded, dict) else {}
    boxes = [{"email": message.from_email, "name": message.from_name}, *(message.to_addrs or []),
             *(message.cc_addrs or [])]
    parties = [p for p in (_party(box) for box in boxes) if p is not None]
    found = customer(_party(forwarded.get("sender")), parties, await _own_addresses(session, message.company_id),
                     db.mail_domain)
    return propose(message.subject, found)


def _kinds(who: Sight, company: Company) -> tuple[str, ...]:
    return tuple(kind for kind in SAVE_KINDS if who.may_edit(kind, who.user_id)
                 and not (kind == Kind.LEAD and company.crm_mode != "classic"))


async def _contact(session: AsyncSession, who: Sight, email: str) -> Person | None:
    return await session.scalar(select(Person).where(Person.company_id == who.company_id, Person.email == email))


async def offer(db: Database, viewer: Viewer, message_pk: int) -> Offer:
    async with db.sessions() as session:
        who = await sight(session, viewer)
        await visible(session, who, [message_pk])
        message = await session.get_one(Message, message_pk)
        company = await session.get_one(Company, who.company_id)
        proposal = await _proposal(db, session, message)
        contact = await _contact(session, who, proposal.email) if proposal.email else None
        seen = contact is not None and who.may_view(Kind.PERSON, contact.owner_user_id)
        return Offer(_kinds(who, company), proposal, contact.id if seen and contact is not None else None)


def _text(value: str | None, default: str, limit: int) -> str:
    return " ".join((default if value is None else value).split())[:limit]


def _email(value: str) -> str:
    try:
        return validate_mailbox(value)
    except (InvalidAddress, ValueError):
        raise ServiceError(f"{value!r} is not a mail address") from None


async def _person(session: AsyncSession, who: Sight, email: str, name: str, message_pk: int,
                  create: bool) -> tuple[Person | None, bool]:
    """The contact for ``email``: the existing one (a Conflict if the user may not view it), else a new
    one when ``create`` and the user may make contacts; with the organization of its domain, if visible."""
    existing = await _contact(session, who, email)
    if existing is not None:
        if not who.may_view(Kind.PERSON, existing.owner_user_id):
            raise Conflict(f"the CRM has a contact for {email} that you may not see; ask its owner")
        return existing, False
    if not create or not who.may_edit(Kind.PERSON, who.user_id):
        return None, False
    org = await session.scalar(select(Organization).where(
        Organization.company_id == who.company_id, Organization.domain == email.rpartition("@")[2])
        .order_by(Organization.id))
    person = Person(company_id=who.company_id, email=email, name=name[:200], owner_user_id=who.user_id,
                    created_from_message_id=message_pk,
                    org_id=org.id if org is not None and who.may_view(Kind.ORG, org.owner_user_id) else None)
    session.add(person)
    await session.flush()
    await webhooks.contact_created(session, person, message_pk)
    return person, True


async def _link(session: AsyncSession, message_pk: int, kind: str, record_id: int) -> None:
    have = await session.scalar(select(Link.id).where(
        Link.message_pk == message_pk, Link.kind == kind, Link.record_id == record_id))
    if have is None:
        session.add(Link(message_pk=message_pk, kind=kind, record_id=record_id, rule=LinkRule.MANUAL))


async def save(db: Database, viewer: Viewer, message_pk: int, kind: str, *, title: str | None = None,
               name: str | None = None, email: str | None = None, organization: str | None = None,
               domain: str | None = None) -> Saved:
    """Make a ``kind`` record from the message (values not given are the proposal's) and link the
    message to it, all in one transaction."""
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        await visible(session, who, [message_pk])
        company = await session.get_one(Company, who.company_id)
        if kind not in SAVE_KINDS:
            raise ServiceError(f"save to a {', '.join(NOUNS[k] for k in SAVE_KINDS)}, not {kind!r}")
        if kind == Kind.LEAD and company.crm_mode != "classic":
            raise ServiceError("the company works in simple CRM mode, without leads: save it as a deal")
        if kind not in _kinds(who, company):
            raise ServiceError(f"you may not make {NOUNS[kind]}s (no edit right)")
        message = await session.get_one(Message, message_pk)
        proposal = await _proposal(db, session, message)
        address = _text(email, proposal.email, 320)
        address = _email(address) if address else ""
        who_name = _text(name, proposal.name, 200)
        record: Any
        contact: Person | None = None
        created = True
        if kind == Kind.PERSON:
            if not address:
                raise ServiceError("a contact needs a mail address")
            contact, created = await _person(session, who, address, who_name, message_pk, create=True)
            record = contact
        elif kind == Kind.ORG:
            org_name = _text(organization, proposal.organization, 200)
            if not org_name:
                raise ServiceError("the organization needs a name")
            org_domain = _text(domain, proposal.domain, 253)
            try:
                org_domain = normalize_domain(org_domain) if org_domain else ""
            except ValueError:
                raise ServiceError(f"{org_domain!r} is not a domain") from None
            record = Organization(company_id=who.company_id, name=org_name, domain=org_domain or None,
                                  owner_user_id=who.user_id, created_from_message_id=message_pk)
        else:
            record_title = _text(title, proposal.title, 300)
            if not record_title:
                raise ServiceError(f"the {NOUNS[kind]} needs a title")
            if address:
                contact, _ = await _person(session, who, address, who_name, message_pk, create=kind == Kind.DEAL)
            values: dict[str, Any] = dict(
                company_id=who.company_id, title=record_title, owner_user_id=who.user_id,
                created_from_message_id=message_pk, person_id=contact.id if contact else None,
                org_id=contact.org_id if contact else None)
            if kind == Kind.LEAD:
                record = Lead(**values, email=address or None, name=who_name)
            else:
                record = Deal(**values)
        if record is None:
            raise ServiceError("nothing to save")
        session.add(record)
        await session.flush()
        await _link(session, message_pk, kind, record.id)
        if contact is not None and kind != Kind.PERSON:
            await _link(session, message_pk, Kind.PERSON, contact.id)
        return Saved(kind, record.id, created, contact.id if contact is not None else None)
