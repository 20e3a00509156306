"""Hostile message content through the real server on both backends: every message is answered 250
and stored exactly as sent (or refused), the parsed fields are safe, and memory stays bounded."""

from __future__ import annotations

import resource

import pytest
from sqlalchemy import select

from gateway.store.models import Attachment, Message
from tests.support.gwtest import ThreadedGateway, messages, seed, with_db
from tests.support.rawsmtp import Raw, message

HEAD = b"From: Ada <ada@acme.example>\r\nTo: bob@customer.example\r\nDate: Mon, 06 Jan 2025 10:15:00 +0100\r\n"


def _id(name: str) -> bytes:
    return b"Message-ID: <" + name.encode() + b"@acme.example>\r\n"


def deep_nesting(depth: int = 5000) -> bytes:
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n) for n in range(depth))
    closing = b"".join(b"\r\n--b%d--" % n for n in reversed(range(depth)))
    return HEAD + _id("nested") + b"Subject: nested\r\nMIME-Version: 1.0\r\n" + opening + \
        b"Content-Type: text/plain\r\n\r\ninnermost" + closing + b"\r\n"


def many_headers(count: int = 50_000) -> bytes:
    return HEAD + _id("headers") + b"Subject: many headers\r\n" + \
        b"".join(b"X-Noise-%d: %d\r\n" % (n, n) for n in range(count)) + b"\r\nbody\r\n"


def enormous_header(lines: int = 30_000) -> bytes:      # one header field of about 2 MiB, folded
    return HEAD + _id("enormous") + b"Subject: start" + b"".join(b"\r\n x" + b"y" * 68 for _ in range(lines)) + \
        b"\r\n\r\nbody\r\n"


def bad_headers() -> bytes:
    return (b"From: =?utf-8?b?!!!notbase64?= <ada@acme.example>\r\nTo: =?bogus-charset?q?x?= <bob@customer.example>,"
            b" \xff\xfe\xfa <carol@customer.example>\r\n" + _id("badheaders") +
            b"Subject: =?utf-8?q?=C3=28?= \xc3\x28 =?utf-8?b?w6k=?= =?iso-8859-1?q?caf=E9?= =?utf-8?x?y?=\r\n"
            b"Date: not a date at all\r\nContent-Type: text/plain; charset=\"no-such-charset\"\r\n\r\n"
            b"\xff\xfe body \xc3\x28 text\r\n")


def broken_base64() -> bytes:
    return (HEAD + _id("base64") + b"Subject: broken base64\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n'
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            b"SGVsbG8gd29ybGQ=====!!!@@@###\r\nnot base64 at all\r\n--x\r\n"
            b'Content-Type: application/pdf; name="quote.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
            b'Content-Disposition: attachment; filename="quote.pdf"\r\n\r\n' + b"%%%%=!QUJD*\r\n" * 2000 + b"--x--\r\n")


PATH_NAMES = ['"../../etc/passwd"', '"..\\\\..\\\\windows\\\\win.ini"', '"/etc/shadow"', '"C:\\\\evil.exe"',
              "*=utf-8''..%2F..%2Fescape.txt", '"=?utf-8?q?..=2F..=2Fencoded.txt?="', '".."', '"a/b\\\\c/../d.txt"']


def path_names() -> bytes:
    parts = b"".join(b'--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename'
                     + (name.encode() if name.startswith("*") else b"=" + name.encode())
                     + b"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n" for name in PATH_NAMES)
    return HEAD + _id("paths") + b'Subject: path names\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; ' \
        b'boundary="x"\r\n\r\n' + parts + b"--x--\r\n"


def nul_and_8bit() -> bytes:
    return (b"From: Jos\xc3\xa9 <ada@acme.example>\r\nTo: M\xfcller <bob@customer.example>\r\n" + _id("eightbit") +
            b"Subject: caf\xe9 cr\xe8me \x00\r\nContent-Type: text/plain\r\n\r\n8-bit \xe9\xe8 body\x00 with NUL\r\n")


