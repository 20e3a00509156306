"""A large text body is read with one copy of its bytes and one of its text at the worst moment
(gateway.mail.parsing._body_text, gateway.mail.lifting, gateway.mail.encodings.decode_pieces), and the
text is exactly what it was when the stdlib decoded the whole body and line ends were made LF on it;
past parsing.MAX_BODY_TEXT bytes, it is the start of that text, to a line end, and the cut is noted."""

from __future__ import annotations

import base64
import quopri
import random
import sys
import tracemalloc
from email import message_from_bytes, policy

import pytest

from gateway.mail import lifting
from gateway.mail.encodings import decode_bytes, decode_pieces
from gateway.mail import parsing
from gateway.mail.parsing import parse_message

HEAD = "From: Ada <ada@acme.example>\r\nTo: bob@customer.example\r\nSubject: Minutes\r\n" \
       "Message-ID: <m@acme.example>\r\nDate: Mon, 30 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n"
LINE = "Item 12: the quick brown fox jumps over the lazy dog; Grüße, façade, naïve, €5.\n"


def message(body: bytes, charset: str = "utf-8", encoding: str = "8bit", multipart: bool = False) -> bytes:
    part = (f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
            .encode() + body)
    if not multipart:
        return HEAD.encode() + part
    return (HEAD + 'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n--b1\r\n').encode() + part + \
        b"\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>Hi</p>\r\n--b1--\r\n"


def qp(text: str) -> bytes:
    return quopri.encodestring(text.replace("\r\n", "\n").encode()).replace(b"\n", b"\r\n")


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def text_of(lines: int) -> str:
    return LINE * lines


def bodies(lines: int) -> dict[str, bytes]:
    text = text_of(lines)
    crlf = text.replace("\n", "\r\n")
    mixed = crlf.replace("fox", "fox\r", 50).replace("dog;", "dog;\n", 50)
    return {
        "CRLF": message(crlf.encode()),
        "LF": message(text.encode()),
        "CR, LF and CRLF mixed": message(mixed.encode()),
        "a CRLF cut by a piece": message(("x" * 999 + "\r\n" + crlf).encode()),
        "quoted-printable": message(qp(crlf + "a soft=\r\nbreak " * 300), encoding="quoted-printable"),
        "base64": message(b64(crlf.encode()), encoding="base64"),
        "latin-1": message(crlf.replace("€", "E").encode("latin-1"), "iso-8859-1"),
        "windows-1252 labelled latin-1": message(crlf.encode("cp1252"), "iso-8859-1"),
        "UTF-8 labelled latin-1": message(crlf.encode(), "iso-8859-1"),
        "invalid UTF-8": message(crlf.encode()[:-7] + b"\xe2\x82\r\n\xff\xfe ok\r\n"),
        "no charset, windows-1252": message(crlf.encode("cp1252"), "x-unknown"),
        "UTF-16": message(crlf.encode("utf-16"), "utf-16"),
        "Shift_JIS": message(("会議の議事録です。\r\n" * (lines // 2)).encode("shift_jis"), "shift_jis"),
        "NUL bytes": message(crlf.replace("lazy", "la\0zy").encode()),
        "a signature and dashes": message((crlf + "-- \r\nAda\r\n" + crlf + "----\r\n" + crlf).encode()),
        "in a multipart": message(crlf.encode(), multipart=True),
        "quoted-printable in a multipart": message(qp(crlf), encoding="quoted-printable", multipart=True),
    }


def stdlib_text(raw: bytes) -> str:
    """What the text body was before: the stdlib decodes the whole body, then line ends are made LF."""
    msg = message_from_bytes(raw, policy=policy.default)
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    text = decode_bytes(part.get_payload(decode=True), part.get_content_charset())
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


SMALL, LARGE = bodies(40), bodies(8000)       # unlifted; over lifting.MIN_MESSAGE


@pytest.mark.parametrize("name", SMALL)
def test_a_small_body_reads_as_before(name: str) -> None:
    assert parse_message(SMALL[name]).text_body == stdlib_text(SMALL[name])


@pytest.mark.parametrize("name", LARGE)
@pytest.mark.parametrize("piece", [lifting.PIECE, 1000])
def test_a_large_body_reads_as_before(name: str, piece: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifting, "PIECE", piece)
    monkeypatch.setattr(parsing, "MAX_BODY_TEXT", 16 * 1024 * 1024)
    raw = LARGE[name]
    assert parse_message(raw).text_body == stdlib_text(raw)


@pytest.mark.parametrize("name", ["CRLF", "quoted-printable", "base64", "UTF-16", "in a multipart"])
def test_a_body_past_the_text_budget_keeps_its_start_to_a_line_end(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "MAX_BODY_TEXT", 100_000)
    raw = LARGE[name]
    whole, parsed = stdlib_text(raw), parse_message(raw)
    assert 90_000 < len(parsed.text_body) <= 100_000 and parsed.text_body.endswith("\n")
    assert whole.startswith(parsed.text_body)
    assert [note for note in parsed.degraded if note.startswith("text/plain body: ")]


def test_large_text_bodies_are_lifted() -> None:
    lifted = lifting.lift(LARGE["CRLF"])
    assert lifted is not None and len(lifted.raw) < 1000
    assert lifting.lift(LARGE["a signature and dashes"]) is not None


@pytest.mark.parametrize("data", [
    text_of(300).encode(), text_of(300).encode("cp1252"), "中文 ".encode() * 500, b"\xe2\x82" * 700 + b"ok",
    text_of(200).encode()[:-1] + b"\xc3", bytes(range(256)) * 20,
])
@pytest.mark.parametrize("charset", [None, "utf-8", "iso-8859-1", "windows-1252", "koi8-r", "shift_jis", "utf-16"])
def test_decoding_in_pieces_is_decoding_the_whole(data: bytes, charset: str | None) -> None:
    cuts = sorted(random.Random(len(data)).sample(range(1, len(data)), 40))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    assert decode_pieces(pieces, charset) == decode_bytes(data, charset)
    assert pieces == []


@pytest.mark.parametrize("kind", ["ASCII", "quoted-printable", "latin-1", "UTF-8 labelled latin-1", "UTF-8, wide"])
def test_a_14_mb_text_body_is_read_to_the_text_budget_only(kind: str) -> None:
    """At its peak, parsing a 14 MB single-part text message holds under half its size: the body is
    made text to parsing.MAX_BODY_TEXT bytes only, and the stdlib is fed the message a slice at a time.
    Before, it held 2 times the body (the whole body made text), and 7.7 to 11 times before that."""
    text = text_of(14 * 1024 * 1024 // len(LINE)).replace("\n", "\r\n")
    if kind != "UTF-8, wide":
        text = text.replace("€", "E")
    if kind == "ASCII":
        text = text.encode("ascii", "replace").decode()
    raw = {"ASCII": lambda: message(text.encode()),
           "quoted-printable": lambda: message(qp(text), encoding="quoted-printable"),
           "latin-1": lambda: message(text.encode("latin-1"), "iso-8859-1"),
           "UTF-8 labelled latin-1": lambda: message(text.encode(), "iso-8859-1"),
           "UTF-8, wide": lambda: message(text.encode())}[kind]()
    tracemalloc.start()
    try:
        parsed = parse_message(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0.85 * parsing.MAX_BODY_TEXT < len(parsed.text_body) <= parsing.MAX_BODY_TEXT
    assert text.replace("\r\n", "\n").startswith(parsed.text_body)
    assert any(note.startswith("text/plain body: ") for note in parsed.degraded)
    assert peak < 0.5 * len(raw), f"{peak / len(raw):.2f} times the message"
