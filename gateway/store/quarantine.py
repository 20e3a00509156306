"""Accepted messages that could not be filed: kept raw and listed (what the SMTP side needs).

The SMTP handler answers 250 only for what is durably kept. When filing an accepted message fails for
a reason of its own (gateway.store.faults: not a database outage), :func:`keep` writes the raw bytes,
the envelope and the reason in one small transaction. A sender that retries a message kept here (same
content hash, envelope and company) adds no entry: the waiting one counts the arrival. Replay and
discard are the admin's, in gateway.services.quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.store.database import Database
from gateway.store.filing import Delivery, clean_text
from gateway.store.models import Company, QuarantinedMessage

# the anti-spoofing verdict given on arrival, kept as the reason's last lines (a replay reads it back)
VERDICT, VERDICT_REASON = "anti-spoofing verdict: ", "anti-spoofing reason: "


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


async def keep(db: Database, delivery: Delivery, reason: str) -> int:
    """Write an accepted message that could not be filed, in its own transaction; returns its id.

    When the same message (content hash, envelope, company) waits here already, that entry counts one
    more arrival instead: a sender retrying it does not pile up entries."""
    envelope_from = clean_text(delivery.envelope_from, 320)
    envelope_rcpts = [clean_text(r, 320) for r in delivery.envelope_rcpts]
    content_hash = delivery.parsed.content_hash
    lines = [clean_text(reason)]
    if delivery.antispoof is not None:
        lines += [VERDICT + delivery.antispoof.verdict, VERDICT_REASON + clean_text(delivery.antispoof.reason)]
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
