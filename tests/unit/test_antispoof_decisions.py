"""SPEC "Who may send", anti-spoofing: the pure decision, row by row; then DMARC records and alignment."""

from __future__ import annotations

import pytest

from gateway.auth.alignment import aligned, org_domain
from gateway.auth.dmarc import DmarcRecord, evaluate, parse_record
from gateway.auth.verdicts import Arc, Case, Dkim, Dmarc, Results, Spf, decide, describe

ADA = "ada@acme.example"


def spf(result: str, domain: str = "acme.example") -> Spf:
    return Spf(result, domain)


def dkim(result: str, domain: str = "acme.example") -> Dkim:
    return Dkim(result, domain, "sel")


def dmarc(result: str, policy: str = "reject", domain: str = "acme.example", aligned_: bool | None = None) -> Dmarc:
    return Dmarc(result, domain, policy, aligned=result == "pass" if aligned_ is None else aligned_,
                 pending=result == "temperror")


def results(spf_=None, dkim_=(), dmarc_=None, arc=None) -> Results:
    return Results(spf_, tuple(dkim_), dmarc_, arc)


FORWARDED = Arc("pass", "forwarder.example", results(spf("pass"), [dkim("pass")]))

# (name, policy, results, sender, trusted sealers) -> (action, verdict)
DEFAULT_POLICY = [
    ("spf pass", results(spf("pass")), ADA, (), ("accept", "pass")),
    ("spf pass for a subdomain envelope (relaxed)", results(spf("pass", "bounce.acme.example")), ADA, (),
     ("accept", "pass")),
    ("dkim pass, spf fail", results(spf("fail"), [dkim("pass")]), ADA, (), ("accept", "pass")),
    ("dkim pass, no spf record", results(spf("none"), [dkim("pass")]), ADA, (), ("accept", "pass")),
    ("spf softfail, dkim pass", results(spf("softfail"), [dkim("pass")]), ADA, (), ("accept", "pass")),
    ("one of two signatures verifies", results(spf("fail"), [dkim("fail"), dkim("pass")]), ADA, (),
     ("accept", "pass")),
    ("spf fail, no signature", results(spf("fail")), ADA, (), ("refuse", "fail")),
    ("spf softfail, no signature", results(spf("softfail")), ADA, (), ("refuse", "fail")),
    ("spf neutral, no signature", results(spf("neutral")), ADA, (), ("refuse", "fail")),
    ("no spf record, no signature", results(spf("none")), ADA, (), ("refuse", "fail")),
    ("spf permerror, no signature", results(spf("permerror")), ADA, (), ("refuse", "fail")),
    ("spf fail, body altered", results(spf("fail"), [dkim("fail")]), ADA, (), ("refuse", "fail")),
    ("spf fail, dkim key missing", results(spf("fail"), [dkim("permerror")]), ADA, (), ("refuse", "fail")),
    ("nothing at all", results(), ADA, (), ("refuse", "fail")),
    # the checks must vouch for the authorizing address's domain, not just any domain
    ("spf passes for another envelope domain", results(spf("pass", "evil.example")), ADA, (), ("refuse", "fail")),
    ("a signature of another domain", results(spf("none"), [dkim("pass", "evil.example")]), ADA, (),
     ("refuse", "fail")),
    ("a sibling under a public suffix is no alignment", results(spf("pass", "evil.co.uk")), "ada@acme.co.uk", (),
     ("refuse", "fail")),
    # DNS trouble: defer while it could change the answer, never accept without a verdict
    ("spf temperror, no signature", results(spf("temperror")), ADA, (), ("defer", "temperror")),
    ("spf fail, dkim temperror", results(spf("fail"), [dkim("temperror")]), ADA, (), ("defer", "temperror")),
    ("spf temperror, dkim pass", results(spf("temperror"), [dkim("pass")]), ADA, (), ("accept", "pass")),
    ("spf pass, dkim temperror", results(spf("pass"), [dkim("temperror")]), ADA, (), ("accept", "pass")),
    ("temperror for another domain changes nothing", results(spf("temperror", "evil.example")), ADA, (),
     ("refuse", "fail")),
    ("arc temperror", results(spf("fail"), arc=Arc("temperror")), ADA, ("forwarder.example",),
     ("defer", "temperror")),
    # DMARC: a published reject of the header From is honoured
    ("dmarc reject fails", results(spf("pass", "evil.example"), dmarc_=dmarc("fail")), "x@evil.example", (),
     ("refuse", "fail")),
    ("dmarc quarantine fails: the sender's pass counts", results(spf("pass", "evil.example"),
                                                                 dmarc_=dmarc("fail", "quarantine")),
     "x@evil.example", (), ("accept", "pass")),
    ("dmarc pass alone", results(spf("none"), dmarc_=dmarc("pass")), ADA, (), ("accept", "pass")),
    # forwarded mail: ARC from a trusted sealer
    ("arc pass, trusted sealer", results(spf("fail"), [dkim("fail")], dmarc("fail"), FORWARDED), ADA,
     ("forwarder.example",), ("accept", "arc-pass")),
    ("arc pass, sealer subdomain of a trusted one", results(spf("fail"), arc=Arc(
        "pass", "mx.forwarder.example", results(spf("pass")))), ADA, ("forwarder.example",), ("accept", "arc-pass")),
    ("arc pass, any sealer trusted", results(spf("fail"), arc=FORWARDED), ADA, ("*",), ("accept", "arc-pass")),
    ("arc pass, sealer not trusted", results(spf("fail"), [dkim("fail")], dmarc("fail"), FORWARDED), ADA, (),
     ("refuse", "fail")),
    ("arc pass, but reports another domain", results(spf("fail"), arc=Arc(
        "pass", "forwarder.example", results(spf("pass", "evil.example")))), ADA, ("forwarder.example",),
     ("refuse", "fail")),
    ("arc fail", results(spf("fail"), arc=Arc("fail", "forwarder.example", None)), ADA, ("forwarder.example",),
     ("refuse", "fail")),
]


