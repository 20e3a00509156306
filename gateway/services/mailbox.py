"""A user's web mailbox: folders, pages of messages newest first, search, and what they do to a message.

Each user keeps their own state of every message they may see (gateway.store.models.MailboxEntry):
read or not, and its folder. Without a row a message is unread, in Sent when outgoing, else in Inbox.
Pages are keyset pages on (received_at, id), newest first: a user's own mail is read through the index
on (owner, received_at, id), colleagues' shared mail through (company, visibility, received_at, id), and
the two merged; Spam, Trash and the user's folders are read from the state table's own index. A page
never reads more than its rows plus one. Full-text search uses the index the migrations keep filled
(FTS5 on SQLite, tsvector on PostgreSQL); search results come newest first by arrival (the id), the
order the index hands them out in.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Unpack

from sqlalchemy import Select, and_, case, column, delete, exists, func, literal, or_, select, table, text, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.kinds import Direction
from gateway.services.errors import Conflict, NotFound, ServiceError
from gateway.services.visibility import Sight, Viewer, seen_by, shared_with, sight, own
from gateway.store.database import Database
from gateway.store.models import Link, MailboxEntry, MailFolder, Message

BUILT_IN = ("inbox", "sent", "spam", "trash")
ALL = "all"                      # every folder but Spam and Trash (where a search looks by default)
PAGE = 50
DIRECTIONS = (Direction.OUTGOING, Direction.INCOMING)
UNREAD_CAP = 1000                # the unread count stops counting here ("1000+")
_E = MailboxEntry
Rows = Select[Unpack[tuple[Any, ...]]]     # a query of message rows (its columns: _COLUMNS)


@dataclass(frozen=True)
class Filters:
    folder: str = "inbox"        # inbox, sent, spam, trash, all, or a user folder's id as text
    q: str = ""
    since: date | None = None
    until: date | None = None
    read: bool | None = None
    linked: bool | None = None
    record: tuple[str, int] | None = None


@dataclass(frozen=True)
class Row:
    id: int
    message_id: str
    subject: str
    from_email: str
    from_name: str
    received_at: datetime
    visibility: str
    direction: str
    mine: bool
    read: bool
    folder: str                  # inbox, sent, spam, trash, or "folder"
    folder_id: int | None


@dataclass(frozen=True)
class Page:
    rows: tuple[Row, ...]
    next_cursor: str | None
    unread: int                  # unread messages in Inbox, counted up to UNREAD_CAP
    folders: tuple[tuple[int, str], ...] = field(default=())


def cursor_of(row: Row) -> str:
    raw = f"{row.received_at.astimezone(timezone.utc).isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(value: str) -> tuple[datetime, int]:
    try:
        moment, _, ident = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().partition("|")
        return datetime.fromisoformat(moment).astimezone(timezone.utc), int(ident)
    except (ValueError, UnicodeDecodeError):
        raise ServiceError("the cursor is not one this server gave out") from None


def _default_folder() -> Any:
    return case((Message.direction == Direction.OUTGOING, literal("sent")), else_=literal("inbox"))


def _folder_expr() -> Any:
    return func.coalesce(_E.folder, _default_folder())


def search_terms(q: str) -> list[str]:
    """The words of a query that contain a letter or digit (the rest finds nothing in either index)."""
    return [word for word in q.split() if re.search(r"\w", word)][:20]


def _search(db: Database, who: Sight, q: str, where: list[Any], before: tuple[datetime, int] | None,
            limit: int) -> Rows:
    """Messages matching ``q``, newest first by arrival (id). On SQLite the FTS5 index hands its matches
    out newest first and the page stops after ``limit`` visible ones; on PostgreSQL the tsvector index
    finds them."""
    words = search_terms(q)
    query: Rows = select(*_COLUMNS)
    order: Any
    if db.engine.dialect.name == "postgresql":
        query = query.select_from(Message).where(Message.id.in_(text(
            "SELECT message_pk FROM message_search WHERE document @@ websearch_to_tsquery('simple', :q)"
        ).bindparams(q=" ".join(words))))
        order = Message.id
    else:
        phrases = ['"' + word.replace('"', '""') + '"' for word in words]
        phrases[-1] += "*"                                   # the last word may be typed half-way
        index = table("message_search", column("rowid"))
        query = query.select_from(index).join(Message, Message.id == index.c.rowid).where(
            text("message_search MATCH :q").bindparams(q=" ".join(phrases)))
        order = index.c.rowid
    query = query.outerjoin(_E, _entry_join(who)).where(seen_by(who), *where)
    if before is not None:
        query = query.where(order < before[1])
    return query.order_by(order.desc()).limit(limit)


def _conditions(db: Database, filters: Filters) -> list[Any]:
    out: list[Any] = []
    if filters.since is not None:
        out.append(Message.received_at >= datetime.combine(filters.since, time(), timezone.utc))
    if filters.until is not None:
        out.append(Message.received_at < datetime.combine(filters.until + timedelta(days=1), time(), timezone.utc))
    if filters.read is not None:
        out.append(func.coalesce(_E.read, Message.direction == Direction.OUTGOING).is_(filters.read))
    if filters.linked is not None:
        linked = exists().where(Link.message_pk == Message.id)
        out.append(linked if filters.linked else ~linked)
    if filters.record is not None:
        kind, record_id = filters.record
        out.append(exists().where(Link.message_pk == Message.id, Link.kind == kind, Link.record_id == record_id))
    return out


_COLUMNS = (Message.id, Message.message_id, Message.subject, Message.from_email, Message.from_name,
            Message.received_at, Message.visibility, Message.direction, Message.owner_user_id,
            func.coalesce(_E.read, Message.direction == Direction.OUTGOING).label("read"), _E.folder, _E.folder_id)


def _entry_join(who: Sight) -> Any:
    return and_(_E.user_id == who.user_id, _E.message_pk == Message.id)


def _streams(who: Sight, where: list[Any], before: tuple[datetime, int] | None, limit: int,
             directions: tuple[str, ...] = DIRECTIONS) -> list[Rows]:
    """The user's own messages and colleagues' shared ones of each direction, each newest first from its
    own index and at most ``limit`` rows: (owner, direction, received_at, id) and (company, visibility,
    direction, received_at, id)."""
    if before is not None:
        at, ident = before
        where = [*where, Message.received_at <= at, or_(Message.received_at < at, Message.id < ident)]
    return [select(*_COLUMNS).select_from(Message).outerjoin(_E, _entry_join(who))
            .where(visible, Message.direction == direction, *where)
            .order_by(Message.received_at.desc(), Message.id.desc()).limit(limit)
            for visible in (own(who), shared_with(who)) for direction in directions]


def _merged(parts: list[Rows], limit: int) -> Rows:
    """Streams that are each newest first, merged newest first."""
    merged = union_all(*(select(part.subquery()) for part in parts)).subquery()
    return select(merged).order_by(merged.c.received_at.desc(), merged.c.id.desc()).limit(limit)


def _in_folder(folder: str, folder_id: int | None) -> Any:
    if folder == ALL:
        return _folder_expr().notin_(("spam", "trash", "purged"))
    if folder == "folder":
        return and_(_E.folder == folder, _E.folder_id == folder_id)
    return _folder_expr() == folder


def _folder_parts(who: Sight, folder: str, where: list[Any], before: tuple[datetime, int] | None,
                  limit: int) -> list[Rows]:
    """Inbox, Sent or all folders: messages there by default (their direction) read from the messages'
    indexes, and those moved there read from the state table's; each part newest first, ``limit`` rows."""
    if folder == ALL:
        return _streams(who, [*where, _in_folder(ALL, None)], before, limit)
    natural = Direction.OUTGOING if folder == "sent" else Direction.INCOMING
    stay = [*where, or_(_E.folder.is_(None), _E.folder == folder)]
    moved = _from_entries(who, folder, None, [*where, Message.direction != natural], before, limit)
    return [*_streams(who, stay, before, limit, (natural,)), moved]


