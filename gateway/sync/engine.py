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

The parts: this module (a sync, its folders), gateway.sync.both_ways (the copies known from before),
gateway.sync.fetching (new mail), gateway.sync.common (what they share).

The IMAP calls block: each runs in a thread (asyncio.to_thread), so the event loop, and the SMTP
server on it, never waits for a mailbox server.
"""

from __future__ import annotations

from imapclient import IMAPClient
from sqlalchemy import delete, select, update

from gateway.crm.kinds import NotificationKind
from gateway.imap import Account, ImapFailure, LoginRefused, RemoteFolder, close, folders, open_session
from gateway.services.errors import ServiceError
from gateway.services.notifications import notify
from gateway.services.secrets import unseal
from gateway.store.database import Database
from gateway.store.models import Company, ConnectedMailbox, MailboxCopy, MailboxFolder, MailFolder, User, utcnow
from gateway.sync.both_ways import reconcile, settle_vanished
from gateway.sync.common import DROPPED, MADE_HERE, Box, Deferred, Report, call, log
from gateway.sync.fetching import fetch_new
from gateway.sync.intake import Intake

__all__ = ["Report", "sync_mailbox"]


async def _load(db: Database, mailbox_id: int) -> Box | None:
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
        return Box(box.id, box.company_id, box.user_id, email, account, box.first_days, bool(autofile), was_failing)


async def _finish(db: Database, box: Box, report: Report, idle: bool | None = None) -> None:
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
        client = await call(open_session, box.account)
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
        idle = bool(await call(client.has_capability, "IDLE"))
        await _sync(db, intake, box, client, report)
        report.status = "ok"
    except Deferred as error:
        report.status, report.error = "unreachable", str(error)
    except DROPPED as error:
        report.status, report.error = "unreachable", f"the connection to {box.account.host} failed: {error}"
    except Exception as error:
        log.exception("mailbox %d: sync failed", box.id)
        report.status, report.error = "unreachable", f"sync failed: {error!r}"
        raise
    finally:
        await call(close, client)
        await _finish(db, box, report, idle)
    log.info("mailbox %d (%s@%s): %s, %d fetched, %d pushed, %d pulled%s", box.id, box.account.username,
             box.account.host, report.status, report.fetched, report.pushed, report.pulled,
             f" ({report.error})" if report.error else "")
    return report


async def _sync(db: Database, intake: Intake, box: Box, client: IMAPClient, report: Report) -> None:
    remote = await call(folders, client)
    vanished: set[int] = set()
    rows = await _mirror_folders(db, box, remote, vanished)
    report.folders = [row.name for row in rows]
    for row in rows:
        await _folder_pass(db, intake, box, client, row, rows, report, vanished)
    if vanished:
        await settle_vanished(db, box, vanished, report)


async def _mirror_folders(db: Database, box: Box, remote: list[RemoteFolder], vanished: set[int]
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


async def _folder_pass(db: Database, intake: Intake, box: Box, client: IMAPClient, row: MailboxFolder,
                       rows: list[MailboxFolder], report: Report, vanished: set[int]) -> None:
    """One folder: its UIDVALIDITY, the copies known from before, the new mail.

    A folder's UIDVALIDITY is noted when a pass over it completes. Until then (a folder seen for the first
    time, or whose UIDVALIDITY changed, 0 noted) its mail is that of the last ``first_days`` days, fetched
    from the last UID kept on, so a first sync cut short resumes where it stopped; a folder smartbcc made
    itself takes all its mail. After a complete pass, the folder is read by UID: mail moved into it later
    is fetched however old it is."""
    selected = await call(client.select_folder, row.name)
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
    await reconcile(db, box, client, row, rows, report, vanished)
    await fetch_new(db, intake, box, client, row, report, window=window and not whole)
    done = max(row.last_uid, uidnext - 1)
    async with db.writing() as session, session.begin():
        await session.execute(update(MailboxFolder).where(MailboxFolder.id == row.id)
                              .values(uidvalidity=uidvalidity, last_uid=done))
    row.uidvalidity, row.last_uid = uidvalidity, done
