"""The parser's budget, through the real server: each shape that sends the stdlib ``email`` package
into a quadratic corner, a deep recursion or a memory blow-up is answered 250 within a generous bound,
stored byte for byte, and flagged when its parse was cut short; a parsing process that dies is replaced."""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import pytest
from sqlalchemy import select

from gateway.store.models import Message
from gateway.store import raw as stored_raw
from tests.support.gwtest import ThreadedGateway, seed, with_db
from tests.support.rawsmtp import Raw, message

HANG = 10.0        # seconds: a bound that only a hung parser reaches


def _head(name: str) -> bytes:
    return (b"From: Ada <ada@acme.example>\r\nTo: bob@customer.example\r\nDate: Mon, 06 Jan 2025 10:15:00 +0100\r\n"
            b"Message-ID: <" + name.encode() + b"@acme.example>\r\n")


def _folded(value: bytes, width: int = 900) -> bytes:
    """``value`` folded into lines the SMTP edge takes (a fold before every ``width`` bytes)."""
    return b"\r\n ".join(value[n:n + width] for n in range(0, len(value), width))


def dots() -> bytes:
    return (b"From: " + _folded(b"." * 80_000) + b"ada@acme.example\r\nTo: bob@customer.example\r\n"
            b"Message-ID: <dots@acme.example>\r\nSubject: dots\r\n\r\nbody\r\n")


def encoded_words() -> bytes:
    return _head("words") + b"Subject: " + b"\r\n ".join(b"=?utf-8?q?a=C3=A9?=" for _ in range(8000)) + b"\r\n\r\nbody\r\n"


def to_lines() -> bytes:
    return _head("tolines") + b"".join(b"To: p%d@x.example\r\n" % n for n in range(40_000)) + b"Subject: to\r\n\r\nbody\r\n"


def nesting(depth: int = 1000) -> bytes:
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n) for n in range(depth))
    closing = b"".join(b"\r\n--b%d--" % n for n in reversed(range(depth)))
    return _head("nesting") + b"Subject: nested\r\nMIME-Version: 1.0\r\n" + opening + \
        b"Content-Type: text/plain\r\n\r\ninnermost" + closing + b"\r\n"


def many_parts() -> bytes:
    return _head("parts") + b'Subject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n' + \
        b"--x\r\nContent-Type: text/plain\r\n\r\np\r\n" * 50_000 + b"--x--\r\n"


def semicolons() -> bytes:
    return _head("semis") + b"Subject: semicolons\r\nContent-Type: text/plain; charset=utf-8" + _folded(b";" * 40_000) + \
        b'\r\nContent-Disposition: attachment; filename="a' + _folded(b";" * 40_000) + b'"\r\n\r\nbody\r\n'


def unknown_charset() -> bytes:
    return _head("charset") + b"Subject: =?x-no-such?q?abc?=\r\nContent-Type: text/plain; charset=\"x-no-such\"\r\n" \
        b"\r\nbody \xff\r\n"


SHAPES = {"dots": dots, "words": encoded_words, "tolines": to_lines, "nesting": nesting, "parts": many_parts,
          "semis": semicolons, "charset": unknown_charset}


def _rows(settings):
    async def work(db):
        async with db.sessions() as session:
            rows = (await session.scalars(select(Message).order_by(Message.id))).all()
            return [(row, await stored_raw.read(session, row.id)) for row in rows]
    return with_db(settings, work)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_hostile_shape_is_answered_quickly_and_stored_exactly(sqlite_settings, shape):
    seed(sqlite_settings)
    raw = SHAPES[shape]()
    with ThreadedGateway(sqlite_settings) as gateway, Raw(gateway.host, gateway.port, timeout=HANG) as smtp:
        smtp.envelope()
        started = time.monotonic()
        code, text = smtp.data(raw)
        took = time.monotonic() - started
    assert code == 250, text
    assert took < HANG
    [(row, stored)] = _rows(sqlite_settings)
    assert stored == raw
    if shape != "charset":
        assert row.parse_degraded, "the cut is flagged"


def _large(subject: str) -> bytes:      # past the size that parses in the serving process
    return message(subject=subject, body="A long line of the quote.\n" * 4000)


def test_a_killed_parsing_process_is_replaced(sqlite_settings):
    sqlite_settings = dataclasses.replace(sqlite_settings, parse_timeout=60.0)   # a loaded machine is no deadline
    seed(sqlite_settings)
    with ThreadedGateway(sqlite_settings) as gateway:
        parser = gateway.gateway.handler.parser
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.data(_large("first"))[0] == 250
        [pid] = parser.pids()
        os.kill(pid, signal.SIGKILL)
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.data(_large("second"))[0] == 250
        [new] = parser.pids()
        assert new != pid
    rows = _rows(sqlite_settings)
    assert [row.subject for row, _ in rows] == ["first", "second"]
    assert [row.parse_degraded for row, _ in rows] == ["", ""]       # both parsed whole, in a process


def test_a_parse_past_its_deadline_is_filed_from_its_headers(sqlite_settings, monkeypatch):
    settings = dataclasses.replace(sqlite_settings, parse_timeout=0.5)
    seed(settings)
    raw = _large("slow one")
    with ThreadedGateway(settings) as gateway:
        parser = gateway.gateway.handler.parser
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.data(_large("warm-up"))[0] == 250
        [pid] = parser.pids()
        os.kill(pid, signal.SIGSTOP)             # a parse that never ends
        with Raw(gateway.host, gateway.port, timeout=HANG) as smtp:
            smtp.envelope()
            assert smtp.data(raw)[0] == 250
        assert pid not in parser.pids()
    row, stored = _rows(settings)[-1]
    assert stored == raw and row.subject == "slow one"
    assert "took over 0.5 s" in row.parse_degraded
