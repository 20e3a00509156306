"""The routing table: every kind of RCPT address, and which rule it hits."""

import pytest

from gateway.routing.bcc_address import record_token, slug_for_domain, token_matches, unique_slug
from gateway.routing.table import ROUTING_TABLE, Rule, _check_table, route

DOMAIN = "bcc.example.net"


@pytest.mark.parametrize("address, rule, target, code", [
    ("acme@bcc.example.net", "company-address", "company", None),
    ("ACME@BCC.Example.NET", "company-address", "company", None),
    ("<acme@bcc.example.net>", "company-address", "company", None),
    ("acme+deal-12-abcdefghij@bcc.example.net", "record-address", "record", None),
    ("acme+lead-3-abcd2345@bcc.example.net", "record-address", "record", None),
    ("acme+project-3-abcd2345@bcc.example.net", "record-address", "record", None),
    ("acme+person-3-abcd2345@bcc.example.net", "record-address", "record", None),
    ("acme+org-3-abcd2345@bcc.example.net", "record-address", "record", None),
    ("acme+verify-abc123def@bcc.example.net", "verify-reply", "verify", None),
    ("acme+bounce-abcdefghijklmnopqrstuvwx@bcc.example.net", "bounce-address", "bounce", None),
    ("bounces@bcc.example.net", "company-address", "company", None),       # a company may be called that
    ("acme+bounce-short@bcc.example.net", "unknown-address", "refuse", 550),
    ("acme+bounce-abcdefghijklmnopqrstuvw1@bcc.example.net", "unknown-address", "refuse", 550),
    ("acme+deal-0-abcdefghij@bcc.example.net", "unknown-address", "refuse", 550),
    ("acme+invoice-1-abcdefghij@bcc.example.net", "unknown-address", "refuse", 550),
    ("acme+deal-12@bcc.example.net", "unknown-address", "refuse", 550),
    ("-acme@bcc.example.net", "unknown-address", "refuse", 550),
    ("a.b@bcc.example.net", "unknown-address", "refuse", 550),
    ("acme@other.example", "foreign-domain", "refuse", 550),
    ("acme@sub.bcc.example.net", "foreign-domain", "refuse", 550),
    ("not-an-address", "malformed", "refuse", 553),
])
def test_route(address, rule, target, code):
    decision = route(address, DOMAIN)
    assert (decision.rule, decision.target) == (rule, target)
    assert (decision.reply.code if decision.reply else None) == code


def test_route_extracts_named_fields():
    decision = route("Acme+Deal-12-ABCDEFGHIJ@bcc.example.net", DOMAIN)
    assert (decision.slug, decision.kind, decision.record_id, decision.token) == ("acme", "deal", 12, "abcdefghij")


def test_relay_and_unknown_have_the_spec_codes():
    assert str(route("x@elsewhere.example", DOMAIN).reply).startswith("550 5.7.1")
    assert str(route("nobody+x@bcc.example.net", DOMAIN).reply).startswith("550 5.1.1")


def test_table_is_validated():
    with pytest.raises(ValueError):
        _check_table(ROUTING_TABLE[:-1])
    with pytest.raises(ValueError):
        _check_table((*ROUTING_TABLE, Rule("company-address", None, "refuse")))


@pytest.mark.parametrize("domain, slug", [
    ("acme.com", "acme"), ("Acme.COM.", "acme"), ("acme.co.uk", "acme"), ("www.acme.de", "acme"),
    ("eu.globex.io", "globex"), ("my_shop.example", "my-shop"), ("bücher.de", "xn--bcher-kva"),
])
def test_slug_for_domain(domain, slug):
    assert slug_for_domain(domain) == slug


def test_unique_slug():
    assert unique_slug("acme", set()) == "acme"
    assert unique_slug("acme", {"acme", "acme-2"}) == "acme-3"


def test_tokens_are_keyed_and_versioned():
    key, other = b"k" * 32, b"o" * 32
    token = record_token(key, 1, "deal", 5, 1)
    assert len(token) == 10 and token == record_token(key, 1, "deal", 5, 1)
    assert len({token, record_token(other, 1, "deal", 5, 1), record_token(key, 2, "deal", 5, 1),
                record_token(key, 1, "lead", 5, 1), record_token(key, 1, "deal", 6, 1),
                record_token(key, 1, "deal", 5, 2)}) == 6
    assert token_matches(token, token.upper())
    assert not token_matches(token, token[:-1] + ("a" if token[-1] != "a" else "b"))
