"""CRM records (contacts, organizations, leads, deals, projects), each with a Bcc address of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.kinds import CLOSED_STATUSES, Kind, RECORD_NOUNS as NOUNS  # noqa: F401 (re-exported)
from gateway.mail.address import normalize_domain, validate_mailbox
from gateway.services import webhooks
from gateway.services.errors import Conflict, NotFound, ServiceError, company_by_slug, user_by_email
from gateway.store.database import Database
from gateway.store.models import RECORD_MODELS, Company, Link, Message, Organization, Person, User, utcnow

FIELDS: dict[str, tuple[str, ...]] = {
    Kind.PERSON: ("name", "email", "phone", "org_id", "owner_user_id"),
    Kind.ORG: ("name", "domain", "phone", "owner_user_id"),
    Kind.LEAD: ("title", "status", "name", "email", "phone", "company_name", "value", "currency", "person_id",
             "org_id", "closed_at", "converted_deal_id", "owner_user_id"),
    Kind.DEAL: ("title", "status", "pipeline", "value", "currency", "person_id", "org_id", "closed_at",
             "owner_user_id"),
    Kind.PROJECT: ("title", "status", "person_id", "org_id", "closed_at", "owner_user_id"),
}


@dataclass(frozen=True)
class LinkedMessage:
    id: int
    received_at: datetime
    subject: str
    rule: str


@dataclass(frozen=True)
class RecordView:
    kind: str
    id: int
    company: str                      # the company's slug
    address: str                      # the record's own Bcc address
    fields: dict[str, Any]            # the kind's own columns, named in FIELDS
    created_at: datetime
    messages: tuple[LinkedMessage, ...] = ()

    @property
    def label(self) -> str:
        return str(self.fields.get("title") or self.fields.get("name") or self.fields.get("email") or "")


def record_view(db: Database, company: Company, kind: str, record: Any,
                messages: tuple[LinkedMessage, ...] = ()) -> RecordView:
    address = db.record_address(company.slug, company.id, kind, record.id, record.token_version)
    fields = {name: getattr(record, name) for name in FIELDS[kind]}
    return RecordView(kind, record.id, company.slug, address, fields, record.created_at, messages)


async def linked_messages(session: AsyncSession, kind: str, record_id: int) -> tuple[LinkedMessage, ...]:
    """The messages filed on a record, oldest first, each with the rule that linked it."""
    rows = await session.execute(
        select(Message.id, Message.received_at, Message.subject, Link.rule)
        .join(Link, Link.message_pk == Message.id)
        .where(Link.kind == kind, Link.record_id == record_id).order_by(Message.received_at, Message.id))
    return tuple(LinkedMessage(row.id, row.received_at, row.subject, row.rule) for row in rows)


async def _get(session: AsyncSession, kind: str, record_id: int, company: Company | None = None) -> Any:
    record = await session.get(RECORD_MODELS[kind], record_id)
    if record is None:
        where = f" --company {company.slug}" if company else ""
        raise NotFound(f"no {NOUNS[kind]} with id {record_id} (see `smartbcc {kind} list{where}`)")
    if company is not None and record.company_id != company.id:
        raise ServiceError(f"{NOUNS[kind]} {record_id} belongs to another company, not {company.slug!r}")
    return record


async def _check_refs(session: AsyncSession, company: Company, person_id: int | None,
                      org_id: int | None) -> None:
    if person_id is not None:
        await _get(session, Kind.PERSON, person_id, company)
    if org_id is not None:
        await _get(session, Kind.ORG, org_id, company)


async def _owner(session: AsyncSession, company: Company, email: str | None) -> int | None:
    """The id of the user ``email`` names as a record's owner: an active user of the record's company."""
    if email is None:
        return None
    user: User = await user_by_email(session, email)
    if user.company_id != company.id:
        raise ServiceError(f"{user.email} is a user of another company, not {company.slug!r}")
    if not user.active:
        raise ServiceError(f"{user.email} is deactivated: an owner is an active user")
    return user.id


def _required(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise ServiceError(f"the {what} cannot be empty")
    return value


async def add_person(db: Database, company_slug: str, email: str, name: str = "",
                     org_id: int | None = None, owner: str | None = None) -> RecordView:
    """A contact; one per address in a company."""
    email = validate_mailbox(email)
    try:
        async with db.writing() as session, session.begin():
            company = await company_by_slug(session, company_slug)
            await _check_refs(session, company, None, org_id)
            existing = await session.scalar(select(Person).where(
                Person.company_id == company.id, Person.email == email))
            if existing is not None:
                raise Conflict(f"{company.slug!r} already has a contact for {email}: "
                               f"person {existing.id} (`smartbcc person show {existing.id}`)")
            person = Person(company_id=company.id, email=email, name=name.strip(), org_id=org_id,
                            owner_user_id=await _owner(session, company, owner))
            session.add(person)
            await session.flush()
            await webhooks.contact_created(session, person)
    except IntegrityError:
        raise Conflict(f"a contact for {email} was just added; see `smartbcc person list`") from None
    return record_view(db, company, Kind.PERSON, person)


async def add_org(db: Database, company_slug: str, name: str, domain: str | None = None,
                  owner: str | None = None) -> RecordView:
    name = _required(name, "organization name")
    domain = normalize_domain(domain) if domain else None
    async with db.writing() as session, session.begin():
        company = await company_by_slug(session, company_slug)
        org = Organization(company_id=company.id, name=name, domain=domain,
                           owner_user_id=await _owner(session, company, owner))
        session.add(org)
    return record_view(db, company, Kind.ORG, org)


async def add_record(db: Database, kind: str, company_slug: str, title: str, person_id: int | None = None,
                     org_id: int | None = None, owner: str | None = None, **extra: str) -> RecordView:
    """A lead, deal or project; ``extra`` takes a lead's ``email`` and ``name``. A company in simple
    mode has no leads: adding one is refused."""
    if kind not in CLOSED_STATUSES:
        raise ValueError(f"add_record makes leads, deals and projects, not {kind!r}")
    title = _required(title, "title")
    values: dict[str, Any] = {k: v.strip() for k, v in extra.items() if v}
    if values.get("email"):
        values["email"] = validate_mailbox(values["email"])
    async with db.writing() as session, session.begin():
        company = await company_by_slug(session, company_slug)
        if kind == Kind.LEAD and company.crm_mode == "simple":
            raise ServiceError(f"{company.slug} is in simple mode, which has no leads: add a contact and a deal, "
                               f"or switch with `smartbcc company set {company.slug} --crm-mode classic`")
        await _check_refs(session, company, person_id, org_id)
        record = RECORD_MODELS[kind](company_id=company.id, title=title, person_id=person_id,
                                     org_id=org_id, owner_user_id=await _owner(session, company, owner), **values)
        session.add(record)
    return record_view(db, company, kind, record)


async def list_records(db: Database, kind: str, company_slug: str) -> list[RecordView]:
    model = RECORD_MODELS[kind]
    async with db.sessions() as session:
        company = await company_by_slug(session, company_slug)
        records = await session.scalars(select(model).where(model.company_id == company.id).order_by(model.id))
        return [record_view(db, company, kind, record) for record in records]


async def show_record(db: Database, kind: str, record_id: int, company_slug: str | None = None) -> RecordView:
    """One record with its address and the messages linked to it (and the rule that linked each)."""
    async with db.sessions() as session:
        wanted = await company_by_slug(session, company_slug) if company_slug else None
        record = await _get(session, kind, record_id, wanted)
        company = await session.get_one(Company, record.company_id)
        return record_view(db, company, kind, record, await linked_messages(session, kind, record.id))


async def close_record(db: Database, kind: str, record_id: int, status: str) -> RecordView:
    """Close a lead, deal or project: an open one no longer takes mail by auto-linking."""
    if status not in CLOSED_STATUSES.get(kind, ()):
        raise ServiceError(f"a {kind} closes as one of {', '.join(CLOSED_STATUSES.get(kind, ()))}")
    async with db.writing() as session, session.begin():
        record = await _get(session, kind, record_id)
        record.status, record.closed_at = status, utcnow()
        company = await session.get_one(Company, record.company_id)
        return record_view(db, company, kind, record)


async def set_owner(db: Database, kind: str, record_id: int, owner: str) -> RecordView:
    """Give the record an owner (an active user of its company): "own" rights are about the records a
    user owns, and records an admin makes have none until given one."""
    async with db.writing() as session, session.begin():
        record = await _get(session, kind, record_id)
        company = await session.get_one(Company, record.company_id)
        record.owner_user_id = await _owner(session, company, owner)
        return record_view(db, company, kind, record)


async def rotate_address(db: Database, kind: str, record_id: int) -> RecordView:
    """A new Bcc address for the record; the old one is refused (550 5.1.1) from now on."""
    async with db.writing() as session, session.begin():
        record = await _get(session, kind, record_id)
        record.token_version += 1
        company = await session.get_one(Company, record.company_id)
        return record_view(db, company, kind, record)
