"""What the company knows of a message's participants, read in one query per message for the planner
of gateway.routing.links; what it knows of itself and of the message's owner, read once per transaction.

The statements filing runs for every message are built once: building and caching a statement costs
about as much as running it on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import (
    BindParameter, CompoundSelect, Select, String, bindparam, func, literal, null, select, union_all,
)
from sqlalchemy.orm import Session

from gateway.crm.domains import own_domains_of
from gateway.mail.address import split_email
from gateway.routing.links import (
    DEALISH_KINDS, FilingContext, KnownLead, KnownPerson, OpenRecord, RecordRef, participants,
)
from gateway.store.database import Database
from gateway.store.filing.delivery import Delivery, Owner, stored_message_id
from gateway.store.lookup_cache import kept_in_transaction
from gateway.store.prebuilt import Prebuilt
from gateway.store.models import (
    RECORD_MODELS, AlternateAddress, Company, Deal, Exclusion, Lead, Link, Message, Organization, Person, Project,
    RecordEmail, User,
)


@dataclass(frozen=True)
class CompanyFacts:
    """What filing needs of the company itself: read once per transaction, however many messages."""

    own_addresses: frozenset[str]
    excluded_addresses: frozenset[str]
    excluded_domains: frozenset[str]
    max_new_contacts: int
    crm_mode: str
    classic_creates: str
    deal_for_new_inquiry: bool
    own_domains: frozenset[str] = frozenset()
    create_orgs: bool = False


_COMPANY_ID: BindParameter[int] = bindparam("company_id")
_COMPANY_STRINGS = union_all(   # the company's own addresses and its never-log patterns, in one trip
    select(literal("own").label("what"), User.email.label("value")).where(User.company_id == _COMPANY_ID),
    select(literal("own"), AlternateAddress.email).where(AlternateAddress.company_id == _COMPANY_ID),
    select(literal("excluded"), Exclusion.pattern).where(Exclusion.company_id == _COMPANY_ID),
)
_EMAILS: BindParameter[list[str]] = bindparam("emails", expanding=True)
# who the participants are: contacts, open leads, their other addresses, organizations
_KNOWN: CompoundSelect[str, int, str | None, int | None, int] = union_all(
    select(literal("person").label("what"), Person.id.label("id"), Person.email.label("value"),
           Person.org_id.label("org_id"), Person.id.label("ordinal"))
    .where(Person.company_id == _COMPANY_ID, Person.email.in_(_EMAILS)),
    select(literal("lead"), Lead.id, Lead.email, null(), Lead.id)
    .where(Lead.company_id == _COMPANY_ID, Lead.email.in_(_EMAILS), Lead.status == "open"),
    # a converted lead's address files on the deal it became
    select(literal("converted"), Lead.converted_deal_id, Lead.email, null(), Lead.id)
    .where(Lead.company_id == _COMPANY_ID, Lead.email.in_(_EMAILS), Lead.status == "converted",
           Lead.converted_deal_id.is_not(None)),
    select(literal("other ", String) + RecordEmail.kind, RecordEmail.record_id, RecordEmail.email,
           Person.org_id, RecordEmail.id)
    .outerjoin(Person, (RecordEmail.kind == "person") & (Person.id == RecordEmail.record_id))
    .where(RecordEmail.company_id == _COMPANY_ID, RecordEmail.email.in_(_EMAILS),
           RecordEmail.kind.in_(("person", "org"))),
    # a lead's other addresses: an open lead's are its own, a converted lead's file on its deal
    select(literal("other lead"), Lead.id, RecordEmail.email, null(), RecordEmail.id)
    .join(Lead, (RecordEmail.kind == "lead") & (Lead.id == RecordEmail.record_id))
    .where(RecordEmail.company_id == _COMPANY_ID, RecordEmail.email.in_(_EMAILS), Lead.status == "open"),
    select(literal("converted"), Lead.converted_deal_id, RecordEmail.email, null(), RecordEmail.id)
    .join(Lead, (RecordEmail.kind == "lead") & (Lead.id == RecordEmail.record_id))
    .where(RecordEmail.company_id == _COMPANY_ID, RecordEmail.email.in_(_EMAILS), Lead.status == "converted",
           Lead.converted_deal_id.is_not(None)),
    select(literal("organization"), Organization.id, Organization.domain, null(), Organization.id)
    .where(Organization.company_id == _COMPANY_ID, Organization.domain.in_(bindparam("domains", expanding=True))),
    # the same message stored before (a retry): then only links are added
    select(literal("seen"), Message.id, Message.message_id, null(), Message.id)
    .where(Message.company_id == _COMPANY_ID, Message.message_id == bindparam("message_id"),
           Message.content_hash == bindparam("content_hash")),
    # the records of the messages this one replies to
    select(literal("thread"), Link.record_id, Link.kind, null(), Link.id)
    .join(Message, Link.message_pk == Message.id)
    .where(Message.company_id == _COMPANY_ID, Message.message_id.in_(bindparam("ids", expanding=True))),
    # and of the forwards whose original it replies to (the customer answers their own message)
    select(literal("thread"), Link.record_id, Link.kind, null(), Link.id)
    .join(Message, Link.message_pk == Message.id)
    .where(Message.company_id == _COMPANY_ID, Message.original_message_id.in_(bindparam("ids", expanding=True))),
)
_KNOWN_READ = Prebuilt(_KNOWN)
_COMPANY = select(Company.max_new_contacts, Company.crm_mode, Company.classic_creates,
                  Company.deal_for_new_inquiry, Company.domain, Company.own_domains,
                  Company.create_orgs).where(Company.id == _COMPANY_ID)
_OWNERS = select(User.id, User.default_visibility, User.auto_link).where(User.id.in_(bindparam("ids", expanding=True)))


def load_owners(session: Session, user_ids: Iterable[int | None]) -> None:
    """Read these users (those not read yet in this transaction) in one query, for :func:`owner_of`."""
    cache = kept_in_transaction(session, "owners")
    wanted = sorted({i for i in user_ids if i is not None and i not in cache})
    if wanted:
        for row in session.connection().execute(_OWNERS, {"ids": wanted}):
            cache[row.id] = Owner(row.id, row.default_visibility, bool(row.auto_link))


def owner_of(session: Session, user_id: int | None) -> Owner:
    load_owners(session, [user_id])
    owner = kept_in_transaction(session, "owners").get(user_id)
    if owner is None:
        raise LookupError(f"user {user_id} vanished during delivery")
    return owner


def company_facts(session: Session, company_id: int) -> CompanyFacts:
    cache = kept_in_transaction(session, "company_facts")
    facts = cache.get(company_id)
    if facts is None:
        company = session.connection().execute(_COMPANY, {"company_id": company_id}).one_or_none()
        if company is None:
            raise LookupError(f"company {company_id} vanished during delivery")
        strings: dict[str, set[str]] = {"own": set(), "excluded": set()}
        for what, value in session.connection().execute(_COMPANY_STRINGS, {"company_id": company_id}):
            strings[what].add(value)
        patterns = strings["excluded"]
        facts = cache[company_id] = CompanyFacts(
            frozenset(strings["own"]),
            frozenset(p for p in patterns if "@" in p), frozenset(p for p in patterns if "@" not in p),
            company.max_new_contacts, company.crm_mode, company.classic_creates, company.deal_for_new_inquiry,
            own_domains_of(company.domain, company.own_domains), bool(company.create_orgs))
    return facts


@dataclass(frozen=True)
class Known:
    """What the store knows before filing a message: its context for the planner, and whether the
    same message was stored before (its row's id)."""

    context: FilingContext
    seen: int | None


def load_context(session: Session, db: Database, delivery: Delivery, owner: Owner) -> Known:
    parsed = delivery.parsed
    company_id = delivery.company_id
    facts = company_facts(session, company_id)
    base = FilingContext(
        company_id=company_id, mail_domain=db.mail_domain,
        own_addresses=facts.own_addresses,
        addressed=delivery.addressed, auto_link=owner.auto_link,
        excluded_addresses=facts.excluded_addresses, excluded_domains=facts.excluded_domains,
        max_new_contacts=facts.max_new_contacts if delivery.create_records else 0, crm_mode=facts.crm_mode,
        classic_creates=facts.classic_creates,
        deal_for_new_inquiry=facts.deal_for_new_inquiry and delivery.create_records,
        sent_folder=delivery.sent_folder,
        own_domains=facts.own_domains, create_orgs=facts.create_orgs and delivery.create_records,
    )
    emails = [box.email for box in participants(parsed, base)]
    domains = sorted({split_email(email)[1] for email in emails})
    found: dict[str, list[Any]] = {"person": [], "lead": [], "other person": [], "other lead": [],
                                   "other org": [], "converted": [], "organization": [], "seen": [],
                                   "thread": []}
    connection = session.connection()
    rows = _KNOWN_READ.rows(connection, {
        "company_id": company_id, "emails": emails, "domains": domains,
        "message_id": stored_message_id(parsed, db.mail_domain), "content_hash": parsed.content_hash,
        "ids": [*parsed.in_reply_to, *parsed.references]})
    for row in rows:
        found[row.what].append(row)
    for rows_of_kind in found.values():    # by id, as the planner's choices must not change the outcome
        rows_of_kind.sort(key=lambda row: row.ordinal)
    known_persons = [KnownPerson(row.id, row.value, row.org_id) for row in found["person"]]
    known_leads = [KnownLead(row.id, row.value) for row in found["lead"]]
    matched = {person.email for person in known_persons} | {lead.email for lead in known_leads}
    # a contact's or lead's other addresses (record_emails) are theirs too, unless the address is
    # itself a contact's or a lead's own
    for row in found["other person"]:
        if row.value not in matched and all(k.email != row.value for k in known_persons):
            known_persons.append(KnownPerson(row.id, row.value, row.org_id))
    for row in found["other lead"]:
        if row.value not in matched and all(k.email != row.value for k in known_leads):
            known_leads.append(KnownLead(row.id, row.value))
    thread_records = [RecordRef(row.value, row.id) for row in found["thread"]]
    open_records = _open_records(session, company_id, sorted({p.id for p in known_persons}),
                                 set(thread_records))
    context = FilingContext(
        **{**base.__dict__,
           "persons": tuple(known_persons), "leads": tuple(known_leads),
           "open_records": tuple(open_records), "thread_records": tuple(dict.fromkeys(thread_records)),
           "org_by_domain": tuple((row.value, row.id) for row in found["organization"] if row.value),
           "org_addresses": tuple((row.value, row.id) for row in found["other org"]),
           "converted": tuple((row.value, row.id) for row in found["converted"])},
    )
    seen = found["seen"][0].id if found["seen"] else None
    if seen is None and delivery.by_message_id and not parsed.message_id_generated:
        seen = connection.execute(_SAME_MESSAGE_ID, {
            "company_id": company_id, "message_id": stored_message_id(parsed, db.mail_domain)}).scalar()
    return Known(context, seen)


_SAME_MESSAGE_ID = (select(Message.id).where(Message.company_id == _COMPANY_ID,
                                             Message.message_id == bindparam("message_id"))
                    .order_by(Message.id).limit(1))


def _open_of_kind(kind: str) -> Select[str, int, int | None, datetime, Any]:
    model = RECORD_MODELS[kind]
    assert issubclass(model, (Deal, Lead, Project)), kind
    latest = (select(func.max(Link.created_at)).where(Link.kind == kind, Link.record_id == model.id)
              .correlate(model).scalar_subquery())
    return (select(literal(kind).label("kind"), model.id, model.person_id, model.created_at, latest.label("latest"))
            .where(model.person_id.in_(bindparam("person_ids", expanding=True)), model.status == "open"))


_OPEN_RECORDS = union_all(*(_open_of_kind(kind) for kind in DEALISH_KINDS))
_OPEN_RECORDS_READ = Prebuilt(_OPEN_RECORDS)


def _open_records(session: Session, company_id: int, person_ids: list[int],
                  in_thread: set[RecordRef]) -> list[OpenRecord]:
    """Open deals, leads and projects of these contacts (all of ``company_id``), with their latest activity.

    One query for the three kinds. It selects by contact only: the contacts are the company's, and a
    condition on company_id would lead the planner to the company's index instead of the contact's.
    """
    if not person_ids:
        return []
    found: list[OpenRecord] = []
    connection = session.connection()
    for row in _OPEN_RECORDS_READ.rows(connection, {"person_ids": person_ids}):
        activity = row.latest or row.created_at
        if isinstance(activity, str):     # SQLite hands back max() of a datetime column as text
            activity = datetime.fromisoformat(activity)
        found.append(OpenRecord(row.kind, row.id, row.person_id, RecordRef(row.kind, row.id) in in_thread,
                                activity))
    return sorted(found, key=lambda record: (DEALISH_KINDS.index(record.kind), record.id))
