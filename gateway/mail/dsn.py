"""What a bounce says: the delivery-status part of a DSN (RFC 3464), or the little a plain bounce tells.

Pure: bytes in, one :class:`Report` per recipient the report names out. A report that is not a DSN (an
old MTA's prose) still yields one report with what can be read (its subject as diagnostic), so that the
bounce is never dropped for being badly formed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

DIAGNOSTIC_LIMIT = 1000
_BOUNCE_WORDS = re.compile(r"undeliver|returned mail|delivery (status|failure|has failed)|failure notice", re.I)
_STATUS = re.compile(r"\A[245]\.\d{1,3}\.\d{1,3}\Z")


@dataclass(frozen=True)
class Report:
    """One recipient's fate, as the reporting MTA tells it."""

    recipient: str = ""         # the Final-Recipient's address
    action: str = ""            # failed, delayed, delivered, relayed, expanded ("" when not said)
    status: str = ""            # the enhanced status code, 5.1.1
    diagnostic: str = ""        # the remote server's words (Diagnostic-Code), one line

    @property
    def failed(self) -> bool:
        return self.action == "failed" or (not self.action and self.status.startswith("5"))


def _one_line(text: str) -> str:
    return " ".join(text.split())[:DIAGNOSTIC_LIMIT]


def _typed(value: str) -> str:
    """``rfc822; bob@example.com`` -> ``bob@example.com``; ``smtp; 550 ...`` -> ``550 ...``."""
    kind, sep, rest = value.partition(";")
    return _one_line(rest if sep else kind).strip("<> ")


def _fields(block: str) -> dict[str, str]:
    """One group of ``Name: value`` lines (folded lines joined), names lower-cased."""
    out: dict[str, str] = {}
    name = ""
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and name:
            out[name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            out[name] = value.strip()
    return out


def _status_text(part: Message) -> str:
    """The delivery-status part's text (its payload may parse as a list of header blocks)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n\n".join(str(block).strip() for block in payload)
    raw = part.get_payload(decode=True)
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)


def read_reports(raw: bytes) -> tuple[Report, ...]:
    """Every per-recipient report of a DSN; one guessed report for a bounce that is not one."""
    message = message_from_bytes(raw, policy=policy.compat32)
    for part in message.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            blocks = [b for b in re.split(r"\r?\n\s*\r?\n", _status_text(part).strip()) if b.strip()]
            reports = []
            for block in blocks[1:] if len(blocks) > 1 else blocks:     # the first is per message
                fields = _fields(block)
                if "final-recipient" not in fields and "action" not in fields:
                    continue
                status = fields.get("status", "").split()[0] if fields.get("status") else ""
                reports.append(Report(
                    recipient=_typed(fields.get("final-recipient", fields.get("original-recipient", ""))).lower(),
                    action=fields.get("action", "").strip().lower()[:32],
                    status=status if _STATUS.match(status) else "",
                    diagnostic=_typed(fields.get("diagnostic-code", ""))))
            if reports:
                return tuple(reports)
    subject = _one_line(str(message.get("Subject", "")))
    # prose from an old MTA counts as a failure; anything else (an out-of-office reply goes to the
    # envelope sender too) is kept, and tells nothing
    sender = str(message.get("From", "")).lower()
    looks_failed = _BOUNCE_WORDS.search(subject) or any(name in sender for name in ("mailer-daemon", "postmaster"))
    return (Report(action="failed" if looks_failed else "", diagnostic=subject or "(no subject)"),)
