"""One sync of one connected mailbox: its folders mirrored, new mail filed, changes carried both ways.

For each folder (INBOX first): UIDVALIDITY is checked (changed: the folder's copies are forgotten and
its mail fetched again; dedup files each message once, so nothing is duplicated); the copies known
from before are reconciled (a \\Seen flag or a folder that changed in smartbcc since the last sync is
applied on the server, one that changed on the server is applied in smartbcc; a copy gone from the server
was moved or deleted in the user's client); then the mail past the last UID fetched (the first time,
that of the last ``first_days`` days) is fetched a few messages at a time, oldest first, and filed through
:class:`~gateway.sync.intake.Intake`. Each message's copy, its mailbox state and the folder's last UID
commit together once the message is filed: a sync cut short anywhere (server down, connection dropped,
process killed) resumes after the last message it kept, and one filed but not yet noted is found again
by dedup.

The IMAP calls block: each runs in a thread (asyncio.to_thread), so the event loop, and the SMTP
server on it, never waits for a mailbox server.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable, TypeVar

from imapclient import DELETED, SEEN, IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.senders import Authorization
from gateway.auth.verdicts import Judgement
from gateway.crm.kinds import Direction, NotificationKind
from gateway.imap import Account, ImapFailure, LoginRefused, RemoteFolder, Unreachable, close, folders, open_session
from gateway.services.errors import ServiceError
from gateway.services.notifications import notify
from gateway.services.secrets import unseal
from gateway.store.database import Database
from gateway.store.filing import Delivery
from gateway.store.models import (
    Company, ConnectedMailbox, MailboxCopy, MailboxEntry, MailboxFolder, MailFolder, Message, User, utcnow,
)
from gateway.sync.intake import Intake

log = logging.getLogger("smartbcc.mailboxes")
T = TypeVar("T")
CHUNK = 10                   # messages fetched per FETCH
FLAGS_CHUNK = 500            # copies whose flags are read per FETCH
NOT_FILED = ("spam", "trash")   # mail there is kept for the mailbox, never filed on records
# what drops a session: a sync that meets one stops and resumes from its last kept message next time
DROPPED = (ImapFailure, OSError, socket.timeout, IMAPClientError, EOFError)
MADE_HERE = -1                   # the UIDVALIDITY noted for a folder smartbcc made: its first fetch takes all


@dataclass
class Report:
    mailbox_id: int
    status: str = ""
    fetched: int = 0         # messages filed (or found filed) in this sync
    pushed: int = 0          # changes applied on the server
    pulled: int = 0          # changes applied in smartbcc
    error: str = ""
    folders: list[str] = field(default_factory=list)


@dataclass
class _Box:
    """What a sync needs of its mailbox, read once."""

    id: int
    company_id: int
    user_id: int
    user_email: str
    account: Account
    first_days: int
    autofile: bool
    was_failing: bool


class _Deferred(Exception):
    """Filing answered "try later" (the database is unavailable): the sync stops and resumes later."""


async def _call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(function, *args, **kwargs)


async def _load(db: Database, mailbox_id: int) -> _Box | None:
    async with db.writing() as session, session.begin():
        row = (await session.execute(
            select(ConnectedMailbox, User.email, Company.mailbox_autofile)
            .join(User, User.id == ConnectedMailbox.user_id).join(Company, Company.id == ConnectedMailbox.company_id)
            .where(ConnectedMailbox.id == mailbox_id))).one_or_none()
        if row is None:
            return None
        box, email, autofile = row
        try:
            password = unseal(db.settings, box.secret)
        except ServiceError as error:       # the mailbox key changed: its owner connects it again
            password, box.last_error = "", str(error)
        account = Account(box.host, box.port, box.security, box.username, password, box.ca_file,
                          db.settings.mailbox_timeout)
        was_failing = box.status == "failing"
        box.sync_requested_at = None
        box.status, box.progress_done, box.progress_total = "syncing", 0, 0
        return _Box(box.id, box.company_id, box.user_id, email, account, box.first_days, bool(autofile), was_failing)


async def _finish(db: Database, box: _Box, report: Report, idle: bool | None = None) -> None:
    async with db.writing() as session, session.begin():
        row = await session.get(ConnectedMailbox, box.id)
        if row is None:
            return
        row.status, row.last_error = report.status, report.error
        if idle is not None:
            row.idle = idle
        if report.status == "ok":
            row.synced_at = utcnow()
        if report.status == "failing" and not box.was_failing:
            await notify(session, company_id=box.company_id, user_id=box.user_id, kind=NotificationKind.MAILBOX,
                         text=f"Your mailbox {box.account.username} at {box.account.host} stopped syncing: "
                              f"{report.error}. Connect it again with the right password.")


async def sync_mailbox(db: Database, intake: Intake, mailbox_id: int) -> Report:
    """Sync one mailbox now; the report says how it went (the mailbox's status says it too)."""
    report = Report(mailbox_id)
    box = await _load(db, mailbox_id)
    if box is None:
        report.status, report.error = "gone", "no such mailbox"
        return report
    if not box.account.password:
        report.status, report.error = "failing", "the password cannot be decrypted with this mailbox_key"
        await _finish(db, box, report)
        return report
    try:
        client = await _call(open_session, box.account)
    except LoginRefused as error:
        report.status, report.error = "failing", str(error)
        await _finish(db, box, report)
        return report
    except ImapFailure as error:
        report.status, report.error = "unreachable", str(error)
        await _finish(db, box, report)
        return report
    report.status = "syncing"       # what the row keeps if the sync is cancelled (resumed at the next start)
    idle: bool | None = None
    try:
        idle = bool(await _call(client.has_capability, "IDLE"))
        await _sync(db, intake, box, client, report)
        report.status = "ok"
    except _Deferred as error:
        report.status, report.error = "unreachable", str(error)
    except DROPPED as error:
        report.status, report.error = "unreachable", f"the connection to {box.account.host} failed: {error}"
    except Exception as error:
        log.exception("mailbox %d: sync failed", box.id)
        report.status, report.error = "unreachable", f"sync failed: {error!r}"
        raise
    finally:
        await _call(close, client)
        await _finish(db, box, report, idle)
    log.info("mailbox %d (%s@%s): %s, %d fetched, %d pushed, %d pulled%s", box.id, box.account.username,
             box.account.host, report.status, report.fetched, report.pushed, report.pulled,
             f" ({report.error})" if report.error else "")
    return report


async def _sync(db: Database, intake: Intake, box: _Box, client: IMAPClient, report: Report) -> None:
    remote = await _call(folders, client)
    vanished: set[int] = set()
    rows = await _mirror_folders(db, box, remote, vanished)
    report.folders = [row.name for row in rows]
    for row in rows:
        await _folder_pass(db, intake, box, client, row, rows, report, vanished)
    if vanished:
        await _settle_vanished(db, box, vanished, report)


async def _mirror_folders(db: Database, box: _Box, remote: list[RemoteFolder], vanished: set[int]
                         ) -> list[MailboxFolder]:
    """A row per server folder (new ones added, their roles kept up to date); the user's own folders
    mirrored as web mailbox folders of the same name. A folder gone from the server is forgotten, and its
    messages count as gone from it (``vanished``)."""
    async with db.writing() as session, session.begin():
        rows = {r.name: r for r in await session.scalars(
            select(MailboxFolder).where(MailboxFolder.mailbox_id == box.id))}
        own = {f.name: f for f in await session.scalars(select(MailFolder).where(MailFolder.user_id == box.user_id))}
        for folder in remote:
            row = rows.get(folder.name)
            if row is None:
                row = rows[folder.name] = MailboxFolder(mailbox_id=box.id, name=folder.name, uidvalidity=0, last_uid=0)
                session.add(row)
            row.role = folder.role
            if folder.role is None and row.folder_id is None:
                label = folder.name[:100]
                mirror = own.get(label)
                if mirror is None:
                    mirror = own[label] = MailFolder(user_id=box.user_id, name=label)
                    session.add(mirror)
                    await session.flush()
                row.folder_id = mirror.id
        await session.flush()
        listed = {folder.name for folder in remote}
        kept = [row for name, row in rows.items() if name in listed]
        gone = [row.id for name, row in rows.items() if name not in listed]
        if gone:
            vanished.update(pk for pk in await session.scalars(select(MailboxCopy.message_pk).where(
                MailboxCopy.folder_pk.in_(gone), MailboxCopy.message_pk.is_not(None))) if pk is not None)
            await session.execute(delete(MailboxCopy).where(MailboxCopy.folder_pk.in_(gone)))
            await session.execute(delete(MailboxFolder).where(MailboxFolder.id.in_(gone)))
        for row in kept:
            session.expunge(row)
    return sorted(kept, key=lambda r: (r.role != "inbox", r.name.lower()))


def _place(row: MailboxFolder) -> tuple[str, int | None]:
    """The web mailbox folder a server folder's mail is shown in."""
    if row.role is not None:
        return row.role, None
    return ("folder", row.folder_id) if row.folder_id is not None else ("inbox", None)


async def _folder_pass(db: Database, intake: Intake, box: _Box, client: IMAPClient, row: MailboxFolder,
                       rows: list[MailboxFolder], report: Report, vanished: set[int]) -> None:
    """One folder: its UIDVALIDITY, the copies known from before, the new mail.

    A folder's UIDVALIDITY is noted when a pass over it completes. Until then (a folder seen for the first
    time, or whose UIDVALIDITY changed, 0 noted) its mail is that of the last ``first_days`` days, fetched
    from the last UID kept on, so a first sync cut short resumes where it stopped; a folder smartbcc made
    itself takes all its mail. After a complete pass, the folder is read by UID: mail moved into it later
    is fetched however old it is."""
    selected = await _call(client.select_folder, row.name)
    uidvalidity = int(selected.get(b"UIDVALIDITY", 0))
    uidnext = int(selected.get(b"UIDNEXT", 0))
    whole = row.uidvalidity == MADE_HERE
    if row.uidvalidity not in (0, MADE_HERE, uidvalidity):     # its UIDs are not the ones we noted
        log.warning("mailbox %d: UIDVALIDITY of %s changed (%d -> %d); fetching it again", box.id, row.name,
                    row.uidvalidity, uidvalidity)
        async with db.writing() as session, session.begin():
            await session.execute(delete(MailboxCopy).where(MailboxCopy.folder_pk == row.id))
            await session.execute(update(MailboxFolder).where(MailboxFolder.id == row.id)
                                  .values(uidvalidity=0, last_uid=0))
        row.uidvalidity, row.last_uid = 0, 0
    window = row.uidvalidity == 0
    await _reconcile(db, box, client, row, rows, report, vanished)
    await _fetch_new(db, intake, box, client, row, report, window=window and not whole)
    done = max(row.last_uid, uidnext - 1)
    async with db.writing() as session, session.begin():
        await session.execute(update(MailboxFolder).where(MailboxFolder.id == row.id)
                              .values(uidvalidity=uidvalidity, last_uid=done))
    row.uidvalidity, row.last_uid = uidvalidity, done


# -- the copies known from before ------------------------------------------------------------------


async def _reconcile(db: Database, box: _Box, client: IMAPClient, row: MailboxFolder, rows: list[MailboxFolder],
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
        fetched = await _call(client.fetch, uids[start:start + FLAGS_CHUNK], ["FLAGS"])
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
        read, place = states[copy.message_pk]
        on_server = SEEN in flags[copy.uid]
        if read != copy.seen:                    # changed in smartbcc: applied on the server
            (add_seen if read else remove_seen).append(copy.uid)
            seen_now[copy.id] = read
        elif on_server != copy.seen:             # changed in the user's client: applied here
            pulled[copy.message_pk] = on_server
            seen_now[copy.id] = on_server
        if place == ("purged", None):
            expunge.append(copy.uid)
            forget.append(copy.id)
        elif place != _place(row):               # moved in smartbcc: moved on the server
            moves.setdefault(await _target(db, client, box, place, rows), []).append(copy.uid)
            forget.append(copy.id)
    if add_seen:
        await _call(client.add_flags, add_seen, [SEEN])
    if remove_seen:
        await _call(client.remove_flags, remove_seen, [SEEN])
    for target, moved in moves.items():
        await _call(_move, client, moved, target)
    if expunge:
        await _call(_expunge, client, expunge)
    report.pushed += len(add_seen) + len(remove_seen) + sum(map(len, moves.values())) + len(expunge)
    report.pulled += len(pulled)
    async with db.writing() as session, session.begin():
        for copy_id, seen in seen_now.items():
            await session.execute(update(MailboxCopy).where(MailboxCopy.id == copy_id).values(seen=seen))
        if forget:
            await session.execute(delete(MailboxCopy).where(MailboxCopy.id.in_(forget)))
        for message_pk, read in pulled.items():
            await _set_entry(session, box.user_id, message_pk, read=read)


async def _local_states(db: Database, box: _Box, message_pks: list[int]) -> dict[int, tuple[bool, tuple[str, int | None]]]:
    """Each message's read flag and web mailbox folder for the owner, as the mailbox shows them."""
    out: dict[int, tuple[bool, tuple[str, int | None]]] = {}
    async with db.sessions() as session:
        for start in range(0, len(message_pks), FLAGS_CHUNK):
            part = message_pks[start:start + FLAGS_CHUNK]
            result = await session.execute(
                select(Message.id, Message.direction, MailboxEntry.read, MailboxEntry.folder, MailboxEntry.folder_id)
                .outerjoin(MailboxEntry, (MailboxEntry.message_pk == Message.id) & (MailboxEntry.user_id == box.user_id))
                .where(Message.id.in_(part)))
            for pk, direction, read, folder, folder_id in result:
                outgoing = direction == Direction.OUTGOING
                default = "sent" if outgoing else "inbox"
                out[pk] = (outgoing if read is None else bool(read),
                           (folder or default, folder_id if folder == "folder" else None))
    return out


async def _target(db: Database, client: IMAPClient, box: _Box, place: tuple[str, int | None],
                  rows: list[MailboxFolder]) -> str:
    """The server folder for a web mailbox folder, made on the server (and noted here) when it has none."""
    kind, folder_id = place
    for row in rows:
        if (kind == "folder" and row.folder_id == folder_id and row.role is None) or (kind != "folder" and row.role == kind):
            return row.name
    async with db.sessions() as session:
        name = ({"inbox": "INBOX", "sent": "Sent", "spam": "Junk", "trash": "Trash"}.get(kind) or
                await session.scalar(select(MailFolder.name).where(MailFolder.id == folder_id)) or "smartbcc")
    if not await _call(client.folder_exists, name):
        await _call(client.create_folder, name)
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


async def _set_entry(session: AsyncSession, user_id: int, message_pk: int, read: bool | None = None,
                     place: tuple[str, int | None] | None = None) -> None:
    entry = await session.get(MailboxEntry, (user_id, message_pk))
    if entry is None:
        received = await session.scalar(select(Message.received_at).where(Message.id == message_pk))
        if received is None:
            return
        entry = MailboxEntry(user_id=user_id, message_pk=message_pk, read=bool(read), received_at=received)
        session.add(entry)
    if read is not None:
        entry.read = read
    if place is not None:
        entry.folder, entry.folder_id = place


async def _settle_vanished(db: Database, box: _Box, vanished: set[int], report: Report) -> None:
    """A message gone from every folder of the mailbox was deleted in the user's client: to Trash."""
    async with db.writing() as session, session.begin():
        still = set(await session.scalars(select(MailboxCopy.message_pk).where(
            MailboxCopy.mailbox_id == box.id, MailboxCopy.message_pk.in_(sorted(vanished)))))
        for pk in sorted(vanished - still):
            entry = await session.get(MailboxEntry, (box.user_id, pk))
            if entry is None or entry.folder not in ("trash", "purged"):
                await _set_entry(session, box.user_id, pk, place=("trash", None))
                report.pulled += 1


# -- new mail --------------------------------------------------------------------------------------


async def _fetch_new(db: Database, intake: Intake, box: _Box, client: IMAPClient, row: MailboxFolder,
                     report: Report, window: bool) -> None:
    criteria: list[Any] = ["UID", f"{row.last_uid + 1}:*"]
    if window:                  # the folder's first pass: the last days only
        criteria += ["SINCE", date.today() - timedelta(days=box.first_days)]
    uids = sorted(int(uid) for uid in await _call(client.search, criteria) if int(uid) > row.last_uid)
    if not uids:
        return
    await _progress(db, box.id, total=len(uids))
    for start in range(0, len(uids), CHUNK):
        part = uids[start:start + CHUNK]
        fetched = await _call(client.fetch, part, ["BODY.PEEK[]", "FLAGS"])
        for uid in part:
            data = fetched.get(uid)
            if data is None:                 # expunged meanwhile
                continue
            await _keep(db, intake, box, row, uid, data.get(b"BODY[]") or b"", SEEN in data.get(b"FLAGS", ()))
            report.fetched += 1
            row.last_uid = uid


async def _progress(db: Database, mailbox_id: int, total: int) -> None:
    async with db.writing() as session, session.begin():
        await session.execute(update(ConnectedMailbox).where(ConnectedMailbox.id == mailbox_id)
                              .values(progress_total=ConnectedMailbox.progress_total + total))


async def _keep(db: Database, intake: Intake, box: _Box, row: MailboxFolder, uid: int, raw: bytes,
                seen: bool) -> None:
    """File one fetched message, then note its copy, its state in the owner's mailbox and the folder's last
    UID together."""
    message_pk: int | None = None
    state = "filed"
    if len(raw) > intake.settings.max_message_size:
        state = "too_large"
        log.warning("mailbox %d: %s UID %d is %d bytes, over max_message_size; not filed", box.id, row.name,
                    uid, len(raw))
    else:
        parsed = await intake.parse(raw)
        delivery = Delivery(
            company_id=box.company_id, raw=raw, parsed=parsed,
            authorization=Authorization(True, box.user_id, box.user_email, "mailbox",
                                        f"synced from the connected mailbox {box.id}"),
            envelope_from="", envelope_rcpts=(), addressed=(), client_address=f"imap:{box.account.host}"[:64],
            antispoof=Judgement("accept", "mailbox", f"synced by IMAP from {box.account.host} ({row.name})"),
            sent_folder=row.role == "sent", create_records=False,
            link_records=box.autofile and row.role not in NOT_FILED, by_message_id=True)
        outcome = await intake.file(delivery)
        if outcome.stored is not None:
            message_pk = outcome.stored.message_pk
        elif outcome.quarantined is not None:
            state = "quarantined"
        else:
            raise _Deferred(f"filing is unavailable ({outcome.reply}); the sync resumes later")
    try:
        async with db.writing() as session, session.begin():
            session.add(MailboxCopy(mailbox_id=box.id, folder_pk=row.id, uid=uid, message_pk=message_pk,
                                    seen=seen, state=state))
            await session.execute(update(MailboxFolder).where(MailboxFolder.id == row.id,
                                                              MailboxFolder.last_uid < uid).values(last_uid=uid))
            await session.execute(update(ConnectedMailbox).where(ConnectedMailbox.id == box.id)
                                  .values(progress_done=ConnectedMailbox.progress_done + 1))
            if message_pk is not None:
                await _set_entry(session, box.user_id, message_pk, read=seen, place=_place(row))
    except IntegrityError:      # another sync of this mailbox noted it first
        log.info("mailbox %d: %s UID %d was noted by another sync", box.id, row.name, uid)
    await asyncio.sleep(0)       # let the SMTP side's sessions run between two messages
