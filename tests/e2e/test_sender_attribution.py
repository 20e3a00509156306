"""SPEC "Who may send": the header From attributes a message to a user only when it names one author
plainly. Raw bytes through the real server, from a client in trusted_networks (the checks are skipped
there, so attribution is all that stands between a stranger and a user's name)."""

from __future__ import annotations

import logging

import pytest

from tests.support.gwtest import messages, sqlite_only
from tests.support.rawsmtp import Raw, message

STRANGER = "eve@evil.example"
HEADER = (b"To: bob@customer.example\r\nSubject: Quote\r\nDate: Mon, 06 Jan 2025 10:15:00 +0100\r\n"
          b"Message-ID: <%s@evil.example>\r\n")


def with_from(*values: bytes, name: str = "x") -> bytes:
    """A message with these From fields, in order, and nothing else odd."""
    fields = b"".join(b"From: " + value + b"\r\n" for value in values)
    return fields + HEADER % name.encode() + b"\r\nHere is the quote.\r\n"


AMBIGUOUS = [
    ("two From fields", with_from(b"eve@evil.example", b"ada@acme.example")),
    ("two mailboxes", with_from(b"eve@evil.example, ada@acme.example")),
    ("a group", with_from(b"team: ada@acme.example;")),
    ("display name looks like an address", with_from(b'"bob@customer.example" <ada@acme.example>')),
    ("encoded display name looks like an address", with_from(b"=?utf-8?q?bob=40customer.example?= <ada@acme.example>")),
    ("comment looks like an address", with_from(b"ada@acme.example (bob@customer.example)")),
    ("CVE-2023-27043: parenthesis", with_from(b"ada@acme.example)<eve@evil.example>")),
    ("CVE-2023-27043: address before a mailbox", with_from(b"ada@acme.example <eve@evil.example>")),
    ("CVE-2023-27043: quoted address as local part", with_from(b'"ada@acme.example"@evil.example')),
    ("CVE-2023-27043: backslash", with_from(b"ada@acme.example\\<eve@evil.example>")),
]


@sqlite_only
@pytest.mark.parametrize("raw", [raw for _, raw in AMBIGUOUS], ids=[name for name, _ in AMBIGUOUS])
def test_an_unclear_header_from_attributes_nothing(gateway, raw, caplog):
    caplog.set_level(logging.INFO, logger="smartbcc.smtp")
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope(sender=STRANGER)
        code, text = smtp.data(raw)
    assert (code, text) == (550, "5.7.1 Sender not authorized: the From header must name exactly one plain address")
    assert messages(gateway.settings) == []
    assert any("header From not used: " in r.getMessage() for r in caplog.records)


@sqlite_only
def test_the_envelope_sender_still_authorizes_when_the_from_is_unclear(gateway):
    raw = with_from(b'"bob@customer.example" <ada@acme.example>', name="envelope")
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()                       # MAIL FROM:<ada@acme.example>
        assert smtp.data(raw)[0] == 250
    [stored] = messages(gateway.settings)
    assert stored.raw == raw


@sqlite_only
@pytest.mark.parametrize("value", [
    b"Ada Lovelace <Ada@Acme.Example>",
    b'"Lovelace, Ada" <ada@acme.example> (work)',
    b"=?utf-8?q?Ada_Lovelace?= <ada@acme.example>",
    b"ada@acme.example",
])
def test_a_plain_header_from_attributes_the_message(gateway, value):
    raw = with_from(value, name=f"plain{len(value)}")
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope(sender=STRANGER)
        assert smtp.data(raw)[0] == 250
    [stored] = messages(gateway.settings)
    assert stored.raw == raw


@sqlite_only
def test_a_long_header_section_still_names_the_author(gateway):
    raw = b"".join(b"X-Trace-%d: hop\r\n" % n for n in range(2000)) + message(subject="long header")
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope(sender=STRANGER)
        assert smtp.data(raw)[0] == 250
    assert [m.subject for m in messages(gateway.settings)] == ["long header"]
