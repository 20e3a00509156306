"""CRM records as a user of the web app sees them: lists per kind (search, status, owner) and one record's
page (its fields, its linked records, its mail in threads, its activities, its own Bcc address).

Visibility first, as in the mailbox: a record the user may not view (their view right on its kind is
none, or own and it is a colleague's, or it is another company's) is "not found", like one that does
not exist; lists and searches never hold one; linked records the user may not view are counted, not
named; the timeline holds only the messages the user may see (gateway.services.visibility.seen_by).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.crm.kinds import CLOSED_STATUSES, DOCUMENT_KINDS, NOUNS, RECORD_KINDS, Kind, Status
from gateway.mail.threads import Threaded, group_threads
from gateway.services import documents, records
from gateway.services.activities import ActivityView, activity_view
from gateway.services.errors import NotFound, ServiceError
from gateway.services.mailbox import _E, _entry_join
from gateway.services.message_view import label
from gateway.services.visibility import Sight, Viewer, seen_by, sight
from gateway.store.database import Database
from gateway.store.models import RECORD_MODELS, Activity, Company, Lead, Link, Message, Person, User

# the kinds in the order the navigation lists them
KINDS = (Kind.DEAL, Kind.LEAD, Kind.PERSON, Kind.ORG, Kind.PROJECT, Kind.INVOICE, Kind.QUOTE, Kind.SMART)
PLURALS: dict[str, str] = {Kind.DEAL: "Deals", Kind.LEAD: "Leads", Kind.PERSON: "Contacts", Kind.ORG: "Organizations",
           Kind.PROJECT: "Projects", Kind.INVOICE: "Invoices", Kind.QUOTE: "Quotes", Kind.SMART: "Smart processes"}
LIST_LIMIT = 200
TIMELINE_LIMIT = 500
# a contact's and an organization's records of these kinds are listed on its page
_CHILD_KINDS = (Kind.DEAL, Kind.LEAD, Kind.PROJECT, Kind.INVOICE, Kind.QUOTE, Kind.SMART)


def statuses(kind: str) -> tuple[str, ...]:
    """The statuses a list of ``kind`` filters by (contacts and organizations have none)."""
    if kind in (Kind.PERSON, Kind.ORG):
        return ()
    if kind in DOCUMENT_KINDS:
        return tuple(s for s in Status if s != Status.CONVERTED)
    return (Status.OPEN, *CLOSED_STATUSES[kind])


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"no kind of record {kind!r}")
    return kind


@dataclass(frozen=True)
class ListRow:
    kind: str
    id: int
    label: str
    status: str                 # "" for contacts and organizations
    detail: str                 # a contact's address, an organization's domain, a lead's address
    owner: str                  # the owner's name or address, "" when nobody owns it
    created_at: datetime


@dataclass(frozen=True)
class RecordList:
    kind: str
    rows: tuple[ListRow, ...]
    more: bool                  # more matched than LIST_LIMIT
    owners: tuple[tuple[int, str], ...]     # the company's users, for the owner filter


_KIND_OF: dict[Any, str] = {model: kind for kind, model in RECORD_MODELS.items()}


def viewable(who: Sight, model: Any) -> ColumnElement[bool]:
    """The records of ``model`` the user may view, as a condition."""
    right = who.rights.get(_KIND_OF[model])
    company: ColumnElement[bool] = model.company_id == who.company_id
    if right is None or right.view == "none":
        return false()
    if right.view == "own":
        return and_(company, model.owner_user_id == who.user_id)
    return company


def _search_columns(kind: str, model: Any) -> list[Any]:
    if kind == Kind.PERSON:
        return [model.name, model.email]
    if kind == Kind.ORG:
        return [model.name, model.domain]
    if model is Lead:
        return [model.title, model.email, model.name, model.company_name]
    return [model.title]


def _like(q: str) -> str:
    return "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _detail(kind: str, record: Any) -> str:
    if kind == Kind.ORG:
        return record.domain or ""
    return getattr(record, "email", None) or ""


async def _people(session: AsyncSession, company_id: int) -> dict[int, str]:
    return {u.id: u.name or u.email for u in await session.scalars(
        select(User).where(User.company_id == company_id).order_by(User.name, User.email))}


async def list_records(db: Database, viewer: Viewer, kind: str, q: str = "", status: str = "",
                       owner: str = "", before: str = "") -> RecordList:
    """The records of one kind the user may view, newest first, a page of LIST_LIMIT; ``q`` searches names,
    titles and addresses; ``status`` is one of :func:`statuses`; ``owner`` is "me" or a user's id;
    ``before`` (the last id of the previous page) turns to the next page."""
    model: Any = RECORD_MODELS[_kind(kind)]
    if status and status not in statuses(kind):
        raise ServiceError(f"a {NOUNS[kind]} is one of {', '.join(statuses(kind)) or 'no status'}, not {status!r}")
    async with db.sessions() as session:
        who = await sight(session, viewer)
        people = await _people(session, who.company_id)
        query = select(model).where(viewable(who, model))
        if q.strip():
            query = query.where(or_(*(func.lower(c).like(_like(q.strip()), escape="\\")
                                      for c in _search_columns(kind, model))))
        if status:
            query = query.where(model.status == status)
        if owner == "me":
            query = query.where(model.owner_user_id == who.user_id)
        elif owner:
            if not owner.isdigit() or int(owner) not in people:
                raise ServiceError("the owner is \"me\" or one of the company's users")
            query = query.where(model.owner_user_id == int(owner))
        if before:
            if not before.isdigit():
                raise ServiceError("before is the id of the last record of the previous page")
            query = query.where(model.id < int(before))
        found = (await session.scalars(query.order_by(model.id.desc()).limit(LIST_LIMIT + 1))).all()
    rows = tuple(ListRow(kind, r.id, label(kind, r), getattr(r, "status", ""), _detail(kind, r),
                         people.get(r.owner_user_id, "") if r.owner_user_id else "", r.created_at)
                 for r in found[:LIST_LIMIT])
    return RecordList(kind, rows, len(found) > LIST_LIMIT, tuple(people.items()))


@dataclass(frozen=True)
class Ref:
    """A linked record the user may view."""

    kind: str
    id: int
    label: str
    status: str = ""


@dataclass(frozen=True)
class Linked:
    heading: str                # "Contact", "Deals"...
    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class TimelineMessage:
    id: int
    subject: str
    from_email: str
    from_name: str
    received_at: datetime
    direction: str              # incoming or outgoing (gateway.crm.kinds.Direction)
    mine: bool                  # the user's own message (else a colleague's, shared)
    rule: str                   # why it is on this record


@dataclass(frozen=True)
class RecordPage:
    kind: str
    id: int
    noun: str
    label: str
    status: str
    fields: tuple[tuple[str, str | datetime], ...]     # the record's own values (a time stays one: pages format it)
    owner: str
    created_at: datetime
    address: str                            # its own Bcc address; "" for kinds without one
    linked: tuple[Linked, ...]
    hidden_linked: int                      # linked records the user may not view
    threads: tuple[tuple[TimelineMessage, ...], ...]    # newest thread first, each newest first
    activities: tuple[ActivityView, ...]
    may_edit: bool

    @property
    def message_count(self) -> int:
        return sum(len(thread) for thread in self.threads)


# shown elsewhere on the page: the status and title on top, the ids as linked records
_NOT_SHOWN = {"person_id", "org_id", "converted_deal_id", "status", "title"}
_FIELD_NAMES = {"name": "Name", "email": "Address", "domain": "Domain", "title": "Title", "pipeline": "Pipeline",
                "company_name": "Company (as typed)", "closed_at": "Closed", "phone": "Phone", "value": "Value",
                "currency": "Currency"}


def _fields(kind: str, record: Any) -> tuple[tuple[str, str | datetime], ...]:
    names = records.FIELDS.get(kind, documents.FIELDS)
    out = []
    for name in names:
        value = getattr(record, name)
        if name in _NOT_SHOWN or value in (None, ""):
            continue
        out.append((_FIELD_NAMES.get(name, name), value if isinstance(value, datetime) else str(value)))
    return tuple(out)


async def _record(session: AsyncSession, who: Sight, kind: str, record_id: int) -> Any:
    record = await session.get(RECORD_MODELS[_kind(kind)], record_id)
    if record is None or record.company_id != who.company_id or not who.may_view(kind, record.owner_user_id):
        raise NotFound(f"no {NOUNS[kind]} with id {record_id}")
    return record


async def _linked(session: AsyncSession, who: Sight, kind: str, record: Any) -> tuple[tuple[Linked, ...], int]:
    """The records this one names and the records that name it, those the user may view."""
    groups: list[tuple[str, list[Any], str]] = []       # heading, records, their kind
    for attr, parent in (("person_id", Kind.PERSON), ("org_id", Kind.ORG), ("converted_deal_id", Kind.DEAL)):
        ident = getattr(record, attr, None)
        if ident is not None:
            found = await session.get(RECORD_MODELS[parent], ident)
            heading = {"person_id": "Contact", "org_id": "Organization"}.get(attr, "Converted into deal")
            groups.append((heading, [found] if found is not None else [], parent))
    children: list[tuple[str, Any]] = []
    if kind == Kind.ORG:
        children.append((Kind.PERSON, Person.org_id))
    if kind in (Kind.PERSON, Kind.ORG):
        named = "person_id" if kind == Kind.PERSON else "org_id"
        children += [(child, getattr(RECORD_MODELS[child], named)) for child in _CHILD_KINDS]
    if kind == Kind.DEAL:
        children.append((Kind.LEAD, Lead.converted_deal_id))
    for child, column in children:
        model: Any = RECORD_MODELS[child]
        rows = (await session.scalars(select(model).where(column == record.id, model.company_id == record.company_id)
                                      .order_by(model.id.desc()).limit(LIST_LIMIT))).all()
        heading = "Converted from lead" if kind == Kind.DEAL else (
            "People" if child == Kind.PERSON else PLURALS[child])
        groups.append((heading, list(rows), child))
    linked, hidden = [], 0
    for heading, found_records, other in groups:
        refs = []
        for each in found_records:
            if not who.may_view(other, each.owner_user_id):
                hidden += 1
                continue
            refs.append(Ref(other, each.id, label(other, each), getattr(each, "status", "")))
        if refs:
            linked.append(Linked(heading, tuple(refs)))
    return tuple(linked), hidden


async def _timeline(session: AsyncSession, who: Sight, kind: str, record_id: int
                    ) -> tuple[tuple[TimelineMessage, ...], ...]:
    """The record's messages the user may see (not those they emptied from their Trash), in threads."""
    on = aliased(Link)          # seen_by's own subqueries on links must not correlate with this one
    rows = await session.execute(
        select(Message.id, Message.subject, Message.from_email, Message.from_name, Message.received_at,
               Message.direction, Message.owner_user_id, Message.message_id, Message.in_reply_to,
               Message.references, on.rule)
        .join(on, on.message_pk == Message.id).outerjoin(_E, _entry_join(who))
        .where(on.kind == kind, on.record_id == record_id, seen_by(who),
               or_(_E.folder.is_(None), _E.folder != "purged"))
        .order_by(Message.received_at.desc(), Message.id.desc()).limit(TIMELINE_LIMIT))
    threaded = [Threaded(row.message_id, (*(row.in_reply_to or ()), *(row.references or ())), row.received_at,
                         TimelineMessage(row.id, row.subject, row.from_email, row.from_name, row.received_at,
                                         row.direction, row.owner_user_id == who.user_id, row.rule))
                for row in rows]
    return tuple(tuple(thread) for thread in group_threads(threaded))