def crowd(count: int = 20_000) -> bytes:
    to = b",\r\n ".join(b"person%d@crowd%d.example" % (n, n % 50) for n in range(count))
    return b"From: ada@acme.example\r\nTo: " + to + b"\r\n" + _id("crowd") + b"Subject: a crowd\r\n\r\nhello all\r\n"


HOSTILE = {"nested": deep_nesting, "headers": many_headers, "enormous": enormous_header, "badheaders": bad_headers,
           "base64": broken_base64, "paths": path_names, "eightbit": nul_and_8bit, "crowd": crowd}


def _stored(settings):
    async def work(db):
        async with db.sessions() as session:
            rows = (await session.scalars(select(Message).order_by(Message.id))).all()
            out = {}
            for row in rows:
                names = (await session.scalars(select(Attachment.filename)
                                               .where(Attachment.message_pk == row.id))).all()
                out[row.message_id] = (row, list(names))
            return out
    return with_db(settings, work)


def test_hostile_messages_are_stored_exactly_and_parsed_safely(settings):
    seed(settings)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sent = {name: build() for name, build in HOSTILE.items()}
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port, timeout=60) as smtp:
        smtp.ehlo()
        for name, raw in sent.items():
            assert smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250       # no BODY=8BITMIME, ever
            assert smtp.cmd("RCPT TO:<acme@bcc.example.net>")[0] == 250
            code, text = smtp.data(raw)
            assert (code, text[:5]) == (250, "2.0.0"), (name, text)
            assert smtp.cmd("NOOP")[0] == 250
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    mail_mib = sum(map(len, sent.values())) >> 20
    assert grown_mib < 400, f"peak memory grew by {grown_mib:.0f} MiB for {mail_mib} MiB of mail"

    by_raw = {m.raw: m for m in messages(settings)}
    assert set(by_raw) == set(sent.values())                 # each exactly as sent, none twice
    stored = _stored(settings)
    for name in HOSTILE:
        assert f"<{name}@acme.example>" in stored, name
    assert stored["<enormous@acme.example>"][0].subject.startswith("start xyyy")
    assert "\x00" not in stored["<eightbit@acme.example>"][0].subject
    assert stored["<eightbit@acme.example>"][0].subject.startswith("café crème")
    assert "café" in stored["<badheaders@acme.example>"][0].subject
    names = stored["<paths@acme.example>"][1]
    assert len(names) == len(PATH_NAMES)
    for filename in names:
        assert "/" not in filename and "\\" not in filename and filename not in ("", ".", ".."), names
    assert stored["<base64@acme.example>"][1] == ["quote.pdf"]


def test_missing_message_id_is_made_up_from_the_content_and_deduplicated(settings):
    raw = message(subject="no id").replace(b"Message-ID:", b"X-Was-Message-ID:")
    seed(settings)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        for _ in range(2):
            assert smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250
            assert smtp.cmd("RCPT TO:<acme@bcc.example.net>")[0] == 250
            assert smtp.data(raw)[0] == 250
    [stored] = messages(settings)
    assert stored.message_id.endswith("@bcc.example.net>") and stored.raw == raw


def test_a_message_id_reused_by_a_different_message_keeps_both(settings):
    first = message(subject="first use", message_id="<reused@acme.example>")
    second = message(subject="second use", message_id="<reused@acme.example>", body="Different words.\n")
    seed(settings)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        for raw in (first, second, first):
            assert smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250
            assert smtp.cmd("RCPT TO:<acme@bcc.example.net>")[0] == 250
            assert smtp.data(raw)[0] == 250
    stored = messages(settings)
    assert sorted(m.subject for m in stored) == ["first use", "second use"]
    assert {m.message_id for m in stored} == {"<reused@acme.example>"}


@pytest.mark.parametrize("depth", [60, 900])
def test_nesting_just_past_the_parsers_bound_is_fine(sqlite_settings, depth):
    seed(sqlite_settings)
    with ThreadedGateway(sqlite_settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        raw = deep_nesting(depth)
        assert smtp.data(raw)[0] == 250
    assert [m.raw for m in messages(sqlite_settings)] == [raw]
