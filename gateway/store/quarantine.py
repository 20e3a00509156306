"""Accepted messages that could not be filed: kept raw, listed, and replayed by an admin.

The SMTP handler answers 250 only for what is durably kept. When filing an accepted message fails for
a reason of its own (gateway.store.faults: not a database outage), :func:`keep` writes the raw bytes,
the envelope and the reason in one small transaction; ``smartbcc quarantine replay ID`` later runs
the live filing road again (parse -> authorize -> store_message) and marks the entry replayed.
Replaying twice, or a message that meanwhile arrived again, stores nothing twice: store_message dedups.
A sender that retries a message kept here (same content hash, envelope and company) adds no entry: the
waiting one counts the arrival. ``smartbcc quarantine discard ID`` deletes an entry for good.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.auth.author import header_author
from gateway.auth.verdicts import Judgement
from gateway.mail.parsing import parse_message
from gateway.store.database import Database
from gateway.store.filing import Delivery, clean_text, store_message
from gateway.store.lookup import addressed_records, authorize_sender
from gateway.store.models import Company, QuarantinedMessage, utcnow

_VERDICT, _VERDICT_REASON = "anti-spoofing verdict: ", "anti-spoofing reason: "


class QuarantineError(Exception):
    """A quarantine entry that cannot be shown or replayed; the message says why."""


@dataclass(frozen=True)
class QuarantineEntry:
    id: int
    status: str               # waiting / replayed
    company: str              # the company's slug ("" when none was established)
    envelope_from: str
    envelope_rcpts: list[str]
    client_address: str
    size: int
    reason: str
    attempts: int
    arrivals: int             # times the sender delivered it
    received_at: datetime
    replayed_at: datetime | None
    replayed_message_pk: int | None


@dataclass(frozen=True)
class Replayed:
    entry_id: int
    message_pk: int
    created: bool             # False: the message was stored already (it arrived again meanwhile)
    links_added: int


async def keep(db: Database, delivery: Delivery, reason: str) -> int:
    """Write an accepted message that could not be filed, in its own transaction; returns its id.

    When the same message (content hash, envelope, company) waits here already, that entry counts one
    more arrival instead: a sender retrying it does not pile up entries."""
    envelope_from = clean_text(delivery.envelope_from, 320)
    envelope_rcpts = [clean_text(r, 320) for r in delivery.envelope_rcpts]
    content_hash = delivery.parsed.content_hash
    lines = [clean_text(reason)]
    if delivery.antispoof is not None:
        lines += [_VERDICT + delivery.antispoof.verdict, _VERDICT_REASON + clean_text(delivery.antispoof.reason)]
    entry = QuarantinedMessage(
        company_id=delivery.company_id, owner_user_id=delivery.authorization.user_id,
        envelope_from=envelope_from, envelope_rcpts=envelope_rcpts, content_hash=content_hash,
        client_address=clean_text(delivery.client_address, 64), raw=delivery.raw,
        reason="\n".join(lines))

    def write(session: Session) -> int:
        same = session.scalars(
            select(QuarantinedMessage)
            .where(QuarantinedMessage.content_hash == content_hash, QuarantinedMessage.status == "waiting",
                   QuarantinedMessage.envelope_from == envelope_from,
                   QuarantinedMessage.company_id == delivery.company_id if delivery.company_id is not None
                   else QuarantinedMessage.company_id.is_(None))
            .order_by(QuarantinedMessage.id).with_for_update()).all()
        for earlier in same:
            if list(earlier.envelope_rcpts or []) == envelope_rcpts:
                earlier.arrivals += 1
                return earlier.id
        session.add(entry)
        session.flush()
        return entry.id
    return await db.writer.run(write)


async def list_entries(db: Database, include_replayed: bool = False) -> list[QuarantineEntry]:
    """Waiting entries (or all), oldest first; the raw bytes are not loaded."""
    query = (select(QuarantinedMessage.id, QuarantinedMessage.status, Company.slug,
                    QuarantinedMessage.envelope_from, QuarantinedMessage.envelope_rcpts,
                    QuarantinedMessage.client_address, func.length(QuarantinedMessage.raw).label("size"),
                    QuarantinedMessage.reason, QuarantinedMessage.attempts, QuarantinedMessage.arrivals,
                    QuarantinedMessage.received_at,
                    QuarantinedMessage.replayed_at, QuarantinedMessage.replayed_message_pk)
             .outerjoin(Company, Company.id == QuarantinedMessage.company_id)
             .order_by(QuarantinedMessage.id))
    if not include_replayed:
        query = query.where(QuarantinedMessage.status == "waiting")
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    return [QuarantineEntry(row.id, row.status, row.slug or "", row.envelope_from, list(row.envelope_rcpts or []),
                            row.client_address, row.size or 0, row.reason, row.attempts, row.arrivals, row.received_at,
                            row.replayed_at, row.replayed_message_pk) for row in rows]


async def discard(db: Database, entry_id: int) -> None:
    """Delete entry ``entry_id`` and its raw bytes for good; QuarantineError when there is none."""
    async with db.sessions() as session, session.begin():
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
    verdict = next((line[len(_VERDICT):] for line in lines if line.startswith(_VERDICT)), None)
    if verdict is None:
        return None
    why = next((line[len(_VERDICT_REASON):] for line in lines if line.startswith(_VERDICT_REASON)), "")
    return Judgement("accept", verdict, f"{why} (judged when received)")


async def _note_attempt(db: Database, entry_id: int, message_pk: int | None, failure: str) -> None:
    async with db.sessions() as session, session.begin():
        entry = await session.get(QuarantinedMessage, entry_id, with_for_update=True)
        if entry is None:
            return
        entry.attempts += 1
        if message_pk is not None:
            entry.status, entry.replayed_message_pk, entry.replayed_at = "replayed", message_pk, utcnow()
        else:
            entry.reason = f"{entry.reason}\n{utcnow():%Y-%m-%d %H:%M:%S} {clean_text(failure, 2000)}"