@pytest.mark.parametrize("name, found, sender, sealers, expected", DEFAULT_POLICY, ids=[r[0] for r in DEFAULT_POLICY])
def test_default_policy(name, found, sender, sealers, expected):
    judgement = decide(Case("verify", "default", sender, sender.split("@")[1], results=found,
                            trusted_sealers=sealers))
    assert (judgement.action, judgement.verdict) == expected


STRICT_POLICY = [
    ("dmarc pass", results(spf("pass"), dmarc_=dmarc("pass")), ADA, "acme.example", ("accept", "pass")),
    ("no record, aligned dkim pass", results(spf("none"), [dkim("pass")], dmarc("none", "", aligned_=True)), ADA,
     "acme.example", ("accept", "pass")),
    ("no record, nothing aligned", results(spf("pass", "evil.example"), dmarc_=dmarc("none", "")), ADA,
     "acme.example", ("refuse", "fail")),
    ("dmarc fail", results(spf("fail"), dmarc_=dmarc("fail")), ADA, "acme.example", ("refuse", "fail")),
    ("dmarc fail under p=none still refused", results(spf("fail"), dmarc_=dmarc("fail", "none")), ADA,
     "acme.example", ("refuse", "fail")),
    ("dmarc temperror", results(spf("temperror"), dmarc_=dmarc("temperror")), ADA, "acme.example",
     ("defer", "temperror")),
    ("no record, a check pending", results(spf("temperror"), dmarc_=Dmarc("none", "acme.example", pending=True)),
     ADA, "acme.example", ("defer", "temperror")),
    ("envelope sender authorized, header From elsewhere", results(spf("pass"), dmarc_=dmarc(
        "pass", domain="customer.example")), ADA, "customer.example", ("refuse", "fail")),
    ("no header From", results(spf("pass")), ADA, "", ("refuse", "fail")),
    ("arc does not override strict", results(spf("fail"), [dkim("fail")], dmarc("fail"), FORWARDED), ADA,
     "acme.example", ("refuse", "fail")),
]


@pytest.mark.parametrize("name, found, sender, from_domain, expected", STRICT_POLICY,
                         ids=[r[0] for r in STRICT_POLICY])
def test_strict_policy(name, found, sender, from_domain, expected):
    judgement = decide(Case("verify", "strict", sender, from_domain, results=found,
                            trusted_sealers=("forwarder.example",)))
    assert (judgement.action, judgement.verdict) == expected


@pytest.mark.parametrize("mode, trusted, found, expected", [
    ("none", "", results(spf("fail")), ("accept", "none-mode")),
    ("none", "127.0.0.1", None, ("accept", "none-mode")),
    ("verify", "127.0.0.1", None, ("accept", "trusted-network")),
    ("upstream", "10.0.0.5", None, ("accept", "trusted-network")),
    ("upstream", "", results(spf("pass")), ("accept", "upstream-pass")),
    ("upstream", "", results(spf("fail"), [dkim("pass")]), ("accept", "upstream-pass")),
    ("upstream", "", results(spf("fail")), ("refuse", "fail")),
    ("upstream", "", Results(note="no Authentication-Results from mx.relay.example"), ("refuse", "fail")),
    ("upstream", "", results(spf("temperror")), ("defer", "temperror")),
])
def test_modes_and_trusted_networks(mode, trusted, found, expected):
    judgement = decide(Case(mode, "default", ADA, "acme.example", trusted, found))
    assert (judgement.action, judgement.verdict) == expected


