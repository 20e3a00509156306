"""One unit of work per accepted message: gather what the company knows, decide, write, commit.

:func:`store_message` runs the pure decisions of ``gateway.routing.links`` inside one transaction and
writes the raw bytes (or names the pieces they were written ahead in, gateway.store.raw), parsed
fields, attachments, new contacts and links together. When it returns, all of it is committed; only
then may the SMTP handler answer 250. :func:`store_batch` does the same for the messages that arrived
together, in one transaction.

The work inside a transaction is plain synchronous SQLAlchemy, mostly prebuilt Core statements (one
read for what the company knows of a message's participants, plain INSERTs); gateway.store.writer
runs each transaction as a whole, on SQLite in a thread of its own.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Select, String, bindparam, func, insert, literal, null, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.mail.address import split_email
from gateway.auth.verdicts import Judgement
from gateway.mail.message import Mailbox, ParsedMessage
from gateway.mail.parsing import safe_instant
from gateway.routing.links import (
    DEALISH_KINDS, FilingContext, FilingPlan, KnownLead, KnownPerson, OpenRecord, RecordRef, participants,
    plan_filing,
)
from gateway.auth.senders import Authorization
from gateway.store import raw
from gateway.store.database import Database
from gateway.store.faults import is_transient
from gateway.store.models import (
    RECORD_MODELS, AlternateAddress, Attachment, Company, Deal, Exclusion, Lead, Link, Message,
    Organization, Person, RecordEmail, ReviewItem, User, utcnow,
)

ATTEMPTS = 3   # a unique-key race with a concurrent delivery is retried from a fresh read


@dataclass(frozen=True)
class Delivery:
    """What the SMTP transaction established before the message is stored."""

    company_id: int
    raw: bytes
    parsed: ParsedMessage
    authorization: Authorization
    envelope_from: str
    envelope_rcpts: tuple[str, ...]
    addressed: tuple[RecordRef, ...]
    client_address: str = ""
    antispoof: Judgement | None = None     # the anti-spoofing verdict (gateway.auth); None: not judged
    upload: int | None = None              # ``raw`` already written as this upload's pieces (gateway.store.raw)


@dataclass(frozen=True)
class Stored:
    message_pk: int
    created: bool           # False: the same message was stored before; only links were added
    links_added: int
    contacts_created: int


def clean_text(value: str | None, limit: int | None = None) -> str:
    """Text every backend accepts: no NUL, no lone surrogates, at most ``limit`` characters."""
    if not value:
        return ""
    value = value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return value[:limit] if limit else value


def _boxes(boxes: Iterable[Mailbox]) -> list[dict[str, str]]:
    return [{"email": clean_text(b.email, 320), "name": clean_text(b.name, 200)} for b in boxes]


def stored_message_id(parsed: ParsedMessage, mail_domain: str) -> str:
    message_id = clean_text(parsed.message_id)
    if len(message_id) > 900:
        message_id = f"<{hashlib.sha256(message_id.encode()).hexdigest()}@{mail_domain}>"
    return message_id


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


# The statements filing runs for every message are built once: building and caching a statement
# costs about as much as running it on SQLite.
_COMPANY_ID = bindparam("company_id")
_COMPANY_STRINGS = union_all(   # the company's own addresses and its never-log patterns, in one trip
    select(literal("own").label("what"), User.email.label("value")).where(User.company_id == _COMPANY_ID),
    select(literal("own"), AlternateAddress.email).where(AlternateAddress.company_id == _COMPANY_ID),
    select(literal("excluded"), Exclusion.pattern).where(Exclusion.company_id == _COMPANY_ID),
)
_EMAILS = bindparam("emails", expanding=True)
_KNOWN = union_all(   # who the participants are: contacts, open leads, their other addresses, organizations
    select(literal("person").label("what"), Person.id.label("id"), Person.email.label("value"),
           Person.org_id.label("org_id"), Person.id.label("ordinal"))
    .where(Person.company_id == _COMPANY_ID, Person.email.in_(_EMAILS)),
    select(literal("lead"), Lead.id, Lead.email, null(), Lead.id)
    .where(Lead.company_id == _COMPANY_ID, Lead.email.in_(_EMAILS), Lead.status == "open"),
    select(literal("other ", String) + RecordEmail.kind, RecordEmail.record_id, RecordEmail.email,
           Person.org_id, RecordEmail.id)
    .outerjoin(Person, (RecordEmail.kind == "person") & (Person.id == RecordEmail.record_id))
    .where(RecordEmail.company_id == _COMPANY_ID, RecordEmail.email.in_(_EMAILS),
           RecordEmail.kind.in_(("person", "lead"))),
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
)
# writes: plain INSERTs of the tables (no unit of work to track), ids back where they are needed
_INSERT_MESSAGE = insert(Message).returning(Message.id)
_INSERT_ATTACHMENTS = insert(Attachment)
_INSERT_LINKS = insert(Link)
_INSERT_REVIEWS = insert(ReviewItem)
# contacts and leads come back with their addresses (one multi-row INSERT, in whatever order); deals
# come back in the rows' order, which on SQLite costs an INSERT per row (they are made one at a time)
_INSERT_BY_EMAIL = {model: insert(model).returning(model.email, model.id) for model in (Person, Lead)}
_INSERT_DEALS = insert(Deal).returning(Deal.id, sort_by_parameter_order=True)


_COMPANY = select(Company.max_new_contacts, Company.crm_mode, Company.classic_creates,
                  Company.deal_for_new_inquiry).where(Company.id == _COMPANY_ID)
_OWNERS = select(User.id, User.default_visibility, User.auto_link).where(User.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class Owner:
    """The user a message is filed for: what filing needs of them."""

    id: int
    default_visibility: str
    auto_link: bool


def load_owners(session: Session, user_ids: Iterable[int | None]) -> None:
    """Read these users (those not read yet in this transaction) in one query, for :func:`owner_of`."""
    cache = session.info.setdefault("smartbcc_owners", {})
    wanted = sorted({i for i in user_ids if i is not None and i not in cache})
    if wanted:
        for row in session.connection().execute(_OWNERS, {"ids": wanted}):
            cache[row.id] = Owner(row.id, row.default_visibility, bool(row.auto_link))


def owner_of(session: Session, user_id: int | None) -> Owner:
    load_owners(session, [user_id])
    owner = session.info["smartbcc_owners"].get(user_id)
    if owner is None:
        raise LookupError(f"user {user_id} vanished during delivery")
    return owner


def company_facts(session: Session, company_id: int) -> CompanyFacts:
    cache = session.info.setdefault("smartbcc_company_facts", {})
    facts = cache.get(company_id)
    if facts is None:
        company = session.connection().execute(_COMPANY, {"company_id": company_id}).one_or_none()
        if company is None:
            raise LookupError(f"company {company_id} vanished during delivery")
        strings: dict[str, set[str]] = {"own": set(), "excluded": set()}
        for what, value in session.execute(_COMPANY_STRINGS, {"company_id": company_id}):
            strings[what].add(value)
        patterns = strings["excluded"]
        facts = cache[company_id] = CompanyFacts(
            frozenset(strings["own"]),
            frozenset(p for p in patterns if "@" in p), frozenset(p for p in patterns if "@" not in p),
            company.max_new_contacts, company.crm_mode, company.classic_creates, company.deal_for_new_inquiry)
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
        max_new_contacts=facts.max_new_contacts, crm_mode=facts.crm_mode,
        classic_creates=facts.classic_creates, deal_for_new_inquiry=facts.deal_for_new_inquiry,
    )
    emails = [box.email for box in participants(parsed, base)]
    domains = sorted({split_email(email)[1] for email in emails})
    found: dict[str, list[Any]] = {"person": [], "lead": [], "other person": [], "other lead": [],
                                   "organization": [], "seen": [], "thread": []}
    connection = session.connection()
    rows = connection.execute(_KNOWN, {
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
           "org_by_domain": tuple((row.value, row.id) for row in found["organization"] if row.value)},
    )
    return Known(context, found["seen"][0].id if found["seen"] else None)


def _open_of_kind(kind: str) -> Select[Any]:
    model = RECORD_MODELS[kind]
    latest = (select(func.max(Link.created_at)).where(Link.kind == kind, Link.record_id == model.id)
              .correlate(model).scalar_subquery())
    return (select(literal(kind).label("kind"), model.id, model.person_id, model.created_at, latest.label("latest"))
            .where(model.person_id.in_(bindparam("person_ids", expanding=True)), model.status == "open"))


_OPEN_RECORDS = union_all(*(_open_of_kind(kind) for kind in DEALISH_KINDS))


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
    for row in connection.execute(_OPEN_RECORDS, {"person_ids": person_ids}):
        activity = row.latest or row.created_at
        if isinstance(activity, str):     # SQLite hands back max() of a datetime column as text
            activity = datetime.fromisoformat(activity)
        found.append(OpenRecord(row.kind, row.id, row.person_id, RecordRef(row.kind, row.id) in in_thread,
                                activity))
    return sorted(found, key=lambda record: (DEALISH_KINDS.index(record.kind), record.id))


def _message_row(db: Database, delivery: Delivery, owner: Owner, direction: str) -> dict[str, Any]:
    parsed = delivery.parsed
    author = parsed.author
    forwarded = None
    if parsed.forwarded is not None:
        original = parsed.forwarded
        forwarded = {
            "sender": _boxes([original.sender])[0] if original.sender else None,
            "to": _boxes(original.to), "cc": _boxes(original.cc),
            "date": original.date.isoformat() if original.date else None,
            "subject": clean_text(original.subject), "source": original.source,
        }
    return dict(
        company_id=delivery.company_id, owner_user_id=owner.id, visibility=owner.default_visibility,
        direction=direction,
        message_id=stored_message_id(parsed, db.mail_domain), content_hash=parsed.content_hash,
        sha256=parsed.sha256 or hashlib.sha256(delivery.raw).hexdigest(), size=len(delivery.raw),
        subject=clean_text(parsed.subject), date=safe_instant(parsed.date) if parsed.date else None,
        from_email=clean_text(author.email if author else "", 320),
        from_name=clean_text(author.name if author else "", 200),
        to_addrs=_boxes(parsed.to), cc_addrs=_boxes(parsed.cc),
        in_reply_to=[clean_text(m) for m in parsed.in_reply_to],
        references=[clean_text(m) for m in parsed.references],
        text_body=clean_text(parsed.text_body), html_body=clean_text(parsed.html_body),
        forwarded=forwarded, auto_generated=clean_text(parsed.auto_generated, 200),
        envelope_from=clean_text(delivery.envelope_from, 320),
        envelope_rcpts=[clean_text(r, 320) for r in delivery.envelope_rcpts],
        client_address=clean_text(delivery.client_address, 64),
        parse_degraded=clean_text("\n".join(parsed.degraded)),
        auth_verdict=(delivery.antispoof.verdict[:32] if delivery.antispoof
                      else "pass" if delivery.authorization.authorized else "fail"),
        auth_reason=clean_text("; ".join([delivery.authorization.reason]
                                         + ([delivery.antispoof.reason] if delivery.antispoof else []))),
    )


def _insert_message(session: Session, db: Database, delivery: Delivery, owner: Owner, direction: str) -> int:
    """The message's row, its attachments' rows and its raw bytes; returns the row's id."""
    connection = session.connection()
    message_pk = connection.execute(_INSERT_MESSAGE, _message_row(db, delivery, owner, direction)).scalar_one()
    attachments = [dict(message_pk=message_pk, filename=clean_text(a.filename, 500) or "attachment",
                        content_type=clean_text(a.content_type, 200), size=a.size, sha256=a.sha256)
                   for a in delivery.parsed.attachments]
    if attachments:
        connection.execute(_INSERT_ATTACHMENTS, attachments)
    raw.keep(session, message_pk, delivery.raw, delivery.upload)
    return message_pk


