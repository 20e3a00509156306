"""Limits against the real server: sessions overall and per client, idle and DATA timeouts, clients
that stall or drop mid-DATA, command budgets, mail loops and the per-sender rate bound."""

from __future__ import annotations

import time

import pytest

from tests.support.gwtest import ThreadedGateway, messages, seed
from tests.support.rawsmtp import COMPANY, USER, Raw, message, wait_for
from tests.support.replies import assert_reply


def _run(settings, **changes):
    settings = settings.replace(**changes)
    seed(settings)
    return ThreadedGateway(settings)


def test_sessions_per_client_address_are_bounded(sqlite_settings):
    with _run(sqlite_settings, max_sessions_per_client=2) as gateway:
        first, second = Raw(gateway.host, gateway.port), Raw(gateway.host, gateway.port)
        assert first.greeting[0] == second.greeting[0] == 220
        third = Raw(gateway.host, gateway.port)
        assert third.greeting[0] == 421 and third.greeting[1].startswith("4.7.0")
        assert third.closed()
        other = Raw(gateway.host, gateway.port, source="127.0.0.2")      # another client is welcome
        assert other.greeting[0] == 220
        first.cmd("QUIT")
        first.close()

        def admitted():
            with Raw(gateway.host, gateway.port) as attempt:
                return attempt.greeting[0] == 220
        assert wait_for(admitted, timeout=5)      # a closed session frees its place
        for client in (second, third, other):
            client.close()


def test_sessions_overall_are_bounded(sqlite_settings):
    with _run(sqlite_settings, max_sessions=3) as gateway:
        clients = [Raw(gateway.host, gateway.port, source=f"127.0.0.{n}") for n in (1, 2, 3)]
        assert [c.greeting[0] for c in clients] == [220, 220, 220]
        refused = Raw(gateway.host, gateway.port, source="127.0.0.4")
        assert refused.greeting[0] == 421 and refused.closed()
        assert clients[0].ehlo()[0] == 250            # the admitted sessions are unaffected
        for client in [*clients, refused]:
            client.close()


def test_idle_client_gets_421_and_is_disconnected(sqlite_settings):
    with _run(sqlite_settings, idle_timeout=0.5) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        started = time.monotonic()
        code, text = smtp.reply()
        assert_reply((code, text), "421 4.4.2")
        assert smtp.closed() and time.monotonic() - started < 3


def test_client_stalling_in_data_is_cut_off_and_nothing_is_stored(sqlite_settings):
    with _run(sqlite_settings, idle_timeout=30, data_timeout=0.5) as gateway:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.cmd("DATA")[0] == 354
            smtp.send(message()[:200])                 # then silence
            code, text = smtp.reply()
            assert_reply((code, text), "421 4.4.2")
            assert smtp.closed()
        with Raw(gateway.host, gateway.port) as smtp:  # the server itself carries on
            smtp.envelope()
            assert smtp.data(message(subject="after the stall"))[0] == 250
    assert [m.subject for m in messages(sqlite_settings)] == ["after the stall"]


def test_slow_but_steady_data_is_not_a_stall(sqlite_settings):
    with _run(sqlite_settings, data_timeout=0.3) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        assert smtp.cmd("DATA")[0] == 354
        lines = message(subject="slowly").split(b"\r\n")
        for line in lines[:-1]:
            smtp.send(line + b"\r\n")
            time.sleep(0.1)                            # longer in total than data_timeout, never silent
        smtp.send(b".\r\n")
        assert smtp.reply()[0] == 250
    assert [m.subject for m in messages(sqlite_settings)] == ["slowly"]


def test_client_dropping_mid_data_stores_nothing(settings):
    with _run(settings) as gateway:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.cmd("DATA")[0] == 354
            smtp.send(message(subject="half")[:300])
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.data(message(subject="whole"))[0] == 250
    assert [m.subject for m in messages(settings)] == ["whole"]


def test_client_dropping_right_after_the_final_dot_leaves_one_whole_message_or_none(settings):
    raw = message(subject="dropped after the dot")
    with _run(settings) as gateway:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.cmd("DATA")[0] == 354
            smtp.send(raw + b".\r\n")                   # and hang up without waiting for the reply
        time.sleep(0.3)
        assert [m.raw for m in messages(settings)] in ([], [raw])   # no reply: the sender will retry
        with Raw(gateway.host, gateway.port) as smtp:   # its retry: 250, and one message
            smtp.envelope()
            assert smtp.data(raw)[0] == 250
    [stored] = messages(settings)
    assert stored.raw == raw