def test_the_reason_names_every_result():
    judgement = decide(Case("verify", "default", ADA, "acme.example", results=results(
        Spf("fail", "acme.example", "not authorized"), [dkim("pass"), Dkim("fail", "acme.example", "old", "bad")],
        dmarc("pass"), FORWARDED)))
    assert judgement.reason == (
        "acme.example authenticated by dkim+dmarc; spf=fail (smtp.mailfrom=acme.example: not authorized); "
        "dkim=pass (header.d=acme.example s=sel); dkim=fail (header.d=acme.example s=old: bad); "
        "dmarc=pass (header.from=acme.example p=reject); arc=pass (sealer=forwarder.example, reports "
        "spf=pass (smtp.mailfrom=acme.example), dkim=pass (header.d=acme.example s=sel), dmarc=none)")
    assert describe(Results()) == "spf=none; dkim=none (no signature); dmarc=none; arc=none"


# -- DMARC records, evaluation, alignment ---------------------------------------------------------------

@pytest.mark.parametrize("texts, subdomain, expected", [
    (["v=DMARC1; p=reject"], False, DmarcRecord("acme.example", "reject")),
    (["v=DMARC1;p=quarantine;adkim=s;aspf=s;rua=mailto:x@acme.example"], False,
     DmarcRecord("acme.example", "quarantine", "s", "s")),
    (["V=DMARC1; P=None"], False, DmarcRecord("acme.example", "none")),
    (["v=DMARC1; p=reject; sp=none"], True, DmarcRecord("acme.example", "none")),
    (["v=DMARC1; p=reject; sp=none"], False, DmarcRecord("acme.example", "reject")),
    (["v=spf1 -all"], False, None),
    (["v=DMARC1; p=reject", "v=DMARC1; p=none"], False, None),    # two records: none
    (["v=DMARC1; rua=mailto:x@acme.example"], False, None),       # no p=
    (["v=DMARC1; p=bogus"], False, None),
    ([], False, None),
])
def test_dmarc_records(texts, subdomain, expected):
    assert parse_record(texts, "acme.example", for_subdomain=subdomain) == expected


RECORD = DmarcRecord("acme.example", "reject")
STRICT_RECORD = DmarcRecord("acme.example", "reject", adkim="s", aspf="s")


@pytest.mark.parametrize("record, spf_, dkim_, error, expected", [
    (RECORD, spf("pass"), [], False, ("pass", True)),
    (RECORD, spf("pass", "mail.acme.example"), [], False, ("pass", True)),
    (STRICT_RECORD, spf("pass", "mail.acme.example"), [], False, ("fail", False)),
    (STRICT_RECORD, spf("fail"), [dkim("pass", "mail.acme.example")], False, ("fail", False)),
    (STRICT_RECORD, spf("fail"), [dkim("pass")], False, ("pass", True)),
    (RECORD, spf("pass", "evil.example"), [dkim("pass", "evil.example")], False, ("fail", False)),
    (RECORD, spf("temperror"), [], False, ("temperror", False)),
    (RECORD, spf("pass"), [], True, ("temperror", True)),     # the record itself could not be read
    (None, spf("pass"), [], False, ("none", True)),
    (None, spf("fail"), [], False, ("none", False)),
])
def test_dmarc_evaluation(record, spf_, dkim_, error, expected):
    outcome = evaluate("acme.example", record, spf_, tuple(dkim_), record_error=error)
    assert (outcome.result, outcome.aligned) == expected


@pytest.mark.parametrize("a, b, mode, expected", [
    ("acme.example", "acme.example", "s", True),
    ("mail.acme.example", "acme.example", "r", True),
    ("mail.acme.example", "acme.example", "s", False),
    ("ACME.example.", "acme.example", "s", True),
    ("acme.co.uk", "evil.co.uk", "r", False),
    ("a.acme.co.uk", "b.acme.co.uk", "r", True),
    ("", "acme.example", "r", False),
])
def test_alignment(a, b, mode, expected):
    assert aligned(a, b, mode) is expected


def test_organizational_domain():
    assert org_domain("mx.mail.acme.co.uk") == "acme.co.uk"
    assert org_domain("acme.example") == "acme.example"
    assert org_domain("co.uk") == "co.uk"
