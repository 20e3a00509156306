"""Parsing a large message holds a small multiple of its size (tracemalloc's peak, a count of bytes):
the stdlib is fed the message a slice at a time (gateway.mail.parsing._feed), and an attached message
is hashed as it is serialized (parsing._DigestGenerator), to the same size and SHA-256 as before."""

from __future__ import annotations

import base64
import hashlib
import random
import tracemalloc
from email.message import Message

import pytest

from gateway.mail import parsing
from gateway.mail.parsing import parse_message

HEAD = ("From: Ada <ada@acme.example>\r\nTo: bob@customer.example\r\nSubject: Files\r\n"
        "Message-ID: <m@acme.example>\r\nMIME-Version: 1.0\r\n")
SIZE = 5_000_000


def _text(size: int) -> bytes:
    return (b"Line of a note, sixty characters or so, with words in it.\r\n" * (size // 60 + 1))[:size]


def _base64(size: int) -> bytes:
    return base64.encodebytes(random.Random(size).randbytes(size * 57 // 78)).replace(b"\n", b"\r\n")


def many_parts(size: int) -> bytes:
    """Parts of 8 kB: text notes, CSV tables and base64 files in turn."""
    parts, used = [], 0
    while used < size:
        kind, body, encoding = [("text/plain", _text(8000), "7bit"), ("text/csv", _text(8000), "7bit"),
                                ("application/octet-stream", _base64(8000), "base64")][len(parts) % 3]
        parts.append(f"--b\r\nContent-Type: {kind}\r\nContent-Disposition: attachment; filename=\"f{len(parts)}\""
                     f"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n".encode() + body + b"\r\n")
        used += len(parts[-1])
    return HEAD.encode() + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"".join(parts) + b"--b--\r\n"


def forward(size: int) -> bytes:
    """A note and an attached message that carries a base64 file."""
    original = (b"From: buyer@customer.example\r\nSubject: Order\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\nSigned.\r\n"
                b"--i\r\nContent-Type: application/pdf; name=c.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + _base64(size) + b"--i--\r\n")
    return (HEAD.encode() + b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\n"
            b"See below.\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n" + original + b"\r\n--o--\r\n")


def peak_of(raw: bytes):
    tracemalloc.start()
    try:
        parsed = parse_message(raw)
        return parsed, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_many_small_parts_are_parsed_in_under_twice_their_size() -> None:
    """It was 6 times: the stdlib read the whole message into an io.StringIO, four bytes a character."""
    raw = many_parts(SIZE)
    parsed, peak = peak_of(raw)
    assert len(parsed.attachments) == raw.count(b"\r\n--b\r\n") and not parsed.degraded
    assert peak < 2 * len(raw), f"{peak / len(raw):.2f} times the message"


def test_an_attached_message_is_hashed_in_under_two_and_a_half_times_its_size() -> None:
    """It was 3.8 times: the stdlib's generator buffered each part and split each body into lines."""
    raw = forward(SIZE)
    parsed, peak = peak_of(raw)
    assert parsed.forwarded is not None and parsed.forwarded.source == "rfc822-attachment"
    assert peak < 2.5 * len(raw), f"{peak / len(raw):.2f} times the message"
    inner = parsing._feed(raw).get_payload()[1]
    serialized = parsing._serialize(inner.get_payload(0))
    assert (parsed.attachments[0].size, parsed.attachments[0].sha256) == \
        (len(serialized), hashlib.sha256(serialized).hexdigest())


ATTACHED = [
    b"From: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\nbody\rmore\nlast\r\n--b\r\n"
    b"Content-Type: message/delivery-status\r\n\r\nA: 1\r\n\r\nB: 2\r\n--b--\r\nepi\r\n",
    b"From: x\nContent-Type: multipart/alternative; boundary=\"q q\"\n\n--q q\nContent-Type: text/plain; "
    b"charset=utf-8\n\n\xc3\xa9t\xe9\n--q q--",
    b"From Bob\r\nFrom: x\r\n\r\nFrom here\r\n" + b"line\r\n" * 30000 + b"no end",
    b"From: x\r\nContent-Type: message/rfc822\r\n\r\nFrom: y\r\nContent-Type: text/plain\r\n\r\n" + _text(200_000),
]


# (a multipart with an empty boundary is given a random one by the stdlib: its hash was never the same twice)
@pytest.mark.parametrize("inner", ATTACHED)
def test_an_attached_message_hashes_as_its_serialized_bytes(inner: bytes) -> None:
    raw = b"Content-Type: message/rfc822\r\n\r\n" + inner
    digest = parsing._attachment_digest(parsing._feed(raw))
    payload = parsing._feed(raw).get_payload()
    serialized = b"".join(parsing._serialize(item) for item in payload if isinstance(item, Message))
    assert digest == (len(serialized), hashlib.sha256(serialized).hexdigest())
