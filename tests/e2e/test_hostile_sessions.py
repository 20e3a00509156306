"""Sessions that hold on, probe or loop, against the real server in raw bytes.

Tricklers in DATA and between commands are cut off by deadlines they cannot stretch; when the server is
full, the session that does least gives way to a real sender; error replies cost time and end in a
hang-up, and a refused second company sounds the same whether it exists or not; STARTTLS inside TLS is
503; a relay reusing one connection for many transactions is never hung up on for its RSETs.
"""

from __future__ import annotations

import select
import time

from tests.support.gwtest import ThreadedGateway, make_certificate, messages, seed
from tests.support.rawsmtp import COMPANY, USER, Raw, message

OTHER_COMPANY_REPLY = b"452 4.5.3 Send to this recipient in a separate transaction"


def _run(settings, **changes):
    settings = settings.replace(**changes)
    seed(settings)
    return ThreadedGateway(settings)


def _trickle(smtp: Raw, piece: bytes, every: float, within: float) -> tuple[tuple[int, str] | None, float]:
    """Send ``piece`` every ``every`` seconds until the server answers or ``within`` seconds pass;
    returns the reply (None if none came) and how long the trickle lasted."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            smtp.send(piece)
        except (BrokenPipeError, ConnectionResetError):
            break
        if select.select([smtp.sock], [], [], every)[0]:
            break
    if not select.select([smtp.sock], [], [], 0.5)[0]:
        return None, time.monotonic() - started
    return smtp.reply(), time.monotonic() - started


# -- 2. deadlines a trickle cannot stretch ----------------------------------------------------------------

def test_data_slower_than_the_minimum_rate_is_cut_off_though_never_silent(sqlite_settings):
    body = message(subject="trickled") * 20
    with _run(sqlite_settings, data_timeout=30, data_rate_grace=0.3, data_min_rate=500) as gateway:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.cmd("DATA")[0] == 354
            reply, lasted = _trickle(smtp, body[:5], every=0.05, within=4)     # 100 bytes/s, never silent
            assert reply is not None and (reply[0], reply[1][:5]) == (421, "4.4.2")
            assert smtp.closed() and lasted < 4
        with Raw(gateway.host, gateway.port) as smtp:       # a sender at a real rate still gets in
            smtp.envelope()
            assert smtp.data(message(subject="at speed"))[0] == 250
    assert [m.subject for m in messages(sqlite_settings)] == ["at speed"]


def test_the_whole_data_phase_has_a_deadline_however_fast(sqlite_settings):
    with _run(sqlite_settings, data_max_time=0.5, max_message_size=10_000_000) as gateway:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.cmd("DATA")[0] == 354
            reply, lasted = _trickle(smtp, b"x" * 78 + b"\r\n", every=0.01, within=4)   # 8 KB/s: above the rate
            assert reply is not None and (reply[0], reply[1][:5]) == (421, "4.4.2")
            assert smtp.closed() and lasted < 4
    assert messages(sqlite_settings) == []


def test_a_session_cannot_outlive_its_age_bound_by_chatting(sqlite_settings):
    with _run(sqlite_settings, max_session_time=0.5) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        replies = []
        started = time.monotonic()
        while time.monotonic() - started < 4:
            code, text = smtp.cmd("NOOP")          # never idle, and under the NOOP budget for the whole bound
            replies.append((code, text))
            if code != 250:
                break
            time.sleep(0.05)
        assert (replies[-1][0], replies[-1][1][:5]) == (421, "4.4.2")
        assert smtp.closed()


def test_a_full_server_sheds_the_idlest_session_for_a_real_sender(sqlite_settings):
    with _run(sqlite_settings, max_sessions=3, busy_idle_timeout=0.3) as gateway:
        tricklers = [Raw(gateway.host, gateway.port, source=f"127.0.0.{n}") for n in (1, 2, 3)]
        for trickler in tricklers:
            assert trickler.greeting[0] == 220
            trickler.ehlo()
        time.sleep(0.5)                          # none of them has done anything for busy_idle_timeout
        assert tricklers[0].cmd("NOOP")[0] == 250      # chatting is no progress
        with Raw(gateway.host, gateway.port, source="127.0.0.9") as sender:
            assert sender.greeting[0] == 220
            sender.envelope()
            assert sender.data(message(subject="got in"))[0] == 250
        shed = [t for t in tricklers if select.select([t.sock], [], [], 0)[0]]
        assert len(shed) == 1
        code, text = shed[0].reply()
        assert (code, text[:5]) == (421, "4.7.0") and shed[0].closed()
        for trickler in tricklers:
            trickler.close()
    assert [m.subject for m in messages(sqlite_settings)] == ["got in"]


def test_a_full_server_of_senders_making_progress_refuses_the_newcomer(sqlite_settings):
    with _run(sqlite_settings, max_sessions=2, busy_idle_timeout=30) as gateway:
        busy = [Raw(gateway.host, gateway.port, source=f"127.0.0.{n}") for n in (1, 2)]
        for sender in busy:
            sender.envelope()
        with Raw(gateway.host, gateway.port, source="127.0.0.3") as late:
            assert late.greeting[0] == 421 and late.closed()
        for sender in busy:                      # nobody was shed for it
            assert sender.data(message())[0] == 250
            sender.close()


# -- 5. STARTTLS inside TLS ------------------------------------------------------------------------------

def test_starttls_inside_tls_is_503_and_the_session_goes_on(sqlite_settings, tmp_path):
    cert, key = make_certificate(tmp_path, "bcc.example.net")
    with _run(sqlite_settings, tls_cert_file=str(cert), tls_key_file=str(key)) as gateway:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.ehlo()
            assert smtp.cmd("STARTTLS")[0] == 220
            smtp.starttls()
            smtp.ehlo()
            smtp.send(b"STARTTLS\r\n")
            assert smtp.line() == b"503 5.5.1 TLS already active"
            smtp.envelope()
            assert smtp.data(message(subject="still over TLS"))[0] == 250
    assert [m.subject for m in messages(sqlite_settings)] == ["still over TLS"]


# -- 7. probers are slowed down and learn nothing of other companies ----------------------------------------

def test_errors_beyond_the_soft_limit_wait_and_the_hard_limit_hangs_up(sqlite_settings):
    with _run(sqlite_settings, error_sleep_time=0.3, soft_error_limit=2, hard_error_limit=4) as gateway:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.ehlo()
            assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
            for n in range(2):
                assert smtp.cmd(f"RCPT TO:<nobody{n}@bcc.example.net>")[0] == 550
            started = time.monotonic()
            for n in range(2, 4):
                assert smtp.cmd(f"RCPT TO:<nobody{n}@bcc.example.net>")[0] == 550
            assert time.monotonic() - started >= 0.6             # each of those two waited
            code, text = smtp.cmd(f"RCPT TO:<{COMPANY}>")
            assert (code, text[:5]) == (421, "4.7.0") and smtp.closed()
        with Raw(gateway.host, gateway.port) as smtp:           # reconnecting does not make it fast again
            smtp.ehlo()
            assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
            started = time.monotonic()
            assert smtp.cmd("RCPT TO:<nobody@bcc.example.net>")[0] == 550
            assert time.monotonic() - started >= 0.3
            assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 250
            assert smtp.data(message(subject="delivered"))[0] == 250    # delivering mail clears the count
            assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
            assert [smtp.cmd(f"RCPT TO:<x{n}@bcc.example.net>")[0] for n in range(4)] == [550] * 4
            assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 421


def test_a_second_company_sounds_the_same_whether_it_exists_or_not(sqlite_settings):
    with _run(sqlite_settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
        assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 250
        answers = {}
        for rcpt in ("globex@bcc.example.net", "nosuchcompany@bcc.example.net",
                     "globex+deal-1-aaaaaaaa@bcc.example.net", "nosuchcompany+deal-1-aaaaaaaa@bcc.example.net"):
            smtp.send(f"RCPT TO:<{rcpt}>\r\n".encode())
            answers[rcpt] = smtp.line()
        assert set(answers.values()) == {OTHER_COMPANY_REPLY}, answers
        assert smtp.cmd("RSET")[0] == 250
        assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250              # alone, the real answers
        assert smtp.cmd("RCPT TO:<nosuchcompany@bcc.example.net>")[0] == 550
        assert smtp.cmd("RCPT TO:<globex@bcc.example.net>")[0] == 250


# -- 13. RSET counts per transaction ------------------------------------------------------------------------

def test_a_relay_reusing_its_connection_is_never_hung_up_on_but_an_rset_loop_is(sqlite_settings):
    with _run(sqlite_settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        for n in range(60):                       # a Postfix relay: MAIL, RCPT, DATA, RSET, again and again
            assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
            assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 250
            assert smtp.data(message(subject=f"relayed {n}"))[0] == 250
            assert smtp.cmd("RSET")[0] == 250
        # with no transaction between, the last RSET above and 49 more make 50; the 51st is a loop
        replies = [smtp.cmd("RSET") for _ in range(50)]
        assert [c for c, _ in replies] == [250] * 49 + [421]
        assert replies[-1][1].startswith("4.7.0") and smtp.closed()
    assert len(messages(sqlite_settings)) == 60
