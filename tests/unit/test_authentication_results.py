"""Authentication-Results (RFC 8601) as relays write them, and which one upstream mode believes."""

from __future__ import annotations

import pytest

from gateway.auth.upstream import Method, parse, upstream_results

GMAIL = ("mx.google.com;\r\n       dkim=pass header.i=@acme.example header.s=sel header.b=abc123;\r\n"
         "       spf=pass (google.com: domain of ada@acme.example designates 127.0.0.2 as permitted sender)"
         " smtp.mailfrom=ada@acme.example;\r\n"
         "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=acme.example")
MICROSOFT = ("spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=acme.example; dkim=none (message not signed)"
             " header.d=none;dmarc=fail action=oreject header.from=acme.example;compauth=fail reason=000")


def test_gmail_style():
    header = parse(GMAIL)
    assert header.authserv_id == "mx.google.com"
    assert [(m.method, m.result) for m in header.methods] == [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert header.methods[0].props == {"header.i": "@acme.example", "header.s": "sel", "header.b": "abc123"}
    assert header.methods[1].props == {"smtp.mailfrom": "ada@acme.example"}
    assert "designates 127.0.0.2" in header.methods[1].comment
    assert header.methods[2].comment == "p=REJECT sp=REJECT dis=NONE"


def test_microsoft_style_with_no_space_after_semicolons():
    header = parse(MICROSOFT)
    assert header.authserv_id == "spf=fail"       # Exchange Online writes no authserv-id at all
    assert parse("outlook.com; " + MICROSOFT).methods[0] == Method(
        "spf", "fail", {"smtp.mailfrom": "acme.example"}, "", "sender IP is 203.0.113.9")


@pytest.mark.parametrize("value, expected", [
    ("relay.example 1; spf=pass smtp.mailfrom=a@acme.example", ("relay.example", [("spf", "pass")])),
    ("relay.example; none", ("relay.example", [])),
    ('relay.example; dkim=fail reason="signature; verification failed" header.d=acme.example',
     ("relay.example", [("dkim", "fail")])),
    ("relay.example (our relay; trusted); spf = softfail (a (nested) comment) smtp.mailfrom = acme.example",
     ("relay.example", [("spf", "softfail")])),
    ("i=1; forwarder.example; arc=none; dkim/1=pass header.d=acme.example", ("forwarder.example",
                                                                            [("arc", "none"), ("dkim", "pass")])),
])
def test_syntax(value, expected):
    header = parse(value)
    assert (header.authserv_id, [(m.method, m.result) for m in header.methods]) == expected


def test_quoted_reason_keeps_its_semicolon():
    [method] = parse('relay.example; dkim=fail reason="signature; verification failed" header.d=acme.example').methods
    assert (method.reason, method.props) == ("signature; verification failed", {"header.d": "acme.example"})


def message(*results: str) -> bytes:
    headers = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    return (headers + "From: ada@acme.example\r\nSubject: x\r\n\r\nbody\r\n").encode()


def test_upstream_takes_only_the_named_relay():
    raw = message("evil.example; spf=pass smtp.mailfrom=ada@acme.example; dkim=pass header.d=acme.example",
                  "MX.Relay.Example; spf=fail smtp.mailfrom=ada@acme.example; dkim=none",
                  "mx.relay.example; spf=pass smtp.mailfrom=ada@acme.example")   # older, below: not used
    found = upstream_results(raw, "mx.relay.example", "acme.example")
    assert found.spf is not None and found.spf.result == "fail"
    assert [d.result for d in found.dkim] == ["none"]
    assert found.note == "from mx.relay.example; ignored Authentication-Results of evil.example"


def test_upstream_without_the_relay_header():
    found = upstream_results(message("evil.example; spf=pass smtp.mailfrom=ada@acme.example"),
                             "mx.relay.example", "acme.example")
    assert (found.spf, found.dkim) == (None, ())
    assert found.note.startswith("no Authentication-Results from mx.relay.example")


def test_upstream_dmarc_policy_from_comment_or_property():
    found = upstream_results(message(GMAIL), "mx.google.com", "acme.example")
    assert (found.dmarc.result, found.dmarc.policy, found.dkim[0].domain) == ("pass", "reject", "acme.example")
    found = upstream_results(message("relay.example; dmarc=fail policy.dmarc=reject header.from=acme.example"),
                             "relay.example", "acme.example")
    assert (found.dmarc.result, found.dmarc.policy) == ("fail", "reject")


def test_upstream_without_dmarc_computes_relaxed_alignment():
    found = upstream_results(message("relay.example; spf=pass smtp.mailfrom=bounce@mail.acme.example"),
                             "relay.example", "acme.example")
    assert (found.dmarc.result, found.dmarc.aligned) == ("none", True)
