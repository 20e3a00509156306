"""Connected mailboxes, for the CLI (`smartbcc mailbox`) and the web (/settings/mailboxes): connect one
(the server reached and the credentials tried first), list them with their unread counts and sync
progress, ask the running server for a sync, disconnect. The password is kept encrypted
(gateway.services.secrets) and is in no view, log or JSON output. The syncs themselves are gateway.sync's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import host_and_port
from gateway.imap import DEFAULT_PORTS, SECURITIES, Account, ImapFailure, close, folders, open_session
from gateway.services.errors import Conflict, NotFound, ServiceError, user_by_email
from gateway.services.secrets import seal
from gateway.services.visibility import Viewer
from gateway.store.database import Database
from gateway.store.models import (
    Company, ConnectedMailbox, MailboxCopy, MailboxEntry, MailboxFolder, User, utcnow,
)


ACTIVE_EVERY = timedelta(seconds=30)     # an owner's page loads ask for a sync at most this often


@dataclass(frozen=True)
class MailboxView:
    id: int
    user: str
    host: str
    port: int
    security: str
    username: str
    status: str              # new, syncing, ok, unreachable, failing
    last_error: str
    unread: int              # unread messages in its Inbox
    progress_done: int
    progress_total: int
    idle: bool
    synced_at: datetime | None
    folders: int


def server_address(text: str, security: str) -> tuple[str, int]:
    """``HOST`` or ``HOST:PORT`` (``[v6]:PORT``); the port by default is the security's (993, 143)."""
    text = text.strip()
    if security not in SECURITIES:
        raise ServiceError(f"security is one of {', '.join(SECURITIES)}, not {security!r}")
    host, port = host_and_port(text)
    if not host or any(c.isspace() for c in host) or (port and not port.isdigit()):
        raise ServiceError(f"write the IMAP server as HOST or HOST:PORT, not {text!r}")
    number = int(port) if port else DEFAULT_PORTS[security]
    if not 0 < number < 65536:
        raise ServiceError(f"port {number} is outside 1-65535")
    return host, number


def _check_login(account: Account) -> int:
    """Sign in and list the folders (what the first sync will read); the number of folders."""
    client = open_session(account)
    try:
        return len(folders(client))
    finally:
        close(client)


async def connect(db: Database, user_email: str, server: str, username: str, password: str,
                  security: str = "tls", ca_file: str = "", first_days: int | None = None) -> MailboxView:
    """Connect a mailbox of the user, once its server is reached and the credentials work (a ServiceError
    saying which of the two failed, otherwise); its first sync then runs in the running server."""
    host, port = server_address(server, security)
    if not username or not password:
        raise ServiceError("a mailbox needs a username and a password")
    if ca_file and not Path(ca_file).is_file():
        raise ServiceError(f"no CA file at {ca_file}")
    days = db.settings.mailbox_first_days if first_days is None else first_days
    if days < 1:
        raise ServiceError("the first sync takes at least 1 day of mail")
    account = Account(host, port, security, username, password, ca_file, db.settings.mailbox_timeout)
    try:
        await asyncio.to_thread(_check_login, account)
    except ImapFailure as error:
        raise ServiceError(f"cannot connect the mailbox: {error}") from None
    try:
        async with db.writing() as session, session.begin():
            user = await user_by_email(session, user_email)
            row = ConnectedMailbox(company_id=user.company_id, user_id=user.id, host=host, port=port,
                                   security=security, username=username, secret=seal(db.settings, password),
                                   ca_file=ca_file, first_days=days, status="new", last_error="",
                                   progress_done=0, progress_total=0, idle=False, sync_requested_at=utcnow())
            session.add(row)
            await session.flush()
            ident = row.id
    except IntegrityError:
        raise Conflict(f"{user_email} has connected {username} at {host} already") from None
    return (await _views(db, ConnectedMailbox.id == ident))[0]


async def _views(db: Database, *where: ColumnElement[bool]) -> list[MailboxView]:
    async with db.sessions() as session:
        rows = (await session.execute(select(ConnectedMailbox, User.email)
                                      .join(User, User.id == ConnectedMailbox.user_id)
                                      .where(*where).order_by(ConnectedMailbox.id))).all()
        ids = [box.id for box, _ in rows]
        unread = await unread_counts(session, ids)
        counts = {int(mailbox_id): int(count) for mailbox_id, count in await session.execute(
            select(MailboxFolder.mailbox_id, func.count()).where(MailboxFolder.mailbox_id.in_(ids))
            .group_by(MailboxFolder.mailbox_id))}
    return [MailboxView(box.id, email, box.host, box.port, box.security, box.username, box.status, box.last_error,
                        unread.get(box.id, 0), box.progress_done, box.progress_total, box.idle, box.synced_at,
                        counts.get(box.id, 0)) for box, email in rows]


