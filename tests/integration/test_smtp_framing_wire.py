"""SMTP DATA framing as a property (hypothesis), through a socket: whatever bytes a message holds (bare CR,
bare LF, dots, NUL, smuggled commands), a client that stuffs dots as RFC 5321 asks gets exactly one
transaction whose content is exactly its message. The real protocol class on a loopback port, with a
handler that only records what DATA delivered (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from gateway.handlers.protocol import GatewaySMTP
from tests.support.messages import FRAGMENTS, stuff
from tests.support.protocol import serving
from tests.support.rawsmtp import Raw


class Recorder:
    def __init__(self) -> None:
        self.contents: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.contents.append(envelope.original_content)
        return "250 2.0.0 recorded"


@pytest.fixture(scope="module")
def server():
    recorder = Recorder()
    with serving(lambda loop: GatewaySMTP(recorder, hostname="framing.test", enable_SMTPUTF8=True,
                                          loop=loop)) as port:
        yield recorder, port


@settings(max_examples=120, deadline=None)
@given(st.lists(FRAGMENTS, max_size=40).map(b"".join))
def test_one_data_is_one_message_whatever_it_holds(server, body):
    recorder, port = server
    content = body if body.endswith(b"\r\n") else body + b"\r\n"
    before = len(recorder.contents)
    with Raw("127.0.0.1", port) as smtp:
        smtp.ehlo()
        assert smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250
        assert smtp.cmd("RCPT TO:<acme@bcc.example.net>")[0] == 250
        assert smtp.cmd("DATA")[0] == 354
        smtp.send(stuff(content) + b".\r\n")
        assert smtp.reply() == (250, "2.0.0 recorded")
        assert smtp.cmd("NOOP") == (250, "2.0.0 OK")           # no reply was owed to anything smuggled
        assert smtp.cmd("QUIT")[0] == 221
    assert recorder.contents[before:] == [content]
