"""Messages as the tests send them: well-formed mail in its wire form, dot-stuffing as a client applies
it, and the byte fragments hostile input is made of."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid

from hypothesis import strategies as st

from gateway.mail.message import Mailbox, ParsedMessage

COMPANY = "acme@bcc.example.net"        # the seeded company's Bcc address (tests.support.gwtest.seed)
USER = "ada@acme.example"               # its user
DATE = "Mon, 06 Jan 2025 10:15:00 +0100"


def message(subject: str = "Quote", body: str = "Here is the quote.\n", sender: str = USER,
            to: str = "bob@customer.example", message_id: str | None = None, headers: dict | None = None, *,
            date: str = DATE, in_reply_to: str | None = None, above: Sequence[str] = ()) -> bytes:
    """A well-formed message with CRLF line ends, as it travels (no final CRLF-dot).

    ``headers`` come after the usual ones; ``above`` are "Name: value" fields put before them all, as
    relays prepend theirs; ``in_reply_to`` sets In-Reply-To and References, as a reply has them."""
    msg = EmailMessage()
    for field in above:
        name, _, value = field.partition(": ")
        msg[name] = value
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = message_id or make_msgid(domain="acme.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def stuff(content: bytes) -> bytes:
    """RFC 5321 4.5.2 transparency, as a compliant client applies it: lines are CRLF-delimited."""
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in content.split(b"\r\n"))


FRAGMENTS = st.sampled_from([b"a", b"text ", b".", b"..", b"\r", b"\n", b"\r\n", b"\x00", b"\xff", b" ", b"\t",
                             b"MAIL FROM:<evil@example.com>", b"RCPT TO:<x@bcc.example.net>", b"DATA", b"QUIT",
                             b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b".\r\n", b"\r\n.\r\n", b"\r\n..\r\n"])
"""Pieces a message body is drawn from in the framing properties: line-end variants, dots, NUL, commands."""


def parsed_message(**fields) -> ParsedMessage:
    """A ParsedMessage as the parser would give for a plain quote from Ada to Bob; ``fields`` override it,
    for the pure decisions that take parsed mail (routing.links)."""
    base = dict(
        message_id="<m1@acme.example>", message_id_generated=False, content_hash="0" * 64, size=100,
        subject="Quote", date=None, from_=(Mailbox("ada@acme.example", "Ada"),), sender=None,
        to=(Mailbox("bob@customer.example", "Bob"),), cc=(), reply_to=(), in_reply_to=(), references=(),
        text_body="hi", html_body="",
    )
    base.update(fields)
    return ParsedMessage(**base)