def _folder_query(who: Sight, folder: str, where: list[Any], before: tuple[datetime, int] | None,
                  limit: int) -> Rows:
    return _merged(_folder_parts(who, folder, where, before, limit), limit)


def _from_entries(who: Sight, folder: str, folder_id: int | None, where: list[Any],
                  before: tuple[datetime, int] | None, limit: int) -> Rows:
    """A folder only state rows can put a message in (Spam, Trash, the user's own): read from their index."""
    query = (select(*_COLUMNS).select_from(_E).join(Message, Message.id == _E.message_pk)
             .where(_E.user_id == who.user_id, _E.folder == folder,
                    _E.folder_id.is_(None) if folder_id is None else _E.folder_id == folder_id,
                    seen_by(who), *where))
    if before is not None:
        at, ident = before
        query = query.where(_E.received_at <= at, or_(_E.received_at < at, _E.message_pk < ident))
    return query.order_by(_E.received_at.desc(), _E.message_pk.desc()).limit(limit)


def _row(who: Sight, r: Any) -> Row:
    folder = r.folder or ("sent" if r.direction == Direction.OUTGOING else "inbox")
    return Row(r.id, r.message_id, r.subject, r.from_email, r.from_name, r.received_at, r.visibility,
               r.direction, r.owner_user_id == who.user_id, bool(r.read), folder, r.folder_id)


