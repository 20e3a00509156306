"""GatewaySMTP's command table and address parsing behave as aiosmtpd's own: commands are wrapped (the
abuse guards) only when a session first uses them, and MAIL/RCPT paths parse exactly as upstream's.
(The same table through a socket: tests/integration/test_protocol_table_wire.py.)"""

from __future__ import annotations

import asyncio

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given, settings, strategies as st

from gateway.handlers.protocol import GatewaySMTP

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
