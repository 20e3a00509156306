"""The canary: every aiosmtpd internal gateway.handlers.protocol relies on, named in one place.

GatewaySMTP subclasses aiosmtpd's SMTP and reaches past its public face: private attributes it reads or
sets, private methods it overrides or calls, and the order in which aiosmtpd calls them. None of that is
aiosmtpd's promise. Each test below names one such reliance and checks that it is still there with the
shape protocol.py uses; after an aiosmtpd upgrade, a failure here says which one moved (and the rest of
the suite need not be read to find out). Keep the list complete: a new private name used in protocol.py
belongs here (the last test greps for them).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import re
from pathlib import Path

import pytest
from aiosmtpd import smtp as aiosmtpd_smtp
from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, syntax

from gateway.handlers import protocol

# the private names of aiosmtpd's SMTP (and of the asyncio streams it keeps) that protocol.py uses
RELIED_ON = {
    "_reader", "_reader._buffer", "_reader._limit", "_writer", "_smtp_methods", "_handle_hooks",
    "_call_handler_hook", "_set_post_data_state", "_set_rset_state", "_create_session", "_timeout_cb",
    "_reset_timeout", "_timeout_handle", "_timeout_duration", "_original_transport", "_tls_protocol",
    "_decode_data", "_getaddr",
}
# smtp_DATA is replaced whole (GatewaySMTP._receive_data, _read_data, _hand_over keep its checks, replies
# and envelope): when aiosmtpd changes it, compare the two and then update this digest
SMTP_DATA_DIGEST = "3a33f30d3fd6d02f39c7d78a08288bffea9170525b62e2161568041ae7e018df"   # aiosmtpd 1.4.6


class _Handler:
    pass


@pytest.fixture
def upstream():
    loop = asyncio.new_event_loop()
    try:
        yield SMTP(_Handler(), hostname="canary.test", loop=loop, timeout=7.5, decode_data=False)
    finally:
        loop.close()


def _source(function: object) -> str:
    return inspect.getsource(function)     # type: ignore[arg-type]


def test_instance_attributes_protocol_reads_and_sets(upstream) -> None:
    assert isinstance(upstream._handle_hooks, dict)               # "DATA" in self._handle_hooks
    assert isinstance(upstream._smtp_methods, dict)               # wrapped by _Commands
    assert set(upstream._smtp_methods) >= {"MAIL", "RCPT", "DATA", "RSET", "QUIT", "HELO", "EHLO", "NOOP"}
    assert upstream._timeout_handle is None                       # cancelled and replaced by _reset_timeout
    assert upstream._timeout_duration == 7.5                      # the idle timeout, from ``timeout``
    assert upstream._original_transport is None                   # set by STARTTLS: "first connection_made?"
    assert upstream._tls_protocol is None                         # set by STARTTLS: "TLS already active?"
    assert upstream._decode_data is False                         # the DATA hook gets str or bytes
    assert upstream.session is None and upstream.envelope is None     # both made by connection_made
    for name in ("data_size_limit", "enable_SMTPUTF8", "local_part_limit", "line_length_limit", "loop"):
        assert hasattr(upstream, name), name


def test_the_streams_are_kept_as_reader_and_writer_with_a_buffer_and_a_limit() -> None:
    """aiosmtpd keeps the connection's streams as ``_reader``/``_writer`` (``_cb_client_connected``);
    protocol.py reads the stream's ``_buffer`` (pipelining before 354, commands after the final dot) and
    raises its ``_limit`` inside DATA."""
    assert list(inspect.signature(SMTP._cb_client_connected).parameters) == ["self", "reader", "writer"]
    source = _source(SMTP._cb_client_connected)
    assert "self._reader = reader" in source and "self._writer = writer" in source
    loop = asyncio.new_event_loop()
    try:
        reader = asyncio.StreamReader(limit=123, loop=loop)
        assert reader._limit == 123                                     # type: ignore[attr-defined]
        assert isinstance(reader._buffer, bytearray)                    # type: ignore[attr-defined]
        reader.feed_data(b"NOOP\r\n")
        reader._buffer[:0] = memoryview(b"RSET\r\n")                     # type: ignore[attr-defined]
        assert bytes(reader._buffer) == b"RSET\r\nNOOP\r\n"             # type: ignore[attr-defined]
    finally:
        loop.close()
    assert callable(asyncio.StreamWriter.close)


def test_methods_protocol_overrides_or_calls_keep_their_signatures() -> None:
    expected = {
        "_call_handler_hook": ["self", "command", "args"],
        "_set_post_data_state": ["self"],
        "_set_rset_state": ["self"],
        "_create_session": ["self"],
        "_timeout_cb": ["self"],
        "_reset_timeout": ["self", "duration"],
        "_getaddr": ["self", "arg"],
        "check_helo_needed": ["self", "helo"],
        "check_auth_needed": ["self", "caller_method"],
        "connection_made": ["self", "transport"],
        "connection_lost": ["self", "error"],
        "data_received": ["self", "data"],
        "push": ["self", "status"],
        "smtp_HELO": ["self", "hostname"],
        "smtp_EHLO": ["self", "hostname"],
        "smtp_STARTTLS": ["self", "arg"],
        "smtp_DATA": ["self", "arg"],
    }
    for name, parameters in expected.items():
        assert list(inspect.signature(getattr(SMTP, name)).parameters) == parameters, name
    for name in ("_call_handler_hook", "check_helo_needed", "check_auth_needed", "push", "smtp_HELO",
                 "smtp_EHLO", "smtp_STARTTLS", "smtp_DATA"):
        assert inspect.iscoroutinefunction(getattr(SMTP, name)), name
    assert not inspect.iscoroutinefunction(SMTP._getaddr)


def test_the_calls_aiosmtpd_makes_that_protocol_depends_on() -> None:
    # every command is looked up with .get on _smtp_methods (GatewaySMTP wraps them lazily in _Commands.get)
    assert "self._smtp_methods.get(command)" in _source(SMTP._handle_client)
    # a hook is called as hook(server, session, envelope, *args), from _handle_hooks
    hook_call = _source(SMTP._call_handler_hook)
    assert "self._handle_hooks.get(command)" in hook_call
    assert "hook(self, self.session, self.envelope, *args)" in hook_call
    # connection_made (also after STARTTLS) resets the state, and so ends a transaction, before it makes the
    # new session: the transaction lives on the session
    made = _source(SMTP.connection_made)
    assert made.index("self._set_rset_state()") < made.index("self.session = self._create_session()")
    # the timer calls _timeout_cb, and connection_lost cancels _timeout_handle
    assert "self._timeout_cb" in _source(SMTP._reset_timeout)
    assert "self._timeout_handle.cancel()" in _source(SMTP.connection_lost)
    # after DATA the envelope is replaced without an RSET: a transaction that ends at DATA is not "abandoned"
    assert "_set_rset_state" not in _source(SMTP._set_post_data_state)
    assert "self._set_post_data_state()" in _source(SMTP._set_rset_state)
    # RSET, HELO and EHLO go through _set_rset_state (a transaction under way ends there)
    for name in ("smtp_RSET", "smtp_HELO", "smtp_EHLO"):
        assert "self._set_rset_state()" in _source(getattr(SMTP, name)), name
    # MAIL and RCPT parse their paths with _getaddr (GatewaySMTP's own, without a class per call)
    for name in ("smtp_MAIL", "smtp_RCPT"):
        assert "self._getaddr(arg)" in _source(getattr(SMTP, name)), name
    # STARTTLS sets the two attributes protocol.py tests
    starttls = _source(SMTP.smtp_STARTTLS)
    assert "self._tls_protocol = " in starttls and "self._original_transport = " in starttls


def test_session_envelope_and_the_public_helpers() -> None:
    loop = asyncio.new_event_loop()
    try:
        session = protocol.GatewaySession(loop)
    finally:
        loop.close()
    assert isinstance(session, Session) and session.transaction is None
    assert (session.peer, session.ssl, session.host_name) == (None, None, None)
    envelope = Envelope()
    for name in ("mail_from", "mail_options", "rcpt_tos", "rcpt_options", "content", "original_content"):
        assert hasattr(envelope, name), name
    assert MISSING is aiosmtpd_smtp.MISSING

    @syntax("X arg")
    async def smtp_X(arg: str) -> None: ...
    assert smtp_X.__smtp_syntax__ == "X arg"      # type: ignore[attr-defined]   # HELP reads it (kept by wraps)


def test_smtp_data_is_the_one_protocol_py_mirrors() -> None:
    """GatewaySMTP replaces smtp_DATA whole; this is the aiosmtpd 1.4.6 text it mirrors."""
    digest = hashlib.sha256(_source(SMTP.smtp_DATA).encode()).hexdigest()
    assert digest == SMTP_DATA_DIGEST, (
        "aiosmtpd's smtp_DATA changed: compare it with GatewaySMTP._receive_data/_read_data/_hand_over, "
        "then update SMTP_DATA_DIGEST")


def test_the_list_names_every_private_aiosmtpd_name_protocol_uses() -> None:
    """Every private ``self._name`` protocol.py uses that aiosmtpd's SMTP also uses is checked here; and
    every name checked here is still one of aiosmtpd's."""
    ours = Path(protocol.__file__).read_text(encoding="utf-8")
    theirs = Path(aiosmtpd_smtp.__file__).read_text(encoding="utf-8")
    used = set(re.findall(r"\bself\.(_[a-z][a-z_]*(?:\._[a-z][a-z_]*)?)", ours))
    upstream = {name for name in used if re.search(rf"\bself\.{name.split('.')[0]}\b", theirs)}
    assert upstream <= RELIED_ON, f"aiosmtpd internals protocol.py uses, not checked here: {sorted(upstream - RELIED_ON)}"
    for name in RELIED_ON:
        assert re.search(rf"\bself\.{name.split('.')[0]}\b", theirs), f"{name} is no longer aiosmtpd's"
        assert f"self.{name}" in ours or f"def {name}" in ours, f"{name}: protocol.py no longer uses it"