def _insert_by_email(session: Session, model: type, rows: dict[str, dict[str, Any]]) -> dict[str, int]:
    """One INSERT for all ``rows`` of ``model``'s table (keyed by their email); their new ids by email."""
    if not rows:
        return {}
    connection = session.connection()
    ids = {email: pk for email, pk in connection.execute(_INSERT_BY_EMAIL[model], list(rows.values()))}
    return {email: ids[row["email"]] for email, row in rows.items()}


def _apply_plan(session: Session, message_pk: int, plan: FilingPlan, company_id: int,
                owner: Owner, fresh: bool) -> tuple[int, int]:
    """Create the plan's records, then its links and review items; returns (links added, records made).

    ``fresh``: the message row is new in this transaction, so it has no links or review items yet.
    """
    made = dict(company_id=company_id, owner_user_id=owner.id, created_from_message_id=message_pk)
    connection = session.connection()
    person_rows = {contact.email: dict(email=clean_text(contact.email, 320), name=clean_text(contact.name, 200),
                                       org_id=contact.org_id, **made) for contact in plan.new_contacts}
    lead_rows = {lead.email: dict(title=clean_text(lead.title, 300), email=clean_text(lead.email, 320),
                                  name=clean_text(lead.name, 200), **made) for lead in plan.new_leads}
    persons = _insert_by_email(session, Person, person_rows)
    leads = _insert_by_email(session, Lead, lead_rows)
    deal_rows = {deal.email: dict(title=clean_text(deal.title, 300), person_id=persons.get(deal.email), **made)
                 for deal in plan.new_deals}
    deals: dict[str, int] = {}
    if deal_rows:
        deal_ids = connection.execute(_INSERT_DEALS, list(deal_rows.values())).scalars()
        deals = dict(zip(deal_rows, deal_ids))
    created: dict[tuple[str, str], int] = {
        **{("person", email): pk for email, pk in persons.items()},
        **{("lead", email): pk for email, pk in leads.items()},
        **{("deal", email): pk for email, pk in deals.items()},
    }
    existing: set[tuple[str, int]] = set()
    if not fresh:
        existing = set(connection.execute(
            select(Link.kind, Link.record_id).where(Link.message_pk == message_pk)).all())
    rows = []
    for planned in plan.links:
        record_id = planned.record_id or created[planned.kind, planned.new_email]
        if (planned.kind, record_id) in existing:
            continue
        existing.add((planned.kind, record_id))
        rows.append(dict(message_pk=message_pk, kind=planned.kind, record_id=record_id, rule=planned.rule,
                         created_at=utcnow()))
    if rows:      # one executemany; the links' own ids are not needed here
        connection.execute(_INSERT_LINKS, rows)
    reviewed: set[tuple[str, int]] = set()
    if plan.reviews and not fresh:
        reviewed = set(connection.execute(select(ReviewItem.kind, ReviewItem.person_id)
                                          .where(ReviewItem.message_pk == message_pk)).all())
    reviews = [dict(company_id=company_id, message_pk=message_pk, kind=review.kind, person_id=review.person_id,
                    candidates=list(review.candidates))
               for review in plan.reviews if (review.kind, review.person_id) not in reviewed]
    if reviews:
        connection.execute(_INSERT_REVIEWS, reviews)
    return len(rows), len(created)


