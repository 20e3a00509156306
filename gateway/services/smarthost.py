"""Outbound mail through the configured smarthost, with aiosmtplib.

The gateway sends little mail of its own (alternate-address confirmations, mail sent from a record),
always through a smarthost that ops configure (host, port, STARTTLS, login). A missing or failing
smarthost raises :class:`OutboundError` with a message that says what to fix; nothing is ever reported
as sent that the smarthost did not accept.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from gateway.config import Settings

DEFAULT_PORT = 587
TIMEOUT = 30


class OutboundError(RuntimeError):
    """The message was not handed to the smarthost; the text says why and what to check."""


def smarthost_address(settings: Settings) -> tuple[str, int]:
    if not settings.smarthost:
        raise OutboundError(
            "no smarthost is configured for outbound mail: set SMARTBCC_SMARTHOST=host[:port] "
            "(or smarthost in the config file)")
    host, sep, port = settings.smarthost.rpartition(":")
    if not sep or "]" in port:
        return settings.smarthost.strip("[]"), DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise OutboundError(f"smarthost {settings.smarthost!r}: the port must be a number from 1 to 65535")
    return host.strip("[]"), int(port)


async def send(settings: Settings, message: EmailMessage, sender: str | None = None) -> str:
    """Hand ``message`` to the smarthost, to its To, Cc and Bcc (a Bcc header never goes on the wire), from
    the envelope sender ``sender`` (default: the gateway's ``sender_address``); returns the smarthost's
    reply to DATA (e.g. ``250 2.0.0 queued as X``)."""
    host, port = smarthost_address(settings)
    if message["From"] is None:
        message["From"] = settings.sender_address
    try:
        errors, reply = await aiosmtplib.send(
            message, hostname=host, port=port, timeout=TIMEOUT,
            start_tls=settings.smarthost_starttls if port != 465 else False,
            use_tls=port == 465,
            username=settings.smarthost_username or None,
            password=settings.smarthost_password or None,
            sender=sender or settings.sender_address,
        )
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPConnectTimeoutError, OSError) as error:
        raise OutboundError(f"cannot reach smarthost {host}:{port}: {error}") from None
    except aiosmtplib.SMTPException as error:
        raise OutboundError(f"smarthost {host}:{port} did not take the message: {error}") from None
    if errors:
        refused = ", ".join(f"{rcpt} ({code} {text})" for rcpt, (code, text) in errors.items())
        raise OutboundError(f"smarthost {host}:{port} refused {refused}")
    return reply
