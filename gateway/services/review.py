"""The review queue and links an admin makes by hand: messages the gateway could not file alone.

A message waits in review when one of its contacts has several open deals (or leads, projects):
nothing of that kind was linked, and the candidates are kept best first. Only open records are ever
offered: a candidate closed (won, lost, converted...) since the item was made drops out of the list.
Resolving links the one chosen (rule ``review``); ``link`` / ``unlink`` change a message's records
directly (rule ``manual``), and linking a deal, lead or project by hand resolves the message's open
items of that kind: the choice was made. Once a message has its record of a kind, every open item of
that kind on it closes (several contacts may each have made one).

The web app's queue (:func:`queue`, :func:`resolve_item`) shows a user the items on messages they may
see (gateway.services.visibility), and an admin those of the whole company.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from typing import Any, Sequence

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.kinds import DEALISH_KINDS, LinkRule, NotificationKind, Status
from gateway.services.errors import NotFound, ServiceError, company_by_slug
from gateway.services.records import NOUNS, _get
from gateway.services.visibility import Sight, Viewer, seen_by, sight
from gateway.store.database import Database, rows_matched
from gateway.store.models import (
    DEALISH_MODELS, Company, Link, MailboxEntry, Message, Notification, Person, ReviewItem, User, utcnow,
)


@dataclass(frozen=True)
class Candidate:
    id: int
    title: str


@dataclass(frozen=True)
class ReviewView:
    id: int
    company: str
    message_id: int
    subject: str
    kind: str
    person_id: int
    person_email: str
    candidates: tuple[Candidate, ...]
    status: str
    resolved_record_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class LinkChange:
    message_id: int
    kind: str
    record_id: int
    rule: str
    changed: bool          # False: it was already so


async def _message(session: AsyncSession, message_pk: int) -> Message:
    message = await session.get(Message, message_pk)
    if message is None:
        raise NotFound(f"no message with id {message_pk} (see `smartbcc messages list`)")
    return message


async def _open_candidates(session: AsyncSession, item: ReviewItem) -> list[Any]:
    """The item's candidates that still exist and are open, best first: a record closed since the item
    was made (won, lost, converted, done, cancelled) is never offered."""
    found = []
    for record_id in item.candidates:
        record = await session.get(DEALISH_MODELS[item.kind], record_id)
        if record is not None and record.status == Status.OPEN and record.company_id == item.company_id:
            found.append(record)
    return found


async def _view(session: AsyncSession, item: ReviewItem) -> ReviewView:
    message = await session.get_one(Message, item.message_pk)
    company = await session.get_one(Company, item.company_id)
    person = await session.get(Person, item.person_id)
    candidates = [Candidate(record.id, record.title) for record in await _open_candidates(session, item)]
    return ReviewView(item.id, company.slug, item.message_pk, message.subject, item.kind, item.person_id,
                      person.email if person else "", tuple(candidates), item.status,
                      item.resolved_record_id, item.created_at)


async def list_reviews(db: Database, company_slug: str | None = None, include_resolved: bool = False) -> list[ReviewView]:
    async with db.sessions() as session:
        query = select(ReviewItem).order_by(ReviewItem.id)
        if company_slug:
            company = await company_by_slug(session, company_slug)
            query = query.where(ReviewItem.company_id == company.id)
        if not include_resolved:
            query = query.where(ReviewItem.status == "open")
        return [await _view(session, item) for item in await session.scalars(query)]


async def _add_link(session: AsyncSession, message: Message, kind: str, record_id: int, rule: str) -> bool:
    await _get(session, kind, record_id, await session.get(Company, message.company_id))
    existing = await session.scalar(select(Link).where(
        Link.message_pk == message.id, Link.kind == kind, Link.record_id == record_id))
    if existing is not None:
        return False
    session.add(Link(message_pk=message.id, kind=kind, record_id=record_id, rule=rule))
    return True


async def resolve_review(db: Database, message_pk: int, kind: str, record_id: int | None) -> list[ReviewView]:
    """Link the chosen record to the message and close its open review items of that kind.

    ``record_id`` None dismisses them (nothing linked). The record need not be a candidate: an admin
    may know better, but it must belong to the message's company.
    """
    if kind not in DEALISH_KINDS:
        raise ServiceError(f"review items are about deals, leads or projects, not {kind!r}")
    async with db.writing() as session, session.begin():
        message = await _message(session, message_pk)
        items = (await session.scalars(select(ReviewItem).where(
            ReviewItem.message_pk == message.id, ReviewItem.kind == kind, ReviewItem.status == "open"))).all()
        if not items:
            raise NotFound(f"message {message_pk} has no open review item for a {kind} "
                           "(see `smartbcc review list`); use `messages link` to link by hand")
        if record_id is not None:
            await _check_open(session, kind, record_id)
            await _add_link(session, message, kind, record_id, LinkRule.REVIEW)
        await _close(session, items, record_id)
        await session.flush()
        return [await _view(session, item) for item in items]


async def _check_open(session: AsyncSession, kind: str, record_id: int) -> None:
    record = await session.get(DEALISH_MODELS[kind], record_id)
    if record is not None and record.status != Status.OPEN:
        raise ServiceError(f"{NOUNS[kind]} {record_id} is {record.status}: the review queue files mail on open "
                           f"records only (`smartbcc messages link` links any record by hand)")


async def _close(session: AsyncSession, items: Sequence[ReviewItem], record_id: int | None) -> None:
    """Close the items; a message left with no open item has its owner's review notifications read."""
    now = utcnow()
    for item in items:
        item.status = "resolved" if record_id is not None else "dismissed"
        item.resolved_record_id = record_id
        item.resolved_at = now
    await session.flush()
    for message_pk in {item.message_pk for item in items}:
        waiting = await session.scalar(select(ReviewItem.id).where(
            ReviewItem.message_pk == message_pk, ReviewItem.status == "open").limit(1))
        if waiting is None:
            await session.execute(update(Notification).where(
                Notification.message_pk == message_pk, Notification.kind == NotificationKind.REVIEW,
                Notification.read_at.is_(None)).values(read_at=now))