async def _folder(session: AsyncSession, who: Sight, folder: str) -> tuple[str, int | None]:
    if folder in BUILT_IN or folder == ALL:
        return folder, None
    if folder.isdigit():
        found = await session.get(MailFolder, int(folder))
        if found is not None and found.user_id == who.user_id:
            return "folder", found.id
    raise NotFound(f"no folder {folder!r}")


async def unread_count(session: AsyncSession, who: Sight) -> int:
    """Unread messages in Inbox, counted up to UNREAD_CAP: each part stops there, in no particular order
    (an order would make the database sort every unread message first)."""
    parts = _folder_parts(who, "inbox", [func.coalesce(_E.read, False).is_(False)], None, UNREAD_CAP)
    counted = union_all(*(select(part.order_by(None).subquery().c.id) for part in parts)).subquery()
    total = await session.scalar(select(func.count()).select_from(counted))
    return min(int(total or 0), UNREAD_CAP)


async def list_page(db: Database, viewer: Viewer, filters: Filters, cursor: str | None = None,
                    limit: int = PAGE) -> Page:
    """One page of the mailbox, newest first, and the cursor of the next (None: this was the last)."""
    limit = max(1, min(limit, 200))
    before = parse_cursor(cursor) if cursor else None
    async with db.sessions() as session:
        who = await sight(session, viewer)
        folder, folder_id = await _folder(session, who, filters.folder)
        where = _conditions(db, filters)
        if search_terms(filters.q):
            query = _search(db, who, filters.q, [*where, _in_folder(folder, folder_id)], before, limit + 1)
        elif folder in ("inbox", "sent", ALL):
            query = _folder_query(who, folder, where, before, limit + 1)
        else:
            query = _from_entries(who, folder, folder_id, where, before, limit + 1)
        rows = [_row(who, r) for r in await session.execute(query)]
        unread = await unread_count(session, who)
        folders = tuple((f.id, f.name) for f in await session.scalars(
            select(MailFolder).where(MailFolder.user_id == who.user_id).order_by(MailFolder.name)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(tuple(rows), cursor_of(rows[-1]) if more else None, unread, folders)


async def visible(session: AsyncSession, who: Sight, ids: Iterable[int]) -> dict[int, Any]:
    """The messages of ``ids`` the user may see and has not emptied from their Trash; NotFound names the
    first that is not (the same answer whether it does not exist or is someone else's)."""
    wanted = sorted(set(ids))
    if not wanted:
        raise ServiceError("choose at least one message")
    found = {r.id: r for r in await session.execute(
        select(Message.id, Message.received_at, Message.owner_user_id, Message.from_email, Message.company_id,
               _E.folder).outerjoin(_E, _entry_join(who))
        .where(Message.id.in_(wanted), seen_by(who), or_(_E.folder.is_(None), _E.folder != "purged")))}
    for ident in wanted:
        if ident not in found:
            raise NotFound(f"no message with id {ident}")
    return found


async def _entries(session: AsyncSession, who: Sight, found: dict[int, Any]) -> dict[int, MailboxEntry]:
    rows = {e.message_pk: e for e in await session.scalars(
        select(MailboxEntry).where(MailboxEntry.user_id == who.user_id, MailboxEntry.message_pk.in_(found)))}
    for ident, message in found.items():
        if ident not in rows:
            rows[ident] = MailboxEntry(user_id=who.user_id, message_pk=ident, read=False,
                                       received_at=message.received_at)
            session.add(rows[ident])
    return rows


async def mark(db: Database, viewer: Viewer, ids: Iterable[int], read: bool) -> int:
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        entries = await _entries(session, who, await visible(session, who, ids))
        for entry in entries.values():
            entry.read = read
        return len(entries)


async def move(db: Database, viewer: Viewer, ids: Iterable[int], folder: str) -> int:
    """Move to Inbox, Sent, Spam, Trash or one of the user's folders (by id); "restore" puts a message back
    in its default folder (Sent for outgoing mail, else Inbox)."""
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        target, folder_id = (None, None) if folder == "restore" else await _folder(session, who, folder)
        if target == ALL:
            raise ServiceError("move to one folder, not to all")
        entries = await _entries(session, who, await visible(session, who, ids))
        for entry in entries.values():
            entry.folder, entry.folder_id = target, folder_id
        return len(entries)


async def spam(db: Database, viewer: Viewer, ids: Iterable[int]) -> tuple[str, ...]:
    """Move to Spam; the user's own messages are unlinked from every record. Returns the senders, to be
    offered for the company's never-log list."""
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        found = await visible(session, who, ids)
        for entry in (await _entries(session, who, found)).values():
            entry.folder, entry.folder_id = "spam", None
        mine = [ident for ident, m in found.items() if m.owner_user_id == who.user_id]
        if mine:
            await session.execute(delete(Link).where(Link.message_pk.in_(mine)))
        return tuple(sorted({m.from_email for m in found.values() if m.from_email}))


async def empty_trash(db: Database, viewer: Viewer) -> int:
    """Purge the Trash for good: the user's own messages are deleted with their links (no record shows them
    again); a colleague's shared message is only gone from this user's mailbox."""
    from gateway.services.messages import delete_message

    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        trashed = (await session.execute(select(MailboxEntry.message_pk, Message.owner_user_id)
                                         .join(Message, Message.id == MailboxEntry.message_pk)
                                         .where(MailboxEntry.user_id == who.user_id,
                                                MailboxEntry.folder == "trash"))).all()
        theirs = [pk for pk, owner in trashed if owner != who.user_id]
        for entry in await session.scalars(select(MailboxEntry).where(
                MailboxEntry.user_id == who.user_id, MailboxEntry.message_pk.in_(theirs))):
            entry.folder, entry.folder_id = "purged", None
    for pk, owner in trashed:
        if owner == who.user_id:
            try:
                await delete_message(db, pk)
            except NotFound:
                pass
    return len(trashed)


async def create_folder(db: Database, viewer: Viewer, name: str) -> int:
    name = _folder_name(name)
    try:
        async with db.writing() as session, session.begin():
            row = MailFolder(user_id=viewer.user_id, name=name)
            session.add(row)
            await session.flush()
            return row.id
    except IntegrityError:
        raise Conflict(f"you have a folder named {name!r} already") from None


def _folder_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ServiceError("a folder's name is 1 to 100 characters")
    if name.lower() in (*BUILT_IN, ALL):
        raise Conflict(f"{name!r} is a built-in folder")
    return name


async def _own_folder(session: AsyncSession, viewer: Viewer, folder_id: int) -> MailFolder:
    found = await session.get(MailFolder, folder_id)
    if found is None or found.user_id != viewer.user_id:
        raise NotFound(f"no folder with id {folder_id}")
    return found


async def rename_folder(db: Database, viewer: Viewer, folder_id: int, name: str) -> None:
    name = _folder_name(name)
    try:
        async with db.writing() as session, session.begin():
            (await _own_folder(session, viewer, folder_id)).name = name
    except IntegrityError:
        raise Conflict(f"you have a folder named {name!r} already") from None


async def delete_folder(db: Database, viewer: Viewer, folder_id: int) -> None:
    """Delete a user folder; its messages go back to their default folder."""
    async with db.writing() as session, session.begin():
        found = await _own_folder(session, viewer, folder_id)
        for entry in await session.scalars(select(MailboxEntry).where(MailboxEntry.folder_id == found.id)):
            entry.folder, entry.folder_id = None, None
        await session.delete(found)


async def folders(db: Database, viewer: Viewer) -> list[tuple[int, str]]:
    async with db.sessions() as session:
        return [(f.id, f.name) for f in await session.scalars(
            select(MailFolder).where(MailFolder.user_id == viewer.user_id).order_by(MailFolder.name))]
