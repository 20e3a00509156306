"""GatewaySMTP's command table and address parsing behave as aiosmtpd's own: commands are wrapped (the
abuse guards) only when a session first uses them, and MAIL/RCPT paths parse exactly as upstream's."""

from __future__ import annotations

import asyncio
import threading

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given, settings, strategies as st

from gateway.handlers.protocol import GatewaySMTP
from tests.support.rawsmtp import Raw

PATHS = ["", "<>", "<ada@acme.example>", "<ada@acme.example> SIZE=10000 BODY=8BITMIME", "ada@acme.example",
         " <ada@acme.example>", "<ada@acme.example", "<@relay.example:ada@acme.example>", "<\"a b\"@acme.example>",
         "<" + "x" * 64 + "@acme.example>", "<" + "x" * 65 + "@acme.example>", "x" * 65 + "@acme.example",
         "foo bar", "<a@b> <c@d>", "<ada@[127.0.0.1]>", "<ada@acme.example>SIZE=1", "<ünï@acme.example>"]


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _parse(session, arg):
    try:
        return session._getaddr(arg)
    except Exception as error:      # the stdlib's parser fails on some input: the same way for both
        return type(error)


def _sessions(loop):
    class Handler:
        pass
    return SMTP(Handler(), hostname="t", loop=loop), GatewaySMTP(Handler(), hostname="t", loop=loop)


@pytest.mark.parametrize("arg", PATHS)
def test_paths_parse_as_aiosmtpd_parses_them(loop, arg) -> None:
    upstream, ours = _sessions(loop)
    assert _parse(ours, arg) == _parse(upstream, arg)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>@.:,\"\\ []ab1=\u00e9()")), max_size=30))
def test_any_path_parses_as_aiosmtpd_parses_it(loop, arg) -> None:
    upstream, ours = _sessions(loop)
    assert _parse(ours, arg) == _parse(upstream, arg)


def test_commands_are_wrapped_when_first_used_and_keep_their_help(loop) -> None:
    upstream, ours = _sessions(loop)
    assert set(ours._smtp_methods) == set(upstream._smtp_methods)
    mail = ours._smtp_methods.get("MAIL")
    assert mail is ours._smtp_methods.get("MAIL")                  # wrapped once
    assert mail.__wrapped__ == upstream._smtp_methods["MAIL"].__func__.__get__(ours)
    assert mail.__smtp_syntax__ == "MAIL FROM: <address>"          # what HELP MAIL prints
    assert ours._smtp_methods.get("NOSUCH") is None
    assert ours._smtp_methods.get("NOSUCH", 0) == 0


@pytest.fixture(scope="module")
def server():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    class Accept:
        async def handle_DATA(self, server, session, envelope) -> str:
            return "250 2.0.0 kept"

    async def listen():
        return await loop.create_server(lambda: GatewaySMTP(Accept(), hostname="commands.test", loop=loop),
                                        host="127.0.0.1", port=0)
    listening = asyncio.run_coroutine_threadsafe(listen(), loop).result(10)
    yield listening.sockets[0].getsockname()[1]
    listening.close()
    asyncio.run_coroutine_threadsafe(listening.wait_closed(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_help_and_the_guards_work_through_the_table(server) -> None:
    client = Raw("127.0.0.1", server)
    try:
        _help_and_guards(client)
    finally:
        client.sock.close()


def _help_and_guards(client: Raw) -> None:
    assert client.ehlo()[0] == 250
    code, text = client.cmd("HELP MAIL")
    assert code == 250 and "Syntax: MAIL FROM: <address>" in text
    code, text = client.cmd("HELP")
    assert code == 250 and {"MAIL", "RCPT", "DATA", "QUIT"} <= set(text.split(": ", 1)[1].split())
    assert client.cmd("MAIL FROM:<ada@acme.example")[0] == 553        # the unbalanced-path guard
    assert client.cmd("MAIL FROM:<ada\x01@acme.example>")[0] == 501   # the control-character guard
    assert client.cmd("MAIL FROM:<ada@acme.example>")[0] == 250
    assert client.cmd("NOOP")[0] == 250
    assert client.cmd("QUIT")[0] == 221


class _Probe(GatewaySMTP):
    """Notes the stream's limit whenever data arrives inside DATA."""

    limits_in_data: list[int] = []

    def data_received(self, data: bytes) -> None:
        if self._in_data:
            self.limits_in_data.append(self._reader._limit)
        super().data_received(data)


def test_in_data_the_stream_reads_on_and_the_line_limit_is_back_for_the_commands_after() -> None:
    """Inside DATA the stream holds up to DATA_CHUNK before it pauses the socket (with aiosmtpd's line
    limit it paused after every read); the hook, and the commands after DATA, have the line limit."""
    from gateway.handlers.protocol import DATA_CHUNK

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    seen: dict[str, object] = {}

    class Keep:
        async def handle_DATA(self, server, session, envelope) -> str:
            seen["limit"], seen["content"] = server._reader._limit, envelope.original_content
            return "250 2.0.0 kept"

    async def listen():
        return await loop.create_server(lambda: _Probe(Keep(), hostname="limits.test", loop=loop),
                                        host="127.0.0.1", port=0)
    listening = asyncio.run_coroutine_threadsafe(listen(), loop).result(10)
    client = Raw("127.0.0.1", listening.sockets[0].getsockname()[1])
    try:
        content = b"Subject: big\r\n\r\n" + b"".join(b"line %06d of the message\r\n" % n for n in range(40_000))
        assert client.ehlo()[0] == 250
        assert client.cmd("MAIL FROM:<ada@acme.example>")[0] == 250
        assert client.cmd("RCPT TO:<acme@bcc.example.net>")[0] == 250
        assert client.data(content)[0] == 250
        assert seen == {"limit": GatewaySMTP.line_length_limit, "content": content}
        assert _Probe.limits_in_data and set(_Probe.limits_in_data) == {DATA_CHUNK}
        code, _ = client.cmd("NOOP " + "x" * 3000)      # longer than the line limit: refused as before
        assert code == 500
        assert client.cmd("QUIT")[0] == 221
    finally:
        client.sock.close()
        listening.close()
        asyncio.run_coroutine_threadsafe(listening.wait_closed(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
