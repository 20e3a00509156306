"""What a user should hear of: new review items, bounces of mail they sent, mentions, overdue tasks.

Any service adds one with :func:`notify` inside its own transaction, so a notification exists exactly when
what it tells of was committed. The web app shows the unread count; a notification about a message the
user may no longer see (it was unshared, or deleted), or about a record they may no longer view, is not
shown nor counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.kinds import NotificationKind
from gateway.services.errors import NotFound
from gateway.services.visibility import Sight, seen_by, sight
from gateway.store.database import Database
from gateway.store.models import RECORD_MODELS, MailboxEntry, Message, Notification, User, utcnow

TEXT_LIMIT = 500


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    text: str
    message_pk: int | None
    record_kind: str | None
    record_id: int | None
    created_at: datetime
    read: bool
    activity_id: int | None = None


async def notify(session: AsyncSession, *, company_id: int, user_id: int, kind: NotificationKind, text: str,
                 message_pk: int | None = None, record_kind: str | None = None,
                 record_id: int | None = None, activity_id: int | None = None) -> Notification:
    """Adds a notification for one user in the caller's transaction."""
    row = Notification(company_id=company_id, user_id=user_id, kind=str(kind), text=text[:TEXT_LIMIT],
                       message_pk=message_pk, record_kind=record_kind, record_id=record_id,
                       activity_id=activity_id)
    session.add(row)
    await session.flush()
    return row


def shown_to(who: Sight) -> ColumnElement[bool]:
    """Notifications of this user about nothing, or about a message and a record they may still see."""
    return and_(Notification.user_id == who.user_id,
                or_(Notification.message_pk.is_(None),
                    Notification.message_pk.in_(select(Message.id).where(seen_by(who), ~_emptied(who)))),
                or_(Notification.record_kind.is_(None), _record_in_sight(who)))


def _emptied(who: Sight) -> ColumnElement[bool]:
    """The message is one ``who`` emptied from their Trash: gone for them."""
    return exists().where(MailboxEntry.user_id == who.user_id, MailboxEntry.message_pk == Message.id,
                          MailboxEntry.folder == "purged")


def _record_in_sight(who: Sight) -> ColumnElement[bool]:
    """The notification's record is one the user may view: its kind viewable by them (all, or own and
    theirs), in their company, and still there."""
    clauses: list[ColumnElement[bool]] = []
    for kind, right in who.rights.items():
        model: Any = RECORD_MODELS.get(kind)
        if model is None or right.view not in ("all", "own"):
            continue
        record = exists().where(model.id == Notification.record_id, model.company_id == who.company_id)
        if right.view == "own":
            record = exists().where(model.id == Notification.record_id, model.company_id == who.company_id,
                                    model.owner_user_id == who.user_id)
        clauses.append(and_(Notification.record_kind == kind, record))
    return or_(*clauses) if clauses else false()


async def user_sight(session: AsyncSession, user_id: int) -> Sight | None:
    user = await session.get(User, user_id)
    return None if user is None else await sight(session, _Viewer(user.id, user.company_id))


@dataclass(frozen=True)
class _Viewer:
    user_id: int
    company_id: int


async def unread_count(db: Database, user_id: int) -> int:
    async with db.sessions() as session:
        who = await user_sight(session, user_id)
        if who is None:
            return 0
        return int(await session.scalar(select(func.count()).select_from(Notification)
                                        .where(shown_to(who), Notification.read_at.is_(None))) or 0)


async def recent(db: Database, user_id: int, *, limit: int = 50, unread_only: bool = False) -> list[NotificationView]:
    async with db.sessions() as session:
        who = await user_sight(session, user_id)
        if who is None:
            return []
        query = select(Notification).where(shown_to(who))
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        rows = await session.scalars(query.order_by(Notification.id.desc()).limit(limit))
        return [view(n) for n in rows]


def view(n: Notification) -> NotificationView:
    return NotificationView(n.id, n.kind, n.text, n.message_pk, n.record_kind, n.record_id, n.created_at,
                            n.read_at is not None, n.activity_id)


async def open_notification(db: Database, user_id: int, notification_id: int) -> NotificationView:
    """One of the user's notifications, marked read; NotFound for anyone else's, or one about a message
    the user may no longer see."""
    async with db.writing() as session, session.begin():
        who = await user_sight(session, user_id)
        found = None if who is None else await session.scalar(
            select(Notification).where(shown_to(who), Notification.id == notification_id))
        if found is None:
            raise NotFound(f"no notification with id {notification_id}")
        if found.read_at is None:
            found.read_at = utcnow()
        return view(found)


async def mark_read(db: Database, user_id: int, notification_ids: list[int] | None = None) -> int:
    """Marks the user's notifications read (all of them when no ids are given); returns how many changed.
    Ids of other users' notifications change nothing."""
    async with db.writing() as session, session.begin():
        query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        if notification_ids is not None:
            query = query.where(Notification.id.in_(notification_ids))
        result = await session.execute(query.values(read_at=utcnow()))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
