"""GatewaySMTP's command table through a socket (the protocol class alone on a loopback port, a stub
handler, no database): HELP and the abuse guards answer as the table says, and inside DATA the stream
reads on in large chunks while the commands after DATA have the line limit back."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.handlers.protocol import GatewaySMTP
from tests.support.protocol import serving
from tests.support.rawsmtp import Raw
from tests.support.replies import assert_reply


class Accept:
    async def handle_DATA(self, server, session, envelope) -> str:
        return "250 2.0.0 kept"


@pytest.fixture(scope="module")
def server():
    with serving(lambda loop: GatewaySMTP(Accept(), hostname="commands.test", loop=loop)) as port:
        yield port


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
    assert_reply(client.cmd("MAIL FROM:<ada@acme.example"), "553")          # the unbalanced-path guard
    assert_reply(client.cmd("MAIL FROM:<ada\x01@acme.example>"), "501")     # the control-character guard
    assert_reply(client.cmd("MAIL FROM:<ada@acme.example>"), "250")
    assert_reply(client.cmd("NOOP"), "250 2.0.0 OK")
    assert_reply(client.cmd("QUIT"), "221")


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

    seen: dict[str, object] = {}

    class Keep:
        async def handle_DATA(self, server, session, envelope) -> str:
            seen["limit"], seen["content"] = server._reader._limit, envelope.original_content
            return "250 2.0.0 kept"

    with serving(lambda loop: _Probe(Keep(), hostname="limits.test", loop=loop)) as port, \
            Raw("127.0.0.1", port) as client:
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


def test_one_transaction_record_on_the_session_from_mail_to_the_journal() -> None:
    """MAIL opens one typed Transaction on the session the hooks receive; the hooks and the protocol note
    what they learn on it (a large message's spool file too), the journal gets that same record at the
    end, and nothing of ours is set on aiosmtpd's envelope."""
    from aiosmtpd.smtp import Envelope

    from gateway.handlers.journal import Journal, Peer
    from gateway.handlers.transaction import Transaction

    seen: list[tuple[str, object]] = []
    ended: list[tuple[Transaction, str, str | None]] = []
    upstream = set(vars(Envelope()))

    class Hooks:
        async def handle_MAIL(self, server, session, envelope, address, options) -> str:
            seen.append(("MAIL", session.transaction))
            session.transaction.envelope_from = address
            envelope.mail_from = address
            return "250 2.1.0 OK"

        async def handle_RCPT(self, server, session, envelope, address, options) -> str:
            seen.append(("RCPT", session.transaction))
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

        async def handle_DATA(self, server, session, envelope) -> str:
            txn = session.transaction
            seen.append(("DATA", txn))
            seen.append(("spooled", txn.spool is not None and Path(txn.spool).read_bytes() == envelope.original_content))
            seen.append(("envelope", set(vars(envelope)) - upstream))
            txn.kept = "filed"
            return "250 2.0.0 kept"

    class Keep(Journal):
        def end(self, peer: Peer, record: Transaction, stage: str, status: str | None) -> None:
            ended.append((record, stage, status))

    with serving(lambda loop: GatewaySMTP(Hooks(), hostname="txn.test", loop=loop, journal=Keep())) as port, \
            Raw("127.0.0.1", port) as client:
        assert client.ehlo()[0] == 250
        for lines in (2, 16_000):              # in memory, then spooled (1.3 MB)
            content = b"Subject: x\r\n\r\n" + (b"y" * 78 + b"\r\n") * lines
            assert client.cmd("MAIL FROM:<ada@acme.example>")[0] == 250
            assert client.cmd("RCPT TO:<acme@bcc.example.net>")[0] == 250
            assert client.data(content)[0] == 250
        assert client.cmd("QUIT")[0] == 221
    assert [name for name, _ in seen] == ["MAIL", "RCPT", "DATA", "spooled", "envelope"] * 2
    first, second = seen[0][1], seen[5][1]
    assert isinstance(first, Transaction) and first is not second
    assert all(txn is first for name, txn in seen[:3]) and all(txn is second for name, txn in seen[5:8])
    assert [value for name, value in seen if name == "spooled"] == [False, True]
    assert [value for name, value in seen if name == "envelope"] == [set(), set()]
    assert [(record, stage, status) for record, stage, status in ended] == [
        (first, "DATA", "250 2.0.0 kept"), (second, "DATA", "250 2.0.0 kept")]
    assert (first.sender, first.recipients, first.kept, first.envelope_from) == (
        "ada@acme.example", ["acme@bcc.example.net"], "filed", "ada@acme.example")