async def record_page(db: Database, viewer: Viewer, kind: str, record_id: int) -> RecordPage:
    async with db.sessions() as session:
        who = await sight(session, viewer)
        record = await _record(session, who, kind, record_id)
        company = await session.get_one(Company, record.company_id)
        owner = await session.get(User, record.owner_user_id) if record.owner_user_id else None
        address = (db.record_address(company.slug, company.id, kind, record.id, record.token_version)
                   if kind in RECORD_KINDS else "")
        linked, hidden = await _linked(session, who, kind, record)
        threads = await _timeline(session, who, kind, record.id)
        activities = (await session.execute(
            select(Activity, User).outerjoin(User, User.id == Activity.owner_user_id)
            .where(Activity.company_id == record.company_id, Activity.kind == kind,
                   Activity.record_id == record.id).order_by(Activity.id))).all()
    far = datetime.max.replace(tzinfo=timezone.utc)
    views = sorted((activity_view(a, u) for a, u in activities),
                   key=lambda v: (v.status != "planned", v.due_at or far, v.id))
    return RecordPage(kind, record.id, NOUNS[kind], label(kind, record), getattr(record, "status", ""),
                      _fields(kind, record), (owner.name or owner.email) if owner else "", record.created_at,
                      address, linked, hidden, threads, tuple(views), who.may_edit(kind, record.owner_user_id))
