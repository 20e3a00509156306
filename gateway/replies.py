"""Every SMTP reply the gateway gives, in one place.

Inner code raises :class:`Refusal` carrying one of these; only the SMTP handler turns it into text.
Texts are generic on purpose: the detail goes to the log, not to the sending server.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    code: int
    enhanced: str
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.enhanced} {self.text}"

    @property
    def is_temporary(self) -> bool:
        return 400 <= self.code < 500


SENDER_OK = Reply(250, "2.1.0", "Sender OK")
RECIPIENT_OK = Reply(250, "2.1.5", "Recipient OK")
ACCEPTED = Reply(250, "2.0.0", "Message accepted")
ADDRESS_CONFIRMED = Reply(250, "2.0.0", "Address confirmed")
BOUNCE_RECEIVED = Reply(250, "2.0.0", "Delivery report received")
MESSAGE_TOO_BIG = Reply(552, "5.3.4", "Message size exceeds fixed limit")
RELAY_DENIED = Reply(550, "5.7.1", "Relaying denied")
UNKNOWN_MAILBOX = Reply(550, "5.1.1", "No such mailbox here")
TOO_MANY_RECIPIENTS = Reply(452, "4.5.3", "Too many recipients")
OTHER_COMPANY = Reply(452, "4.5.3", "Send to this recipient in a separate transaction")
SENDER_NOT_AUTHORIZED = Reply(550, "5.7.1", "Sender not authorized for this address")
AUTHOR_UNCLEAR = Reply(550, "5.7.1", "Sender not authorized: the From header must name exactly one plain address")
NOT_AUTHENTICATED = Reply(550, "5.7.1", "Sender authentication failed (SPF, DKIM, DMARC)")
AUTHENTICATION_DEFERRED = Reply(451, "4.7.0", "Sender authentication temporarily unavailable, try again later")
BAD_ADDRESS = Reply(553, "5.1.3", "Malformed address")
TEMPORARY_FAILURE = Reply(451, "4.3.0", "Temporary failure, please try again later")
SHUTTING_DOWN = Reply(421, "4.3.2", "Service shutting down, try again later")
# protocol abuse, limits and loops (gateway.handlers.protocol, gateway.handlers.limits)
TOO_MANY_SESSIONS = Reply(421, "4.7.0", "Too many connections, try again later")
TIMEOUT = Reply(421, "4.4.2", "Timeout exceeded, closing connection")
SYNC_ERROR = Reply(554, "5.5.0", "SMTP protocol synchronization error")
BAD_CHARACTERS = Reply(501, "5.5.2", "Syntax error: invalid character in command")
SESSION_SHED = Reply(421, "4.7.0", "Server busy and this session idle, closing connection")
TOO_MANY_ERRORS = Reply(421, "4.7.0", "Too many errors, closing connection")
TOO_MANY_RSETS = Reply(421, "4.7.0", "RSET sent too many times without a transaction")
TLS_ACTIVE = Reply(503, "5.5.1", "TLS already active")
LOOP_DETECTED = Reply(550, "5.4.6", "Mail loop detected")
SENDER_RATE = Reply(451, "4.7.1", "Too much mail from this sender, try again later")
# room for the message: disk and memory (gateway.handlers.capacity), and the lines of its data
NO_STORAGE = Reply(452, "4.3.1", "Insufficient system storage")
NO_MEMORY = Reply(452, "4.3.1", "Insufficient system resources, try again later")
DATA_NO_STORAGE = Reply(451, "4.3.1", "Insufficient system storage, try again later")
DATA_NO_MEMORY = Reply(451, "4.3.1", "Insufficient system resources, try again later")
DATA_LINE_TOO_LONG = Reply(500, "5.5.2", "Line too long in the message data")
BARE_LF = Reply(500, "5.5.2", "Bare LF in the message data: lines must end with CRLF")


class Refusal(Exception):
    """Raised by inner code to answer the client with ``reply``; ``detail`` is for the log only."""

    def __init__(self, reply: Reply, detail: str = "") -> None:
        super().__init__(detail or reply.text)
        self.reply = reply
        self.detail = detail


def reason_of(status: str) -> str:
    """A short name for a reply as sent (``550 5.1.1 No such mailbox here`` -> ``unknown_mailbox``), for
    logs and metrics. Replies aiosmtpd writes itself get the name of their kind."""
    for text, name in _REASONS:
        if status.startswith(text):
            return name
    code = status[:3]
    if code == "500" and "too long" in status.lower():
        return "line_too_long"
    return {"530": "tls_required", "554": "protocol", "421": "closing"}.get(code, "protocol")


_REASONS = sorted(((str(value), name.lower()) for name, value in dict(globals()).items()
                   if isinstance(value, Reply)), key=lambda pair: -len(pair[0]))


# Enhanced codes for replies that aiosmtpd writes itself (RFC 3463, RFC 5248).
DEFAULT_ENHANCED = {
    211: "2.0.0", 214: "2.0.0", 221: "2.0.0", 235: "2.7.0", 250: "2.0.0", 251: "2.1.5", 252: "2.7.0",
    421: "4.3.2", 450: "4.2.0", 451: "4.3.0", 452: "4.3.1", 454: "4.7.0", 458: "4.4.0",
    500: "5.5.2", 501: "5.5.4", 502: "5.5.1", 503: "5.5.1", 504: "5.5.4", 530: "5.7.0",
    535: "5.7.8", 550: "5.0.0", 551: "5.1.6", 552: "5.3.4", 553: "5.1.3", 554: "5.0.0",
    555: "5.5.4",
}