async def resolve_by_link(session: AsyncSession, message_pk: int, kind: str, record_id: int) -> int:
    """A message linked to a deal, lead or project by hand: its open review items of that kind are
    resolved to that record, in the caller's transaction. Returns how many closed."""
    if kind not in DEALISH_KINDS:
        return 0
    items = (await session.scalars(select(ReviewItem).where(
        ReviewItem.message_pk == message_pk, ReviewItem.kind == kind, ReviewItem.status == "open"))).all()
    await _close(session, items, record_id)
    return len(items)


async def link_message(db: Database, message_pk: int, kind: str, record_id: int) -> LinkChange:
    """Link by hand (rule ``manual``); a deal, lead or project resolves the message's review items of its kind."""
    async with db.writing() as session, session.begin():
        message = await _message(session, message_pk)
        changed = await _add_link(session, message, kind, record_id, LinkRule.MANUAL)
        await resolve_by_link(session, message.id, kind, record_id)
        return LinkChange(message.id, kind, record_id, LinkRule.MANUAL, changed)


async def unlink_message(db: Database, message_pk: int, kind: str, record_id: int) -> LinkChange:
    async with db.writing() as session, session.begin():
        message = await _message(session, message_pk)
        result = await session.execute(delete(Link).where(
            Link.message_pk == message.id, Link.kind == kind, Link.record_id == record_id))
        if rows_matched(result) == 0:
            raise NotFound(f"message {message_pk} is not linked to {NOUNS[kind]} {record_id} "
                           f"(see `smartbcc messages show {message_pk}`)")
        return LinkChange(message.id, kind, record_id, "", True)


async def set_visibility(db: Database, message_pk: int, visibility: str) -> str:
    """Share a message within the company, or make it private to its owner again."""
    if visibility not in ("private", "shared"):
        raise ServiceError("visibility is private or shared")
    async with db.writing() as session, session.begin():
        message = await _message(session, message_pk)
        message.visibility = visibility
        return message.visibility


# --- the web app's review queue --------------------------------------------------------------------------

QUEUE_LIMIT = 200


@dataclass(frozen=True)
class QueueItem:
    """An open review item as one user sees it: candidates they may view, open ones only, best first."""

    id: int
    message_id: int
    subject: str
    received_at: datetime
    seen: bool                  # the user may open the message itself (an admin may not, if it is private)
    owner: str                  # the message's owner's login address
    kind: str
    person_email: str
    candidates: tuple[Candidate, ...]


async def _is_admin(session: AsyncSession, who: Sight) -> bool:
    user = await session.get(User, who.user_id)
    return user is not None and user.role == "admin" and user.company_id == who.company_id


