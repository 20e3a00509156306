"""The benchmark's five shapes of mail (bench/mail.py) are what they say, at each size the benchmark sends:
the smoke test (tests/bench) sends one of them through every server; these check the rest without a server."""

from __future__ import annotations

import email
import random
from email import policy

import pytest

from bench.mail import HEADER_ALLOWANCE, SHAPES, _body


def _message(size: int, shape: str) -> email.message.EmailMessage:
    content, body = _body(size, random.Random(size), shape)
    head = b"From: ann@acme.example\r\nTo: bcc@acme.bcc.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
    raw = head + content + b"\r\n" + body
    assert abs(len(raw) + HEADER_ALLOWANCE - 100 - size) < size * 0.05 + 1000, (shape, len(raw))
    return email.message_from_bytes(raw, policy=policy.default)


@pytest.mark.parametrize("size", [10_000, 1_000_000])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_is_a_message_of_its_kind_and_size(shape, size):
    message = _message(size, shape)
    types = [part.get_content_type() for part in message.walk()]
    if shape == "text":
        assert types == ["text/plain"]
        lines = message.get_content().splitlines()
        assert len(lines) > size / 100 and max(map(len, lines)) <= 998
    elif shape == "attachment":
        assert any(part.get_content_disposition() == "attachment" for part in message.walk())
    elif shape == "html":
        assert "multipart/related" in types and "text/html" in types
        assert sum(t.startswith("image/") for t in types) >= 1
    elif shape == "parts":
        assert len(types) - 1 >= max(2, size // 10_000)      # parts of about 8 kB each
    elif shape == "forward":
        assert "message/rfc822" in types
