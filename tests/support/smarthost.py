"""A capturing smarthost for tests: a real aiosmtpd server on a loopback port that keeps what it gets."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Iterator

from aiosmtpd.controller import Controller

from tests.support.gwtest import free_port


class Capture:
    """aiosmtpd handler: every message as received (bytes and parsed) with its envelope."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.raw.append(envelope.original_content)
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 2.0.0 queued as CAPTURED"


def running_smarthost() -> Iterator[tuple[Capture, str]]:
    """Generator for a pytest fixture: yields (capture, "127.0.0.1:port")."""
    capture = Capture()
    controller = Controller(capture, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield capture, f"127.0.0.1:{controller.port}"
    finally:
        controller.stop()
