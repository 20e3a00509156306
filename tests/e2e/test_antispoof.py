"""SPEC "Who may send", anti-spoofing, end to end: the real server, a local DNS server with the test
domains' SPF, DKIM and DMARC records, and smtplib clients bound to 127.0.0.2 or 127.0.0.3 (all of
127/8 is loopback), so that SPF sees a sender inside or outside a domain's policy.

| domain            | SPF                           | DKIM key            | DMARC                           |
| acme.example      | ip4:127.0.0.2 -all            | sel                 | p=reject                        |
| soft.example      | ip4:127.0.0.2 ~all            | sel                 | (none)                          |
| bare.example      | (none)                        | (none)              | (none)                          |
| strict.example    | -all                          | sel at mail.strict. | p=quarantine adkim=s aspf=s     |
| forwarder.example | ip4:127.0.0.3 -all            | sel, arc            | (none)                          |
| untrusted.example | (none)                        | arc                 | (none)                          |
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Callable, Iterator

import pytest
from sqlalchemy import select, update

from gateway.config import Settings, load_settings
from gateway.store.models import Company, Message, MessageRaw
from tests.support.dnstest import TestDns, arc_seal, dkim_sign, dkim_sign_without_from, publish_key
from tests.support.gwtest import ThreadedGateway, add_alternate, seed, with_db

INSIDE = "127.0.0.2"      # in acme.example's and soft.example's SPF
OUTSIDE = "127.0.0.3"     # in forwarder.example's SPF only
ALTERNATES = ("ada@soft.example", "ada@bare.example", "ada@strict.example")


def zone(server: TestDns) -> TestDns:
    server.txt("acme.example", "v=spf1 ip4:127.0.0.2 -all")
    server.txt("_dmarc.acme.example", "v=DMARC1; p=reject; rua=mailto:dmarc@acme.example")
    publish_key(server, "acme.example")
    server.txt("soft.example", "v=spf1 ip4:127.0.0.2 ~all")
    publish_key(server, "soft.example")
    server.txt("strict.example", "v=spf1 -all")
    server.txt("_dmarc.strict.example", "v=DMARC1; p=quarantine; adkim=s; aspf=s")
    publish_key(server, "mail.strict.example")
    server.txt("forwarder.example", "v=spf1 ip4:127.0.0.3 -all")
    publish_key(server, "forwarder.example")
    publish_key(server, "forwarder.example", "arc")
    publish_key(server, "untrusted.example", "arc")
    return server


def checking(settings: Settings, server: TestDns, **changes) -> Settings:
    """Settings that check everything against the test DNS server, from any client address."""
    return settings.replace(**{"dns_resolver": server.address, "dns_timeout": 0.5, "trusted_networks": "",
                               "arc_trusted_sealers": "forwarder.example", **changes})


def prepare(settings: Settings) -> None:
    seed(settings)
    for alternate in ALTERNATES:
        add_alternate(settings, "ada@acme.example", alternate, "verified")


def mail(author: str = "ada@acme.example", body: str = "Here is the quote.\n", headers: tuple[str, ...] = ()) -> bytes:
    message = EmailMessage()
    for header in headers:
        name, _, value = header.partition(": ")
        message[name] = value
    message["From"] = author
    message["To"] = "Bob Buyer <bob@customer.example>"
    message["Subject"] = "Quote"
    message["Date"] = "Mon, 06 Jan 2025 10:15:00 +0100"
    message["Message-ID"] = make_msgid(domain="test.example")
    message.set_content(body)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def send(gateway: ThreadedGateway, raw: bytes, mail_from: str, source: str = INSIDE,
         rcpt: str = "acme@bcc.example.net") -> tuple[int, bytes]:
    with smtplib.SMTP(gateway.host, gateway.port, timeout=30, source_address=(source, 0)) as smtp:
        smtp.ehlo("client.example")
        assert smtp.mail(mail_from)[0] == 250
        assert smtp.rcpt(rcpt)[0] == 250
        return smtp.data(raw)


def message_id(raw: bytes) -> str:
    return next(line.split(b": ", 1)[1].decode() for line in raw.split(b"\r\n") if line.startswith(b"Message-ID: "))


def stored(settings: Settings, raw: bytes) -> tuple[str, str, bytes] | None:
    """(auth_verdict, auth_reason, raw bytes) of the message stored for ``raw``, or None."""
    async def work(db):
        async with db.sessions() as session:
            row = (await session.execute(select(Message.auth_verdict, Message.auth_reason, MessageRaw.raw)
                                         .join(MessageRaw, MessageRaw.message_pk == Message.id)
                                         .where(Message.message_id == message_id(raw)))).one_or_none()
            return tuple(row) if row else None
    return with_db(settings, work)


def set_company(settings: Settings, **values) -> None:
    async def work(db):
        async with db.sessions() as session, session.begin():
            await session.execute(update(Company).where(Company.slug == "acme").values(**values))
    with_db(settings, work)


def altered(raw: bytes) -> bytes:
    return raw + b"Added on the way.\r\n"


def forwarded(sealer: str) -> bytes:
    """Ada's signed mail through a list at ``sealer``: it records what it saw, adds a footer (which
    breaks the DKIM signature), seals with ARC and sends it on from its own address (127.0.0.3)."""
    original = dkim_sign(mail(), "acme.example")
    seen = (f"Authentication-Results: {sealer}; spf=pass smtp.mailfrom=ada@acme.example;"
            f" dkim=pass header.d=acme.example header.s=sel; dmarc=pass header.from=acme.example\r\n").encode()
    return arc_seal(seen + altered(original), sealer)


# -- one gateway for the default policy ------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[ThreadedGateway, Settings]]:
    server = zone(TestDns()).start()
    settings = checking(load_settings(overrides={
        "data_dir": str(tmp_path_factory.mktemp("antispoof") / "data"), "mail_domain": "bcc.example.net",
        "port": 0}, environ={}), server)
    prepare(settings)
    try:
        with ThreadedGateway(settings) as gateway:
            yield gateway, settings
    finally:
        server.stop()


@dataclass(frozen=True)
class Row:
    name: str
    source: str
    mail_from: str
    build: Callable[[], bytes]
    code: int
    detail: str        # in the stored reason (accepted) or the logged refusal (refused)


ADA = "ada@acme.example"
DEFAULT_ROWS = [
    Row("spf pass", INSIDE, ADA, lambda: mail(), 250, "spf=pass (smtp.mailfrom=acme.example"),
    Row("spf fail", OUTSIDE, ADA, lambda: mail(), 550, "spf=fail (smtp.mailfrom=acme.example"),
    Row("spf fail, dkim pass", OUTSIDE, ADA, lambda: dkim_sign(mail(), "acme.example"), 250,
        "dkim=pass (header.d=acme.example s=sel)"),
    Row("spf softfail", OUTSIDE, "ada@soft.example", lambda: mail("ada@soft.example"), 550, "spf=softfail"),
    Row("spf softfail, dkim pass", OUTSIDE, "ada@soft.example",
        lambda: dkim_sign(mail("ada@soft.example"), "soft.example"), 250, "soft.example authenticated by dkim"),
    Row("spf pass under ~all", INSIDE, "ada@soft.example", lambda: mail("ada@soft.example"), 250,
        "soft.example authenticated by spf"),
    Row("no spf record, no signature", INSIDE, "ada@bare.example", lambda: mail("ada@bare.example"), 550,
        "spf=none"),
    Row("dkim fail: body altered", OUTSIDE, ADA, lambda: altered(dkim_sign(mail(), "acme.example")), 550,
        "dkim=fail (header.d=acme.example s=sel: body hash mismatch)"),
    # a signature vouches only for what it covers: the author (RFC 6376 6.1.1) and the whole body
    Row("dkim h= without From", OUTSIDE, ADA, lambda: dkim_sign_without_from(mail(), "acme.example"), 550,
        "dkim=permerror (header.d=acme.example s=sel: h= does not cover From (RFC 6376 6.1.1))"),
    Row("dkim l= shorter than the body", OUTSIDE, ADA,
        lambda: altered(dkim_sign(mail(), "acme.example", length=True)), 550,
        "dkim=policy (header.d=acme.example s=sel: l=20 covers part of a 39-byte body)"),
    Row("dkim l= covering the whole body", OUTSIDE, ADA, lambda: dkim_sign(mail(), "acme.example", length=True),
        250, "acme.example authenticated by dkim"),
    Row("dkim key missing", OUTSIDE, ADA, lambda: dkim_sign(mail(), "acme.example", "gone", "acme.example"), 550,
        "dkim=permerror (header.d=acme.example s=gone: no key at gone._domainkey.acme.example)"),
    # a pass for some other domain does not vouch for the address that authorized the message
    Row("spf passes for another envelope domain", OUTSIDE, "list@forwarder.example", lambda: mail("ada@soft.example"),
        550, "neither SPF nor DKIM passes for soft.example; spf=pass (smtp.mailfrom=forwarder.example"),
    Row("a signature of another domain", OUTSIDE, "ada@soft.example",
        lambda: dkim_sign(mail("ada@soft.example"), "forwarder.example"), 550,
        "neither SPF nor DKIM passes for soft.example; spf=softfail"),
    Row("dmarc p=reject of the header From", OUTSIDE, "list@forwarder.example", lambda: mail(), 550,
        "DMARC fails for header From acme.example, whose policy is reject"),
    Row("dkim of a subdomain (relaxed)", OUTSIDE, "ada@strict.example",
        lambda: dkim_sign(mail("ada@strict.example"), "mail.strict.example"), 250,
        "strict.example authenticated by dkim"),
    Row("envelope sender authorizes, header From elsewhere", INSIDE, ADA, lambda: mail("bob@customer.example"),
        250, "acme.example authenticated by spf"),
    Row("forwarded, ARC sealed by a trusted sealer", OUTSIDE, "bounce@forwarder.example",
        lambda: forwarded("forwarder.example"), 250,
        "forwarded: the ARC chain sealed by forwarder.example vouches for acme.example"),
    Row("forwarded, ARC sealed by an untrusted sealer", OUTSIDE, "bounce@forwarder.example",
        lambda: forwarded("untrusted.example"), 550, "arc=pass (sealer=untrusted.example"),
]


@pytest.mark.parametrize("row", DEFAULT_ROWS, ids=[row.name for row in DEFAULT_ROWS])
def test_default_policy(world, row: Row, caplog):
    gateway, settings = world
    caplog.set_level(logging.INFO, logger="smartbcc.smtp")
    raw = row.build()
    code, reply = send(gateway, raw, row.mail_from, row.source)
    assert code == row.code, reply
    found = stored(settings, raw)
    if code == 250:
        assert found is not None and found[2] == raw
        assert found[0] == ("arc-pass" if "ARC" in row.name else "pass")
        assert row.detail in found[1], found[1]
    else:
        assert reply.startswith(b"5.7.1 ")
        assert found is None
        refusals = [r.getMessage() for r in caplog.records if "DATA refused 550 5.7.1" in r.getMessage()]
        assert refusals and row.detail in refusals[-1], refusals


def test_the_stored_reason_has_every_result(world):
    gateway, settings = world
    raw = dkim_sign(mail(), "acme.example")
    assert send(gateway, raw, ADA)[0] == 250
    verdict, reason, _ = stored(settings, raw)
    sender, _, checks = reason.partition("; ")
    assert (verdict, sender) == ("pass", "ada@acme.example is user 1's login address")
    assert checks == (
        "acme.example authenticated by spf+dkim+dmarc; "
        "spf=pass (smtp.mailfrom=acme.example: sender SPF authorized); dkim=pass (header.d=acme.example s=sel); "
        "dmarc=pass (header.from=acme.example p=reject); arc=none")


# -- DNS trouble: 451, then the retry gets in ------------------------------------------------------------

@pytest.fixture
def dns_server() -> Iterator[TestDns]:
    server = zone(TestDns()).start()
    yield server
    server.stop()


def test_dns_timeout_defers_and_the_retry_gets_in(settings, dns_server):
    settings = checking(settings, dns_server)
    prepare(settings)
    raw = mail()
    with ThreadedGateway(settings) as gateway:
        dns_server.timeouts.add("acme.example")
        code, reply = send(gateway, raw, ADA)
        assert (code, reply[:6]) == (451, b"4.7.0 ")
        assert stored(settings, raw) is None
        dns_server.timeouts.clear()
        code, reply = send(gateway, raw, ADA)
        assert code == 250, reply
    verdict, reason, kept = stored(settings, raw)
    assert (verdict, kept) == ("pass", raw)
    assert "spf=pass (smtp.mailfrom=acme.example" in reason and "dmarc=pass" in reason


@pytest.mark.parametrize("policy, trouble, name, source, signed", [
    ("default", "servfail", "acme.example", INSIDE, False),                 # SPF temperror, no signature
    ("default", "timeouts", "sel._domainkey.acme.example", OUTSIDE, True),  # SPF fails, the key times out
    ("strict", "servfail", "_dmarc.acme.example", INSIDE, False),           # the policy cannot be read
])
def test_dns_errors_defer(sqlite_settings, dns_server, policy, trouble, name, source, signed):
    settings = checking(sqlite_settings, dns_server, antispoof_policy=policy)
    prepare(settings)
    getattr(dns_server, trouble).add(name)
    raw = dkim_sign(mail(), "acme.example") if signed else mail()
    with ThreadedGateway(settings) as gateway:
        code, reply = send(gateway, raw, ADA, source)
    assert (code, reply[:6]) == (451, b"4.7.0 "), reply
    assert stored(settings, raw) is None
    assert (name, "TXT") in dns_server.queries


@pytest.mark.parametrize("name, signed", [
    ("acme.example", True),            # SPF temperror, but the signature verifies
    ("_dmarc.acme.example", False),    # DMARC record unreadable, but SPF passes for the sender
])
def test_a_pass_needs_no_retry_when_another_check_fails_temporarily(sqlite_settings, dns_server, name, signed):
    settings = checking(sqlite_settings, dns_server)
    prepare(settings)
    dns_server.servfail.add(name)
    raw = dkim_sign(mail(), "acme.example") if signed else mail()
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, raw, ADA)[0] == 250
    assert "temperror" in stored(settings, raw)[1]


# -- modes, policies, trusted networks, company overrides -----------------------------------------------

def test_trusted_network_skips_the_checks(sqlite_settings, dns_server):
    settings = sqlite_settings.replace(dns_resolver=dns_server.address, dns_timeout=0.5)   # 127.0.0.0/8 trusted
    prepare(settings)
    raw = mail()
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, raw, ADA, OUTSIDE)[0] == 250
    verdict, reason, _ = stored(settings, raw)
    assert (verdict, dns_server.queries) == ("trusted-network", [])
    assert "client 127.0.0.3 is in trusted_networks" in reason


def test_mode_none_checks_nothing(sqlite_settings, dns_server):
    settings = checking(sqlite_settings, dns_server, antispoof="none")
    prepare(settings)
    raw = mail()
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, raw, ADA, OUTSIDE)[0] == 250
    assert stored(settings, raw)[0] == "none-mode"
    assert dns_server.queries == []


def test_strict_policy_asks_for_a_dmarc_aligned_pass(sqlite_settings, dns_server):
    settings = checking(sqlite_settings, dns_server, antispoof_policy="strict")
    prepare(settings)
    aligned = mail()
    subdomain = dkim_sign(mail("ada@strict.example"), "mail.strict.example")    # adkim=s: not aligned
    elsewhere = mail("bob@customer.example")                                   # envelope sender authorizes
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, aligned, ADA)[0] == 250
        assert send(gateway, subdomain, "ada@strict.example", OUTSIDE)[:1] == (550,)
        assert send(gateway, elsewhere, ADA)[:1] == (550,)
    assert stored(settings, aligned)[0] == "pass"
    assert "DMARC-aligned pass for header From acme.example" in stored(settings, aligned)[1]
    assert stored(settings, subdomain) is None and stored(settings, elsewhere) is None


def test_company_overrides_win(settings, dns_server):
    settings = checking(settings, dns_server)
    prepare(settings)
    spoof = mail()
    subdomain = dkim_sign(mail("ada@strict.example"), "mail.strict.example")
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, spoof, ADA, OUTSIDE)[0] == 550
        set_company(settings, antispoof_mode="none")
        assert send(gateway, spoof, ADA, OUTSIDE)[0] == 250
        set_company(settings, antispoof_mode=None, antispoof_policy="strict")
        assert send(gateway, subdomain, "ada@strict.example", OUTSIDE)[0] == 550
    assert stored(settings, spoof)[0] == "none-mode"

    deployment_off = settings.replace(antispoof="none")
    set_company(deployment_off, antispoof_mode="verify", antispoof_policy=None)
    other = mail()
    with ThreadedGateway(deployment_off) as gateway:
        assert send(gateway, other, ADA, OUTSIDE)[0] == 550
        assert send(gateway, other, ADA, INSIDE)[0] == 250
    assert stored(settings, other)[0] == "pass"


def test_upstream_mode_believes_only_the_named_relay(sqlite_settings, dns_server):
    settings = sqlite_settings.replace(antispoof="upstream", upstream_authserv_id="mx.relay.example",
                                       upstream_networks="127.0.0.1/32", trusted_networks="",
                                       dns_resolver=dns_server.address)
    prepare(settings)
    relay = "mx.relay.example; spf=pass smtp.mailfrom=ada@acme.example; dkim=none"
    forged = "evil.example; spf=pass smtp.mailfrom=ada@acme.example; dkim=pass header.d=acme.example"
    relay_fail = ("mx.relay.example; spf=fail smtp.mailfrom=ada@acme.example; dkim=none;"
                  " dmarc=fail header.from=acme.example")
    good = mail(headers=(f"Authentication-Results: {relay}", f"Authentication-Results: {forged}"))
    only_forged = mail(headers=(f"Authentication-Results: {forged}",))
    forged_on_top = mail(headers=(f"Authentication-Results: {forged}", f"Authentication-Results: {relay_fail}"))
    with ThreadedGateway(settings) as gateway:        # the relay connects from 127.0.0.1
        assert send(gateway, good, ADA, "127.0.0.1")[0] == 250
        assert send(gateway, only_forged, ADA, "127.0.0.1")[0] == 550
        assert send(gateway, forged_on_top, ADA, "127.0.0.1")[0] == 550
    verdict, reason, kept = stored(settings, good)
    assert (verdict, kept) == ("upstream-pass", good)        # the other header is ignored, not removed
    assert "from mx.relay.example; ignored Authentication-Results of evil.example" in reason
    assert dns_server.queries == []


def test_upstream_mode_believes_authentication_results_only_from_the_relay(sqlite_settings, dns_server):
    """A stranger connecting directly with a header in the relay's name gets the checks made here."""
    settings = checking(sqlite_settings, dns_server, antispoof="upstream", upstream_authserv_id="mx.relay.example",
                        upstream_networks="127.0.0.1/32")
    prepare(settings)
    forged = "mx.relay.example; spf=pass smtp.mailfrom=ada@acme.example; dkim=pass header.d=acme.example"
    spoof = mail(headers=(f"Authentication-Results: {forged}",))
    signed = dkim_sign(mail(headers=(f"Authentication-Results: {forged}",)), "acme.example")
    relayed = mail(headers=(f"Authentication-Results: {forged}",))
    with ThreadedGateway(settings) as gateway:
        code, reply = send(gateway, spoof, ADA, OUTSIDE)              # straight from 127.0.0.3
        assert (code, reply[:6]) == (550, b"5.7.1 "), reply
        assert send(gateway, signed, ADA, OUTSIDE)[0] == 250          # a stranger that passes the checks
        assert send(gateway, relayed, ADA, "127.0.0.1")[0] == 250     # the relay itself
    assert stored(settings, spoof) is None
    verdict, reason, _ = stored(settings, signed)
    assert verdict == "pass" and "dkim=pass (header.d=acme.example s=sel)" in reason
    assert "client 127.0.0.3 is not in upstream_networks: checked here" in reason
    assert stored(settings, relayed)[0] == "upstream-pass"

