"""Bounces of mail sent from a record: the envelope sender each message leaves with, and what came back.

Every message sent from a record leaves with an envelope sender of its own, ``<slug>+bounce-<token>@
<mail_domain>`` (VERP): the token names the message, so a delivery report (RFC 3464) that comes back to
it is filed on that message without guessing from its text. The SMTP server accepts mail to a current
token only (:func:`gateway.store.lookup.resolve_recipient`); :func:`file_bounce` keeps the report whole,
marks the message bounced when the report says delivery failed, and tells the sender (a notification)
and the company's webhooks (``bounce.recorded``), in one transaction before the 250.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.kinds import NOUNS, NotificationKind
from gateway.mail.dsn import Report, read_reports
from gateway.services.notifications import notify
from gateway.store import outbox
from gateway.store.database import Database
from gateway.store.models import Bounce, Message, OutboundMail, utcnow

TOKEN_BYTES = 15        # 24 base32 characters: [a-z2-7], as the routing table's bounce rule reads them


def new_token() -> str:
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii").lower()


def bounce_address(slug: str, token: str, mail_domain: str) -> str:
    """The envelope sender of one sent message."""
    return f"{slug}+bounce-{token}@{mail_domain}"


@dataclass(frozen=True)
class BounceView:
    """One report that came back for a sent message."""

    id: int
    received_at: datetime
    recipient: str
    action: str
    status: str
    diagnostic: str

    @property
    def failed(self) -> bool:
        return Report(self.recipient, self.action, self.status, self.diagnostic).failed


@dataclass(frozen=True)
class BounceFiled:
    outbound_id: int
    message_pk: int | None
    bounce_ids: tuple[int, ...]
    failed: bool


async def file_bounce(db: Database, outbound_id: int, raw: bytes, envelope_from: str) -> BounceFiled:
    """Keep a report that came back to a sent message's envelope sender, and tell its sender when it
    says the message was not delivered. One transaction: all of it, or nothing (and a 451)."""
    reports = read_reports(raw)
    async with db.writing() as session, session.begin():
        sent = await session.get_one(OutboundMail, outbound_id)
        rows = [Bounce(company_id=sent.company_id, outbound_id=sent.id, envelope_from=envelope_from[:320],
                       action=r.action, status=r.status, recipient=r.recipient[:320], diagnostic=r.diagnostic,
                       raw=raw if n == 0 else b"", received_at=utcnow()) for n, r in enumerate(reports)]
        session.add_all(rows)
        await session.flush()
        failed = [r for r in reports if r.failed]
        if failed:
            subject = ""
            if sent.message_pk is not None:
                subject = await session.scalar(select(Message.subject).where(Message.id == sent.message_pk)) or ""
            who = ", ".join(f"{r.recipient or 'a recipient'} ({r.status or 'no status'})" for r in failed)
            await notify(session, company_id=sent.company_id, user_id=sent.user_id, kind=NotificationKind.BOUNCE,
                         text=f"Your mail \"{subject}\" from {NOUNS.get(sent.record_kind, sent.record_kind)} "
                              f"{sent.record_id} was not delivered to {who}: {failed[0].diagnostic}",
                         message_pk=sent.message_pk, record_kind=sent.record_kind, record_id=sent.record_id)
            event = {"bounce": {"ids": [row.id for row in rows], "outbound_id": sent.id, "message_pk": sent.message_pk,
                                "record": {"kind": sent.record_kind, "id": sent.record_id}, "user_id": sent.user_id,
                                "reports": [{"recipient": r.recipient, "action": r.action, "status": r.status,
                                             "diagnostic": r.diagnostic} for r in failed]}}
            await session.run_sync(outbox.enqueue, sent.company_id, [(outbox.BOUNCE_RECORDED, event)])
        return BounceFiled(sent.id, sent.message_pk, tuple(row.id for row in rows), bool(failed))


async def bounces_of(session: AsyncSession, message_pk: int) -> tuple[BounceView, ...]:
    """The reports that came back for a message sent from a record, oldest first."""
    rows = await session.execute(
        select(Bounce.id, Bounce.received_at, Bounce.recipient, Bounce.action, Bounce.status, Bounce.diagnostic)
        .join(OutboundMail, Bounce.outbound_id == OutboundMail.id)
        .where(OutboundMail.message_pk == message_pk).order_by(Bounce.id))
    return tuple(BounceView(*row) for row in rows)


def delivery_status(bounces: tuple[BounceView, ...]) -> str:
    """"bounced" once a report says delivery failed; "" otherwise (sent, or nothing to say)."""
    return "bounced" if any(b.failed for b in bounces) else ""
