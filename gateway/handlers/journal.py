"""One log line and one count per SMTP transaction, however it ends.

A transaction starts with an accepted MAIL and ends with the final reply to DATA, or earlier: RSET, a
new HELO/EHLO, STARTTLS, QUIT, a dropped connection or a timeout (abandoned), or a MAIL the gateway
refuses. :class:`GatewaySMTP` (gateway.handlers.protocol) hands the transaction's one record
(gateway.handlers.transaction.Transaction) here at the end: what the dialogue showed, and what the hooks
learned (company, Message-ID, how the message was kept, the reason for a refusal).

The line goes to the logger ``smartbcc.transaction`` in logfmt (``key=value``, values quoted when they
hold spaces, quotes or ``=``), so it reads as text and parses with any log shipper::

    session=3f9a1c0e2b7d client=203.0.113.9 helo=mail.example.com tls=yes sender=ann@example.com
    recipients=bcc@acme.bcc.example outcome=accepted stage=DATA code=250 status=2.0.0 kept=filed company=acme message_id=<CA+x@mail.example.com> message=812 size=5123 reply_ms=14.2 ms=61.0
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Iterable, Protocol

from gateway.handlers.transaction import Transaction
from gateway.replies import reason_of

log = logging.getLogger("smartbcc.transaction")

_PLAIN_VALUE = re.compile(r"^[^\s\"='\\\x00-\x1f\x7f]+$")
_PATH = re.compile(r"<([^>]*)>")
MAX_VALUE = 300          # a value longer than this is cut (and says so)


@dataclass(frozen=True)
class Peer:
    """Who the session is: for the line's first fields."""

    session: str
    client: str
    helo: str
    tls: bool


def path_of(argument: str) -> str:
    """``TO:<a@b> NOTIFY=NEVER`` -> ``a@b``: the address a MAIL or RCPT argument names."""
    match = _PATH.search(argument)
    return match[1] if match else argument.partition(":")[2].strip() or argument


def outcome_of(status: str | None) -> str:
    if not status:
        return "abandoned"
    return {"2": "accepted", "4": "deferred"}.get(status[:1], "refused")


def logfmt(fields: Iterable[tuple[str, Any]]) -> str:
    """``[("a", 1), ("b", "x y")]`` -> ``a=1 b="x y"``; None values are left out."""
    parts = []
    for key, value in fields:
        if value is None:
            continue
        text = "yes" if value is True else "no" if value is False else str(value)
        if len(text) > MAX_VALUE:
            text = text[:MAX_VALUE] + "..."
        if not _PLAIN_VALUE.match(text):
            text = '"' + (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                          .replace("\r", "\\r").replace("\t", "\\t")) + '"'
            text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", lambda m: f"\\x{ord(m[0]):02x}", text)
        parts.append(f"{key}={text}")
    return " ".join(parts)


class Counts(Protocol):
    """Where the journal counts outcomes: gateway.ops.metrics.Metrics, which the server wires in (the
    process's metrics sit above the SMTP edge, so the edge names only what it calls)."""

    recipients_refused: Any      # a prometheus Counter labelled (code, reason)

    def transaction_ended(self, outcome: str, stage: str, code: int | None, reason: str, kept: str,
                          size: int, reply_seconds: float | None) -> None: ...


class Journal:
    """Ends transactions: writes the line and counts the outcome (``metrics`` None: the line only)."""

    def __init__(self, metrics: Counts | None = None) -> None:
        self.metrics = metrics

    def end(self, peer: Peer, record: Transaction, stage: str, status: str | None) -> None:
        """``status``: the final reply (None: the client left without one)."""
        now = time.monotonic()
        if status is None and record.refused and not record.recipients:
            stage, status = "RCPT", record.last_refusal       # nobody to deliver to: refused at RCPT
        outcome = outcome_of(status)
        code, enhanced = _codes(status)
        reason = reason_of(status) if status and outcome != "accepted" else ""
        kept = record.kept if outcome == "accepted" else ""
        reply_seconds = now - record.data_ended if record.data_ended is not None and status else None
        line = logfmt([
            ("session", peer.session), ("client", peer.client), ("helo", peer.helo or None),
            ("tls", peer.tls), ("sender", record.sender or "<>"),
            ("recipients", ",".join(record.recipients) or None),
            ("refused_recipients", ",".join(record.refused) or None),
            ("outcome", outcome), ("stage", stage), ("code", code), ("status", enhanced),
            ("reason", reason or None), ("kept", kept or None),
            ("company", record.company_slug or None),
            ("message_id", record.message_id or None),
            ("message", record.message_pk),
            ("links_added", record.links_added),
            ("contacts_created", record.contacts_created),
            ("detail", record.detail or None),
            ("size", record.size if record.data_ended is not None else None),
            ("reply_ms", None if reply_seconds is None else f"{reply_seconds * 1000:.1f}"),
            ("ms", f"{(now - record.started) * 1000:.1f}"),
        ])
        log.log(logging.WARNING if outcome == "deferred" else logging.INFO, line)
        if self.metrics is not None:
            self.metrics.transaction_ended(outcome, stage, code, reason, kept, record.size, reply_seconds)

    def recipient_refused(self, status: str) -> None:
        if self.metrics is not None:
            code, _ = _codes(status)
            self.metrics.recipients_refused.labels(str(code or ""), reason_of(status)).inc()


def _codes(status: str | None) -> tuple[int | None, str | None]:
    if not status:
        return None, None
    words = status.split(" ", 2)
    try:
        code = int(words[0][:3])
    except ValueError:
        return None, None
    enhanced = words[1] if len(words) > 1 and re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", words[1]) else None
    return code, enhanced