async def unread_counts(session: AsyncSession, mailbox_ids: list[int]) -> dict[int, int]:
    """Unread messages in each mailbox's Inbox, as its owner's web mailbox shows them."""
    if not mailbox_ids:
        return {}
    result = await session.execute(
        select(MailboxCopy.mailbox_id, func.count(func.distinct(MailboxCopy.message_pk)))
        .join(MailboxFolder, MailboxFolder.id == MailboxCopy.folder_pk)
        .join(ConnectedMailbox, ConnectedMailbox.id == MailboxCopy.mailbox_id)
        .outerjoin(MailboxEntry, (MailboxEntry.message_pk == MailboxCopy.message_pk)
                   & (MailboxEntry.user_id == ConnectedMailbox.user_id))
        .where(MailboxCopy.mailbox_id.in_(mailbox_ids), MailboxFolder.role == "inbox",
               MailboxCopy.message_pk.is_not(None), func.coalesce(MailboxEntry.read, False).is_(False))
        .group_by(MailboxCopy.mailbox_id))
    return {int(mailbox_id): int(count) for mailbox_id, count in result}


async def list_mailboxes(db: Database, user_email: str | None = None, company_slug: str | None = None
                         ) -> list[MailboxView]:
    where: list[ColumnElement[bool]] = []
    if user_email:
        async with db.sessions() as session:
            where.append(ConnectedMailbox.user_id == (await user_by_email(session, user_email)).id)
    if company_slug:
        where.append(ConnectedMailbox.company_id.in_(select(Company.id).where(Company.slug == company_slug)))
    return await _views(db, *where)


async def mine(db: Database, viewer: Viewer) -> list[MailboxView]:
    return await _views(db, ConnectedMailbox.user_id == viewer.user_id)


async def _own(session: AsyncSession, viewer: Viewer | None, mailbox_id: int) -> ConnectedMailbox:
    """The mailbox, when the viewer (None: an admin at the CLI) may act on it; NotFound otherwise."""
    row = await session.get(ConnectedMailbox, mailbox_id)
    if row is None or (viewer is not None and row.user_id != viewer.user_id):
        raise NotFound(f"no mailbox with id {mailbox_id}")
    return row


async def request_sync(db: Database, mailbox_id: int, viewer: Viewer | None = None) -> None:
    """Ask the running server (`smartbcc serve`) to sync the mailbox now."""
    async with db.writing() as session, session.begin():
        (await _own(session, viewer, mailbox_id)).sync_requested_at = utcnow()


async def owner_active(db: Database, viewer: Viewer) -> None:
    """The owner opened their web mailbox: sync their mailboxes now, and every few minutes while active
    (at most one request per ACTIVE_EVERY, however often the page is loaded)."""
    now = utcnow()
    async with db.writing() as session, session.begin():
        await session.execute(update(ConnectedMailbox).where(
            ConnectedMailbox.user_id == viewer.user_id,
            or_(ConnectedMailbox.owner_active_at.is_(None), ConnectedMailbox.owner_active_at < now - ACTIVE_EVERY))
            .values(owner_active_at=now, sync_requested_at=now))


async def disconnect(db: Database, mailbox_id: int, viewer: Viewer | None = None) -> MailboxView:
    """Forget the mailbox (its password with it); the messages it brought stay in smartbcc."""
    view = (await _views(db, ConnectedMailbox.id == mailbox_id))
    async with db.writing() as session, session.begin():
        row = await _own(session, viewer, mailbox_id)
        await session.delete(row)
    return view[0]


async def mailbox_of(db: Database, mailbox_id: int) -> MailboxView:
    views = await _views(db, ConnectedMailbox.id == mailbox_id)
    if not views:
        raise NotFound(f"no mailbox with id {mailbox_id}")
    return views[0]


async def set_autofile(db: Database, company_slug: str, autofile: bool) -> bool:
    """The company's choice: synced mail from or to known contacts filed at once, or when saved to CRM."""
    async with db.writing() as session, session.begin():
        company = await session.scalar(select(Company).where(Company.slug == company_slug.strip().lower()))
        if company is None:
            raise NotFound(f"no company with slug {company_slug!r} (see `smartbcc company list`)")
        company.mailbox_autofile = autofile
        return autofile
