"""The header From as sender authorization reads it (gateway.auth.author): strictly, or not at all."""

from __future__ import annotations

import pytest

from gateway.auth.author import MAX_FROM, from_fields, header_author, strict_author


@pytest.mark.parametrize("raw, expected", [
    (b"From: ada@acme.example\r\nTo: b@c.d\r\n\r\nFrom: not a header\r\n", ["ada@acme.example"]),
    (b"From: Ada\r\n Lovelace <ada@acme.example>\r\n\r\n", ["Ada Lovelace <ada@acme.example>"]),   # unfolded
    (b"From ada@acme.example Mon Jan  6 10:15:00 2025\nFrom: ada@acme.example\n\n", ["ada@acme.example"]),
    (b"FROM: a@b.c\r\nfrom: d@e.f\r\n\r\n", ["a@b.c", "d@e.f"]),
    (b"Subject: x\r\nnot a header line\r\nFrom: a@b.c\r\n\r\n", []),      # the body started before it
    (b"From: J\xf6rg <j@example.de>\r\n\r\n", ["J\xf6rg <j@example.de>"]),  # 8-bit, not UTF-8: Latin-1
    (b"From: J\xc3\xb6rg <j@example.de>\r\n\r\n", ["J\xf6rg <j@example.de>"]),
])
def test_from_fields(raw, expected):
    assert from_fields(raw) == expected


@pytest.mark.parametrize("values, address, problem", [
    ([], "", ""),
    (["Ada Lovelace <Ada@Acme.Example>"], "ada@acme.example", ""),
    (["J\xf6rg <j\xf6rg@ex\xe4mple.de>"], "j\xf6rg@ex\xe4mple.de", ""),
    (["a@b.c", "ada@acme.example"], "", "2 From fields"),
    (["a@b.c, ada@acme.example"], "", "names 2 mailboxes"),
    (["team: ada@acme.example;"], "", "is a group"),
    (['"bob@victim.example" <x@evil.example>'], "", "display name looks like an address"),
    (['"bob\uff20victim.example" <x@evil.example>'], "", "display name looks like an address"),
    (["alice@example.org)<bob@example.org>"], "", "malformed"),
    (['"a@b.com"@c.com'], "", "special local part"),
    (["ada@[192.0.2.1]"], "", "special local part or domain"),
    (["(" * 480 + ")" * 480 + " ada@acme.example"], "", "cannot be parsed"),     # RecursionError
    (["a" * (MAX_FROM + 1)], "", f"a From field of {MAX_FROM + 1} characters"),
])
def test_strict_author(values, address, problem):
    author = strict_author(values)
    assert author.address == address
    assert problem in author.problem and bool(author.problem) == bool(problem)


def test_the_parser_and_the_scan_must_agree_on_the_count():
    raw = b"From: ada@acme.example\r\n\r\nbody\r\n"
    assert header_author(raw, 1).address == "ada@acme.example"
    assert "cannot be counted" in header_author(raw, 2).problem