def test_chatty_commands_have_a_budget(sqlite_settings):
    with _run(sqlite_settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        replies = [smtp.cmd("NOOP") for _ in range(51)]
        assert [c for c, _ in replies] == [250] * 50 + [421]
        assert replies[-1][1].startswith("4.7.0") and smtp.closed()


def test_unknown_commands_end_the_session(sqlite_settings):
    with _run(sqlite_settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        codes = [smtp.cmd(f"XYZZY{n}")[0] for n in range(5)]
        assert codes == [500, 500, 500, 500, 502] and smtp.closed()


@pytest.mark.parametrize("build, detail", [
    (lambda: message(sender="acme@bcc.example.net"), "header From is the gateway's own address"),
    (lambda: b"".join(b"Received: from hop%d.example by hop%d.example; Mon, 6 Jan 2025 10:15:00 +0100\r\n"
                      % (n, n + 1) for n in range(51)) + message(), "51 hops"),
])
def test_mail_loops_are_refused_with_5_4_6(sqlite_settings, build, detail):
    with _run(sqlite_settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        code, text = smtp.data(build())
        assert (code, text[:5]) == (550, "5.4.6"), detail
    assert messages(sqlite_settings) == []


def test_a_sender_beyond_its_hourly_bound_is_deferred(sqlite_settings):
    with _run(sqlite_settings, sender_hourly_limit=3) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        codes = []
        for n in range(4):
            smtp.cmd(f"MAIL FROM:<{USER}>")
            smtp.cmd(f"RCPT TO:<{COMPANY}>")
            codes.append(smtp.data(message(subject=f"burst {n}")))
        assert [c for c, _ in codes] == [250, 250, 250, 451] and codes[-1][1].startswith("4.7.1")
    assert len(messages(sqlite_settings)) == 3


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"Precedence": "bulk", "X-Autoreply": "yes"},       # a responder that also says bulk is still a responder
], ids=["auto-replied", "x-autoreply"])
def test_repeated_auto_replies_are_a_loop(sqlite_settings, headers):
    with _run(sqlite_settings, auto_hourly_limit=2) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        codes = []
        for n in range(3):
            smtp.cmd(f"MAIL FROM:<{USER}>")
            smtp.cmd(f"RCPT TO:<{COMPANY}>")
            codes.append(smtp.data(message(subject=f"Out of office {n}", headers=headers)))
        smtp.cmd(f"MAIL FROM:<{USER}>")
        smtp.cmd(f"RCPT TO:<{COMPANY}>")
        codes.append(smtp.data(message(subject="written by a person")))   # the person still gets through
        assert [c for c, _ in codes] == [250, 250, 550, 250] and codes[2][1].startswith("5.4.6")


@pytest.mark.parametrize("headers", [
    {"Precedence": "bulk"},                                        # a mail merge from a CRM or a mailing tool
    {"List-Id": "<spring-offers.acme.example>", "Precedence": "list"},
    {"Auto-Submitted": "auto-generated"},                          # RFC 3834: made by a program, answers nothing
], ids=["precedence-bulk", "list-id", "auto-generated"])
def test_a_users_bulk_mail_is_never_refused_as_a_loop(sqlite_settings, headers):
    """Past the automatic bound, a user's own mass mail is filed (then deferred at the sender bound),
    never refused: their server would bounce the copy back to them."""
    with _run(sqlite_settings, auto_hourly_limit=2, sender_hourly_limit=4) as gateway, \
            Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        replies = []
        for n in range(5):
            smtp.cmd(f"MAIL FROM:<{USER}>")
            smtp.cmd(f"RCPT TO:<{COMPANY}>")
            replies.append(smtp.data(message(subject=f"Spring offer {n}", headers=headers)))
        assert [c for c, _ in replies] == [250, 250, 250, 250, 451], replies
        assert replies[-1][1].startswith("4.7.1")
    assert len(messages(sqlite_settings)) == 4