# SMTP.__init__ is run once per server and copied for the next connections (gateway.handlers.prototype):
# when aiosmtpd changes it, check that the prototype still copies all it sets, then update this digest
SMTP_INIT_DIGEST = "8a9ca80f23ad9bf273e58e284170e9f919dc6269b280ca0624ac0603a8ad3604"   # aiosmtpd 1.4.6


def test_smtp_init_is_the_one_the_prototype_copies() -> None:
    digest = hashlib.sha256(_source(SMTP.__init__).encode()).hexdigest()
    assert digest == SMTP_INIT_DIGEST, (
        "aiosmtpd's SMTP.__init__ changed: check gateway.handlers.prototype, then update SMTP_INIT_DIGEST")


def test_a_connection_made_from_the_prototype_is_the_one_aiosmtpd_makes() -> None:
    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            return responses

        async def auth_PLAIN2(self, server, args):
            return None

    loop = asyncio.new_event_loop()
    try:
        handler = Handler()
        options = dict(hostname="canary.test", loop=loop, timeout=7.5, command_call_limit={"*": 9, "NOOP": 2},
                       enable_SMTPUTF8=True, data_size_limit=1234)
        first = protocol.GatewaySMTP(handler, **options)       # aiosmtpd's own __init__: the prototype
        second = protocol.GatewaySMTP(handler, **options)      # made from it
        reference = SMTP(handler, **options)
        assert set(vars(second)) == set(vars(first))
        assert set(vars(reference)) <= set(vars(second))
        streams = {"_stream_reader_wr", "_strong_reader", "_closed", "_drain_waiters", "_client_connected_cb",
                   "_smtp_methods", "_handle_hooks", "_auth_methods"}
        for name, value in vars(reference).items():
            if name not in streams:
                assert getattr(second, name) == value, name
        assert second._strong_reader is not first._strong_reader          # type: ignore[attr-defined]
        assert second._strong_reader._limit == reference._strong_reader._limit   # type: ignore[attr-defined]
        assert second._client_connected_cb == second._cb_client_connected  # type: ignore[attr-defined]
        assert second._handle_hooks == {"DATA": handler.handle_DATA, "EHLO": handler.handle_EHLO}
        assert second._ehlo_hook_ver == "new"
        assert {name: (a.method, a.is_builtin) for name, a in second._auth_methods.items()} == {
            "LOGIN": (second.auth_LOGIN, True), "PLAIN": (second.auth_PLAIN, True),
            "PLAIN2": (handler.auth_PLAIN2, False)}
        assert set(second._smtp_methods) == set(reference._smtp_methods)
        assert second._smtp_methods.get("NOOP").__wrapped__ == second.smtp_NOOP   # bound to the new connection
        assert second._smtp_methods.get("DATA").__wrapped__ == second.smtp_DATA
        # another handler, or other options (a reloaded certificate): aiosmtpd's own __init__ again
        other = protocol.GatewaySMTP(Handler(), **{**options, "timeout": 9})
        assert other._timeout_duration == 9 and other.event_handler is not handler
    finally:
        loop.close()
