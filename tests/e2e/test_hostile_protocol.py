"""Protocol abuse against the real server, in raw bytes: every trick is answered, nothing slips through.

SMTP smuggling, pipelining before 354, STARTTLS command injection, over-long lines, floods of RCPT,
NUL and invalid UTF-8 in commands, malformed paths. Storage-sensitive tests run on both backends;
pure dialogue tests on SQLite only.
"""

from __future__ import annotations


import pytest

from tests.support.gwtest import ThreadedGateway, make_certificate, messages, seed, sqlite_only
from tests.support.rawsmtp import COMPANY, USER, Raw, message
from tests.support.replies import assert_reply

SMUGGLED = (b"MAIL FROM:<ada@acme.example>\r\nRCPT TO:<acme@bcc.example.net>\r\nDATA\r\n"
            b"From: ada@acme.example\r\nSubject: SMUGGLED\r\n\r\nsmuggled body\r\n")
# every end-of-data look-alike that some MTA once honoured; only <CR><LF>.<CR><LF> ends DATA
FAKE_ENDS = [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r", b"\n.\r", b"\r\n\x00.\r\n"]


def test_smuggled_transactions_stay_inside_the_one_message(settings):
    seed(settings)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        for number, fake_end in enumerate(FAKE_ENDS):
            assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
            assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 250
            code, text = smtp.data(message(subject=f"carrier {number}").rstrip(b"\r\n") + fake_end + SMUGGLED)
            assert (code, text[:5]) == (250, "2.0.0"), fake_end
            # the next reply answers the next command: no reply was owed to a smuggled command
            assert smtp.cmd("NOOP") == (250, "2.0.0 OK")
    stored = messages(settings)
    assert sorted(m.subject for m in stored) == sorted(f"carrier {n}" for n in range(len(FAKE_ENDS)))
    for item in stored:
        assert b"Subject: SMUGGLED" in item.raw and b"smuggled body" in item.raw


@sqlite_only
def test_pipelining_after_the_true_end_of_data_is_legitimate(gateway):
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        assert smtp.cmd("DATA")[0] == 354
        second = message(subject="second")
        next_envelope = f"MAIL FROM:<{USER}>\r\nRCPT TO:<{COMPANY}>\r\nDATA\r\n".encode()
        smtp.send(message(subject="first") + b".\r\n" + next_envelope)
        assert [smtp.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
        smtp.send(second + b".\r\nQUIT\r\n")
        assert smtp.reply()[0] == 250 and smtp.reply()[0] == 221
    assert sorted(m.subject for m in messages(gateway.settings)) == ["first", "second"]


@sqlite_only
def test_message_data_sent_before_354_is_a_synchronization_error(gateway):
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        smtp.send(b"DATA\r\n" + message(subject="too eager") + b".\r\nQUIT\r\n")
        code, text = smtp.reply()
        assert_reply((code, text), "554 5.5.0")
        assert smtp.closed()
        assert smtp.buffer == b""          # nothing else was answered: the pipelined rest was dropped
    assert messages(gateway.settings) == []


def test_commands_injected_before_starttls_are_discarded(sqlite_settings, tmp_path):
    cert, key = make_certificate(tmp_path, "bcc.example.net")
    settings = sqlite_settings.replace(tls_cert_file=str(cert), tls_key_file=str(key))
    seed(settings)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.send(b"EHLO client.example\r\n")
        lines = []
        while not lines or lines[-1][3:4] != b" ":
            lines.append(smtp.line())
        assert b"250-STARTTLS" in lines
        smtp.send(f"STARTTLS\r\nMAIL FROM:<{USER}>\r\nRCPT TO:<{COMPANY}>\r\n".encode())
        assert smtp.reply()[0] == 220
        assert smtp.buffer == b""
        smtp.starttls()
        assert smtp.ehlo()[0] == 250                       # the first reply over TLS answers EHLO
        code, text = smtp.cmd(f"RCPT TO:<{COMPANY}>")      # the injected MAIL was never run
        assert_reply((code, text), "503 5.5.1")
        assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
        assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 250
        assert smtp.data(message(subject="over TLS"))[0] == 250
    assert [m.subject for m in messages(settings)] == ["over TLS"]


@sqlite_only
@pytest.mark.parametrize("length", [600, 5000, 100_000])
def test_over_long_command_lines_are_500_and_the_session_goes_on(gateway, length):
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        code, text = smtp.cmd(b"MAIL FROM:<" + b"a" * length + b"@acme.example>")
        assert_reply((code, text), "500 5.5.2")
        assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250


@sqlite_only
def test_over_long_data_line_refuses_the_message_and_keeps_the_session(gateway):
    """A line of data past the default bound (max_line_length, 1 MiB with its CRLF); up to it, see
    test_hostile_data."""
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        code, text = smtp.data(message().rstrip(b"\r\n") + b"\r\n" + b"x" * (1024 * 1024 - 1) + b"\r\n")
        assert (code, text) == (500, "5.5.2 Line too long in the message data")
        assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
        assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 250
        assert smtp.data(message(subject="fine"))[0] == 250
    assert [m.subject for m in messages(gateway.settings)] == ["fine"]


# the error limits are out of the way here: this is the command budget (they have tests of their own)
@sqlite_only
@pytest.mark.gateway_settings(max_recipients=5, max_commands=200, soft_error_limit=1000, hard_error_limit=1000)
def test_a_flood_of_rcpt_meets_452_then_421_and_a_closed_connection(gateway):
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
        codes: list[tuple[int, str]] = []
        while not codes or codes[-1][0] != 421:       # pipelined, 50 at a time, as a flood would come
            assert len(codes) < 1000, "no 421 came"
            smtp.send(f"RCPT TO:<{COMPANY}>\r\n".encode() * 50)
            for _ in range(50):
                codes.append(smtp.reply())
                if codes[-1][0] == 421:
                    break
        assert [c for c, _ in codes] == [250] * 5 + [452] * 195 + [421]
        assert codes[-1][1].startswith("4.7.0")
        assert smtp.closed() and smtp.buffer == b""   # the rest of the flood was never answered
    with Raw(gateway.host, gateway.port) as again:       # the server itself carries on
        assert again.ehlo()[0] == 250


@sqlite_only
@pytest.mark.parametrize("command", [
    b"MAIL FROM:<ada\x00@acme.example>", b"MAIL FROM:<\xff\xfe@acme.example>", b"EHLO client\x00.example",
    b"MAIL FROM:<ada@acme.example>\rRCPT TO:<acme@bcc.example.net>", b"VRFY \x01acme@bcc.example.net",
])
def test_nul_controls_and_invalid_utf8_in_commands_are_501(gateway, command):
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        code, text = smtp.cmd(command)
        assert_reply((code, text), "501 5.5.2")
        assert smtp.cmd("RCPT TO:<acme@bcc.example.net>")[0] == 503      # nothing was half-done
        assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250


@sqlite_only
@pytest.mark.parametrize("command, code", [
    ("MAIL FROM:<@relay.example:ada@acme.example>", 250),      # source route: accepted, ignored (RFC 5321 C)
    ("MAIL FROM:ada@acme.example", 250),                       # no angle brackets: accepted, like Postfix
    ('MAIL FROM:<"john doe"@acme.example>', 250),              # a quoted local part is a valid path
    ("MAIL FROM:<ada@acme.example", 553),                      # a bracket never closed
    ("MAIL FROM:<a@b@c>", 553),
    ("MAIL FROM:<acme@bcc.example.net>", 550),                 # the gateway's own address: a loop
])
def test_malformed_and_unusual_sender_paths(gateway, command, code):
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        assert smtp.cmd(command)[0] == code


@sqlite_only
@pytest.mark.parametrize("rcpt, code", [
    ("<@relay.example,@second.example:acme@bcc.example.net>", 250),
    ("acme@bcc.example.net", 250),
    ('<"acme"@bcc.example.net>', 250),            # needless quotes: the same mailbox
    ('<"ac me"@bcc.example.net>', 550),           # a different, unknown mailbox
    ("<acme@bcc.example.net", 553),
    ("<>", 553),
    ("<acme@bcc.example.net> NOTIFY=NEVER", 555),
])
def test_malformed_and_unusual_recipient_paths(gateway, rcpt, code):
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
        assert smtp.cmd(f"RCPT TO:{rcpt}")[0] == code


@sqlite_only
def test_source_routed_envelope_is_filed_under_the_final_addresses(gateway):
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        assert smtp.cmd("MAIL FROM:<@relay.example:ada@acme.example>")[0] == 250
        assert smtp.cmd("RCPT TO:<@relay.example:acme@bcc.example.net>")[0] == 250
        assert smtp.data(message(subject="routed", sender="Someone <someone@else.example>"))[0] == 250
    [stored] = messages(gateway.settings)
    assert stored.owner_user_id == 1 and stored.subject == "routed"     # authorized by the envelope sender


def stuffed(content: bytes) -> bytes:
    """RFC 5321 4.5.2 dot-stuffing, as a compliant client applies it: a CRLF line that begins with a dot."""
    stuffed_content = content.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed_content if stuffed_content.startswith(b".") else stuffed_content


def test_each_smuggling_vector_is_one_message_stored_byte_for_byte(settings):
    seed(settings)
    sent = {}
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        for number, fake_end in enumerate(FAKE_ENDS):
            content = message(subject=f"vector {number}").rstrip(b"\r\n") + fake_end + SMUGGLED
            sent[f"vector {number}"] = content
            assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
            assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 250
            code, text = smtp.data(stuffed(content))
            assert (code, text[:5]) == (250, "2.0.0"), fake_end
            assert smtp.cmd("NOOP") == (250, "2.0.0 OK")
    stored = {m.subject: m.raw for m in messages(settings)}
    assert stored == sent


@sqlite_only
def test_dot_stuffed_lines_lose_one_dot_across_chunks(gateway):
    """Lines that begin with dots, many of them (more than one read's worth), and dots after a bare CR
    or LF, which are no line starts and keep their dot."""
    lines = [b".one dot", b"..two dots", b"...", b"text\n.after a bare LF", b"text\r.after a bare CR", b". "]
    body = b"\r\n".join(lines * 12_000) + b"\r\n"
    content = message(subject="dots").rstrip(b"\r\n") + b"\r\n" + body
    assert len(content) > 2 * 256 * 1024
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        # a client that forgot to stuff one line: its dot goes, as in aiosmtpd and RFC 5321 4.5.2
        assert smtp.data(stuffed(content) + b".unstuffed line\r\n")[0] == 250
        assert smtp.cmd("NOOP") == (250, "2.0.0 OK")
    [stored] = messages(gateway.settings)
    assert stored.raw == content + b"unstuffed line\r\n"


def padded(subject: str, size: int) -> bytes:
    """A message of exactly ``size`` bytes as sent (CRLF lines of at most 80 bytes, no dots)."""
    base = message(subject=subject)
    missing = size - len(base)
    full, rest = divmod(missing, 80)
    assert full >= 1
    tail = b"y" * (rest - 2) + b"\r\n" if rest >= 2 else b""
    lines = [b"y" * 78 + b"\r\n"] * full
    if rest == 1:                 # one more byte: a line of 79
        lines[-1] = b"y" * 79 + b"\r\n"
    content = base + b"".join(lines) + tail
    assert len(content) == size
    return content


@sqlite_only
@pytest.mark.gateway_settings(max_message_size=50_000)
def test_too_big_is_552_and_the_next_message_of_exactly_the_limit_gets_in(gateway):
    limit = gateway.settings.max_message_size
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        code, text = smtp.data(padded("one byte too many", limit + 1))
        assert (code, text) == (552, "5.3.4 Message size exceeds fixed limit")
        code, text = smtp.cmd(f"RCPT TO:<{COMPANY}>")       # the transaction is over
        assert_reply((code, text), "503 5.5.1")
        assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
        assert smtp.cmd(f"RCPT TO:<{COMPANY}>")[0] == 250
        exact = padded("exactly the limit", limit)
        assert smtp.data(exact)[0] == 250
        assert smtp.cmd("NOOP") == (250, "2.0.0 OK")
    [stored] = messages(gateway.settings)
    assert (stored.subject, stored.raw) == ("exactly the limit", exact)
