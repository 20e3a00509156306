"""The copies known from before, both ways: a \\Seen flag or a folder changed in smartbcc since the last
sync is applied on the server; one changed in the user's client is applied here; a copy gone from the
server was moved (found again in its new folder, by dedup) or deleted (to smartbcc's Trash)."""

from __future__ import annotations

from typing import Any

from imapclient import DELETED, SEEN, IMAPClient
from sqlalchemy import delete, select, update

from gateway.crm.kinds import Direction
from gateway.store.database import Database
from gateway.store.models import MailboxCopy, MailboxEntry, MailboxFolder, MailFolder, Message
from gateway.sync.common import FLAGS_CHUNK, MADE_HERE, Box, Report, call, place, set_entry

async def reconcile(db: Database, box: Box, client: IMAPClient, row: MailboxFolder, rows: list[MailboxFolder],
                    report: Report, vanished: set[int]) -> None:
    """Decide what changed where, apply it on the server, then note it here in one short transaction (no
    database transaction waits on the IMAP server: the SMTP side's writes never queue behind one)."""
    async with db.sessions() as session:
        copies = list(await session.scalars(select(MailboxCopy).where(MailboxCopy.folder_pk == row.id)
                                            .order_by(MailboxCopy.uid)))
        for copy in copies:
            session.expunge(copy)
    if not copies:
        return
    flags: dict[int, Any] = {}
    uids = [copy.uid for copy in copies]
    for start in range(0, len(uids), FLAGS_CHUNK):
        fetched = await call(client.fetch, uids[start:start + FLAGS_CHUNK], ["FLAGS"])
        flags.update({int(uid): data.get(b"FLAGS", ()) for uid, data in fetched.items()})
    states = await _local_states(db, box, [c.message_pk for c in copies if c.message_pk is not None])
    forget: list[int] = []                       # copies no longer in this folder
    seen_now: dict[int, bool] = {}               # copy id -> the \Seen flag agreed now
    pulled: dict[int, bool] = {}                 # message -> read, as the user's client set it
    add_seen: list[int] = []
    remove_seen: list[int] = []
    expunge: list[int] = []
    moves: dict[str, list[int]] = {}
    for copy in copies:
        if copy.uid not in flags:                # moved or deleted in the user's client
            forget.append(copy.id)
            if copy.message_pk is not None:
                vanished.add(copy.message_pk)
            continue
        if copy.state != "filed":
            continue
        if copy.message_pk is None or copy.message_pk not in states:    # deleted in smartbcc
            expunge.append(copy.uid)
            forget.append(copy.id)
            continue
        read, shown = states[copy.message_pk]
        on_server = SEEN in flags[copy.uid]
        if read != copy.seen:                    # changed in smartbcc: applied on the server
            (add_seen if read else remove_seen).append(copy.uid)
            seen_now[copy.id] = read
        elif on_server != copy.seen:             # changed in the user's client: applied here
            pulled[copy.message_pk] = on_server
            seen_now[copy.id] = on_server
        if shown == ("purged", None):
            expunge.append(copy.uid)
            forget.append(copy.id)
        elif shown != place(row):               # moved in smartbcc: moved on the server
            moves.setdefault(await _target(db, client, box, shown, rows), []).append(copy.uid)
            forget.append(copy.id)
    if add_seen:
        await call(client.add_flags, add_seen, [SEEN])
    if remove_seen:
        await call(client.remove_flags, remove_seen, [SEEN])
    for target, moved in moves.items():
        await call(_move, client, moved, target)
    if expunge:
        await call(_expunge, client, expunge)
    report.pushed += len(add_seen) + len(remove_seen) + sum(map(len, moves.values())) + len(expunge)
    report.pulled += len(pulled)
    async with db.writing() as session, session.begin():
        for copy_id, seen in seen_now.items():
            await session.execute(update(MailboxCopy).where(MailboxCopy.id == copy_id).values(seen=seen))
        if forget:
            await session.execute(delete(MailboxCopy).where(MailboxCopy.id.in_(forget)))
        for message_pk, read in pulled.items():
            await set_entry(session, box.user_id, message_pk, read=read)


Shown = tuple[str, int | None]       # a web mailbox folder: inbox, sent, spam, trash, purged, or ("folder", id)


async def _local_states(db: Database, box: Box, message_pks: list[int]) -> dict[int, tuple[bool, Shown]]:
    """Each message's read flag and web mailbox folder for the owner, as the mailbox shows them."""
    out: dict[int, tuple[bool, Shown]] = {}
    async with db.sessions() as session:
        for start in range(0, len(message_pks), FLAGS_CHUNK):
            part = message_pks[start:start + FLAGS_CHUNK]
            result = await session.execute(
                select(Message.id, Message.direction, MailboxEntry.read, MailboxEntry.folder, MailboxEntry.folder_id)
                .outerjoin(MailboxEntry, (MailboxEntry.message_pk == Message.id)
                           & (MailboxEntry.user_id == box.user_id))
                .where(Message.id.in_(part)))
            for pk, direction, read, folder, folder_id in result:
                outgoing = direction == Direction.OUTGOING
                default = "sent" if outgoing else "inbox"
                out[pk] = (outgoing if read is None else bool(read),
                           (folder or default, folder_id if folder == "folder" else None))
    return out


async def _target(db: Database, client: IMAPClient, box: Box, shown: Shown,
                  rows: list[MailboxFolder]) -> str:
    """The server folder for a web mailbox folder, made on the server (and noted here) when it has none."""
    kind, folder_id = shown
    for row in rows:
        if row.role == kind if kind != "folder" else (row.role is None and row.folder_id == folder_id):
            return row.name
    async with db.sessions() as session:
        name = ({"inbox": "INBOX", "sent": "Sent", "spam": "Junk", "trash": "Trash"}.get(kind) or
                await session.scalar(select(MailFolder.name).where(MailFolder.id == folder_id)) or "smartbcc")
    if not await call(client.folder_exists, name):
        await call(client.create_folder, name)
    async with db.writing() as session, session.begin():
        made = await session.scalar(select(MailboxFolder).where(MailboxFolder.mailbox_id == box.id,
                                                                MailboxFolder.name == name))
        if made is None:
            made = MailboxFolder(mailbox_id=box.id, name=name, uidvalidity=MADE_HERE, last_uid=0)
            session.add(made)
        made.role, made.folder_id = (None, folder_id) if kind == "folder" else (kind, None)
        await session.flush()
        session.expunge(made)
    rows.append(made)            # fetched in this sync's later passes (or the next sync's)
    return name


def _move(client: IMAPClient, uids: list[int], target: str) -> None:
    if client.has_capability("MOVE"):
        client.move(uids, target)
        return
    client.copy(uids, target)
    _expunge(client, uids)


def _expunge(client: IMAPClient, uids: list[int]) -> None:
    client.add_flags(uids, [DELETED])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


async def settle_vanished(db: Database, box: Box, vanished: set[int], report: Report) -> None:
    """A message gone from every folder of the mailbox was deleted in the user's client: to Trash."""
    async with db.writing() as session, session.begin():
        still = set(await session.scalars(select(MailboxCopy.message_pk).where(
            MailboxCopy.mailbox_id == box.id, MailboxCopy.message_pk.in_(sorted(vanished)))))
        for pk in sorted(vanished - still):
            entry = await session.get(MailboxEntry, (box.user_id, pk))
            if entry is None or entry.folder not in ("trash", "purged"):
                await set_entry(session, box.user_id, pk, place=("trash", None))
                report.pulled += 1
