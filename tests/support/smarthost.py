"""A capturing smarthost for tests: a real aiosmtpd server on a loopback port that keeps what it gets."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Iterator

from aiosmtpd.controller import Controller

from tests.support.gwtest import free_port


class Capture:
    """aiosmtpd handler: every message as received (bytes and parsed) with its envelope; ``address`` is
    where it listens ("127.0.0.1:port"), the value of the ``smarthost`` setting that sends to it."""

    def __init__(self) -> None:
        self.address = ""
        self.raw: list[bytes] = []
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused: set[str] = set()          # recipients answered 550 at RCPT

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address.lower() in self.refused:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.raw.append(envelope.original_content)
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 2.0.0 queued as CAPTURED"


def running_smarthost() -> Iterator[Capture]:
    """Generator for a pytest fixture (tests/conftest.py's ``smarthost``): yields the listening capture."""
    capture = Capture()
    controller = Controller(capture, hostname="127.0.0.1", port=free_port())
    controller.start()
    capture.address = f"127.0.0.1:{controller.port}"
    try:
        yield capture
    finally:
        controller.stop()