def file_in(session: Session, db: Database, delivery: Delivery) -> Stored:
    """Store and file ``delivery`` inside the caller's transaction (which commits it, or not)."""
    owner = owner_of(session, delivery.authorization.user_id)
    known = load_context(session, db, delivery, owner)
    plan = plan_filing(delivery.parsed, known.context)
    message_pk = known.seen
    if message_pk is None:
        message_pk = _insert_message(session, db, delivery, owner, plan.direction)
    elif delivery.upload is not None:       # stored before: this copy's pieces are not needed
        raw.drop(session, delivery.upload)
    links_added, records = _apply_plan(session, message_pk, plan, delivery.company_id, owner,
                                       fresh=known.seen is None)
    return Stored(message_pk, known.seen is None, links_added, records)


async def store_message(db: Database, delivery: Delivery) -> Stored:
    """Store and file one message durably; a retry of the same message only adds links."""
    for attempt in range(ATTEMPTS):
        try:
            return await db.writer.run(functools.partial(file_in, db=db, delivery=delivery))
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


class Retry(Exception):
    """A message of a batch met a unique-key race with another writer: file it again from a fresh read."""


class _Undone(Exception):
    """A message of a batch filed without savepoints failed: the batch is filed again, with them."""


def _file_together(session: Session, db: Database, deliveries: list[Delivery]) -> list[Stored | Exception]:
    """The batch without a savepoint per message: any message's failure undoes it all (:class:`_Undone`),
    a transient failure raises as it is."""
    load_owners(session, (d.authorization.user_id for d in deliveries))     # one query for the batch
    results: list[Stored | Exception] = []
    for delivery in deliveries:
        try:
            results.append(file_in(session, db, delivery))
        except Exception as error:
            if is_transient(error):
                raise
            raise _Undone from error
    return results


