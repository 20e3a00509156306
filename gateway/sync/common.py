"""What the parts of a sync share: the mailbox as a sync sees it (:class:`Box`), its :class:`Report`, the
web mailbox folder a server folder's mail shows in, and the owner's state of a message."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from imapclient.exceptions import IMAPClientError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.imap import Account, ImapFailure
from gateway.store.models import MailboxEntry, MailboxFolder, Message

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
    """How one sync went; its status is also the mailbox's (new, syncing, ok, unreachable, failing)."""

    mailbox_id: int
    status: str = ""
    fetched: int = 0         # messages filed (or found filed) in this sync
    pushed: int = 0          # changes applied on the server
    pulled: int = 0          # changes applied in smartbcc
    error: str = ""
    folders: list[str] = field(default_factory=list)


@dataclass
class Box:
    """What a sync needs of its mailbox, read once."""

    id: int
    company_id: int
    user_id: int
    user_email: str
    account: Account
    first_days: int
    autofile: bool
    was_failing: bool


class Deferred(Exception):
    """Filing answered "try later" (the database is unavailable): the sync stops and resumes later."""


async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A blocking IMAP call, in a thread: the event loop (and the SMTP server on it) never waits for it."""
    return await asyncio.to_thread(function, *args, **kwargs)


def place(row: MailboxFolder) -> tuple[str, int | None]:
    """The web mailbox folder a server folder's mail is shown in."""
    if row.role is not None:
        return row.role, None
    return ("folder", row.folder_id) if row.folder_id is not None else ("inbox", None)


async def set_entry(session: AsyncSession, user_id: int, message_pk: int, read: bool | None = None,
                    place: tuple[str, int | None] | None = None) -> None:
    """Set the owner's read flag or folder of a message (their mailbox_entries row, made if missing)."""
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
