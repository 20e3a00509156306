"""Replaying and discarding quarantined messages: the admin's side of gateway.store.quarantine.

``smartbcc quarantine replay ID`` runs the live filing road again (parse -> authorize -> store_message,
through the same gateway.store.lookup functions as the DATA hook) and marks the entry replayed.
Replaying twice, or a message that meanwhile arrived again, stores nothing twice: store_message dedups.
``smartbcc quarantine discard ID`` deletes an entry for good. ``list_entries`` is the store's own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway.auth.author import header_author
from gateway.auth.verdicts import Judgement
from gateway.mail.parsing import parse_message
from gateway.store.database import Database
from gateway.store.filing import Delivery, clean_text, store_message
from gateway.store.lookup import addressed_records, authorize_sender
from gateway.store.models import QuarantinedMessage, utcnow
from gateway.store.quarantine import VERDICT, VERDICT_REASON, QuarantineEntry, list_entries

__all__ = ["QuarantineEntry", "QuarantineError", "Replayed", "discard", "list_entries", "replay"]


class QuarantineError(Exception):
    """A quarantine entry that cannot be shown or replayed; the message says why."""


@dataclass(frozen=True)
class Replayed:
    entry_id: int
    message_pk: int
    created: bool             # False: the message was stored already (it arrived again meanwhile)
    links_added: int


async def discard(db: Database, entry_id: int) -> None:
    """Delete entry ``entry_id`` and its raw bytes for good; QuarantineError when there is none."""
    async with db.writing() as session, session.begin():
        entry = await session.get(QuarantinedMessage, entry_id, with_for_update=True)
        if entry is None:
            raise QuarantineError(f"no quarantined message {entry_id} (smartbcc quarantine list --all shows them)")
        await session.delete(entry)


async def replay(db: Database, entry_id: int) -> Replayed:
    """File a waiting entry through the live road and mark it replayed; QuarantineError says why not."""
    async with db.sessions() as session:
        entry = await session.get(QuarantinedMessage, entry_id)
    if entry is None:
        raise QuarantineError(f"no quarantined message {entry_id}")
    if entry.status == "replayed":
        raise QuarantineError(f"quarantined message {entry_id} was replayed already, as message "
                              f"{entry.replayed_message_pk}")
    if entry.company_id is None:
        raise QuarantineError(f"quarantined message {entry_id} names no company; export it and deliver it again")
    try:
        replayed = await _file_again(db, entry)
    except Exception as error:
        await _note_attempt(db, entry_id, None, f"replay failed: {error!r}")
        if isinstance(error, QuarantineError):
            raise
        raise QuarantineError(f"replay of quarantined message {entry_id} failed: {error}") from error
    await _note_attempt(db, entry_id, replayed.message_pk, "")
    return replayed


async def _file_again(db: Database, entry: QuarantinedMessage) -> Replayed:
    assert entry.company_id is not None
    parsed = await asyncio.to_thread(parse_message, entry.raw, mail_domain=db.mail_domain)
    author = await asyncio.to_thread(header_author, entry.raw, parsed.header_names.count("from"))
    verdict = await authorize_sender(db, entry.company_id, entry.envelope_from, author.address, author.problem)
    if not verdict.authorized:
        raise QuarantineError(f"quarantined message {entry.id}: the sender is not authorized now "
                              f"({verdict.reason})")
    stored = await store_message(db, Delivery(
        company_id=entry.company_id, raw=entry.raw, parsed=parsed, authorization=verdict,
        envelope_from=entry.envelope_from, envelope_rcpts=tuple(entry.envelope_rcpts or ()),
        addressed=await addressed_records(db, entry.company_id, entry.envelope_rcpts or ()),
        client_address=entry.client_address, antispoof=_judgement(entry.reason),
    ))
    return Replayed(entry.id, stored.message_pk, stored.created, stored.links_added)


def _judgement(reason: str) -> Judgement | None:
    """The anti-spoofing verdict given when the message was accepted (kept in the reason's last lines)."""
    lines = reason.splitlines()
    verdict = next((line[len(VERDICT):] for line in lines if line.startswith(VERDICT)), None)
    if verdict is None:
        return None
    why = next((line[len(VERDICT_REASON):] for line in lines if line.startswith(VERDICT_REASON)), "")
    return Judgement("accept", verdict, f"{why} (judged when received)")


async def _note_attempt(db: Database, entry_id: int, message_pk: int | None, failure: str) -> None:
    async with db.writing() as session, session.begin():
        entry = await session.get(QuarantinedMessage, entry_id, with_for_update=True)
        if entry is None:
            return
        entry.attempts += 1
        if message_pk is not None:
            entry.status, entry.replayed_message_pk, entry.replayed_at = "replayed", message_pk, utcnow()
        else:
            entry.reason = f"{entry.reason}\n{utcnow():%Y-%m-%d %H:%M:%S} {clean_text(failure, 2000)}"