def _file_each(session: Session, db: Database, deliveries: list[Delivery]) -> list[Stored | Exception]:
    """The batch with a savepoint per message: a message that fails is rolled back alone, its slot holding
    the error. Alone, the transaction is the message's own: it needs no savepoint."""
    results: list[Stored | Exception] = []
    if len(deliveries) == 1:
        try:
            results.append(file_in(session, db, deliveries[0]))
        except Exception as error:
            if is_transient(error):
                raise
            session.rollback()
            results.append(Retry(repr(error)) if isinstance(error, IntegrityError) else error)
        return results
    load_owners(session, (d.authorization.user_id for d in deliveries))
    for delivery in deliveries:
        try:
            with session.begin_nested():
                results.append(file_in(session, db, delivery))
        except IntegrityError as error:
            results.append(Retry(repr(error)))
        except Exception as error:   # this message's own failure; the batch goes on
            if is_transient(error):
                raise
            results.append(error)
    return results


async def store_batch(db: Database, deliveries: list[Delivery]) -> list[Stored | Exception]:
    """Store and file several messages in ONE transaction.

    One commit (one fsync on SQLite) makes the whole batch durable. A message whose filing fails is
    rolled back alone: its slot holds the error (:class:`Retry` for a unique-key race with another
    writer, which a fresh transaction resolves), and the others still commit. When the commit itself
    fails, it raises: then nothing of the batch was written.

    The batch is first filed without a savepoint per message (two statements fewer each); only when a
    message fails is it filed again with them, so that the others still commit.
    """
    if len(deliveries) > 1:
        try:
            return await db.writer.run(functools.partial(_file_together, db=db, deliveries=deliveries))
        except _Undone:
            pass
    return await db.writer.run(functools.partial(_file_each, db=db, deliveries=deliveries))