def _seen_and_kept(who: Sight) -> Any:
    """Messages ``who`` may see and has not emptied from their Trash (gateway.services.mailbox.visible)."""
    purged = exists().where(MailboxEntry.user_id == who.user_id, MailboxEntry.message_pk == Message.id,
                            MailboxEntry.folder == "purged")
    return and_(seen_by(who), ~purged)


async def _seen(session: AsyncSession, who: Sight, items: Sequence[ReviewItem]) -> set[int]:
    """Which of the items' messages ``who`` may open (one query for the page)."""
    wanted = sorted({item.message_pk for item in items})
    if not wanted:
        return set()
    return set(await session.scalars(select(Message.id).where(Message.id.in_(wanted), _seen_and_kept(who))))


async def _queue_view(session: AsyncSession, who: Sight, admin: bool, item: ReviewItem, seen: bool) -> QueueItem:
    message = await session.get_one(Message, item.message_pk)
    owner = await session.get(User, message.owner_user_id)
    person = await session.get(Person, item.person_id)
    candidates = tuple(Candidate(r.id, r.title) for r in await _open_candidates(session, item)
                       if admin or who.may_view(item.kind, r.owner_user_id))
    # an admin acts on a colleague's private message without reading it: its subject stays the owner's
    return QueueItem(item.id, message.id, message.subject if seen else "", message.received_at, seen,
                     owner.email if owner else "",
                     item.kind, person.email if person is not None else "", candidates)


async def queue(db: Database, viewer: Viewer) -> list[QueueItem]:
    """The open review items the user may act on, newest message first: on messages they may see, or,
    for an admin, on any message of their company."""
    async with db.sessions() as session:
        who = await sight(session, viewer)
        query = (select(ReviewItem).join(Message, Message.id == ReviewItem.message_pk)
                 .where(ReviewItem.company_id == who.company_id, ReviewItem.status == "open")
                 .order_by(Message.received_at.desc(), ReviewItem.id).limit(QUEUE_LIMIT))
        admin = await _is_admin(session, who)
        if not admin:
            query = query.where(_seen_and_kept(who))
        items = (await session.scalars(query)).all()
        seen = await _seen(session, who, items) if admin else {item.message_pk for item in items}
        return [await _queue_view(session, who, admin, item, item.message_pk in seen) for item in items]


async def _item_for(session: AsyncSession, who: Sight, admin: bool, item_id: int) -> ReviewItem:
    """The open item, if the user may act on it; NotFound otherwise (the same for a missing one)."""
    query = (select(ReviewItem).join(Message, Message.id == ReviewItem.message_pk)
             .where(ReviewItem.id == item_id, ReviewItem.company_id == who.company_id))
    if not admin:
        query = query.where(_seen_and_kept(who))
    item = await session.scalar(query)
    if item is None:
        raise NotFound(f"no review item with id {item_id}")
    return item


async def resolve_item(db: Database, viewer: Viewer, item_id: int, record_id: int | None) -> QueueItem:
    """Resolve one item from the web: link the chosen candidate (rule ``review``), or, with None, link
    nothing; the message's other open items of that kind close with it. The record must be one the
    queue offers this user (open, and one they may view) and, for a member, one they may edit."""
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        admin = await _is_admin(session, who)
        item = await _item_for(session, who, admin, item_id)
        if item.status != "open":
            raise ServiceError("this message's record was chosen already")
        view = await _queue_view(session, who, admin, item, bool(await _seen(session, who, [item])))
        if record_id is not None:
            record = next((r for r in await _open_candidates(session, item) if r.id == record_id), None)
            if record is None or record_id not in {c.id for c in view.candidates}:
                raise ServiceError(f"{NOUNS[item.kind]} {record_id} is not an open candidate of this message")
            if not admin and not who.may_edit(item.kind, record.owner_user_id):
                raise ServiceError(f"you may not change {NOUNS[item.kind]} {record_id} (no edit right)")
            message = await session.get_one(Message, item.message_pk)
            await _add_link(session, message, item.kind, record_id, LinkRule.REVIEW)
        items = (await session.scalars(select(ReviewItem).where(
            ReviewItem.message_pk == item.message_pk, ReviewItem.kind == item.kind,
            ReviewItem.status == "open"))).all()
        await _close(session, items, record_id)
        return view
