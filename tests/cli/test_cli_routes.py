"""`smartbcc routes test`: the routing decision for an address, checked against the store."""

from __future__ import annotations

from datetime import timedelta

from tests.support.clitest import run_db


def test_company_record_and_refusals(seeded, smartbcc):
    company = smartbcc.json("routes", "test", "ACME@bcc.example.net")
    assert company | {"reason": ""} == {
        "address": "acme@bcc.example.net", "rule": "company-address", "target": "company", "reason": "",
        "reply": None, "slug": "acme", "kind": "", "record_id": 0, "token": "", "database_checked": True,
        "database_note": "", "company": "acme", "former_slug": False, "record_exists": None,
        "token_current": None, "accepted": True, "verdict": "accepted for company 'acme'",
        "final_reply": "250 2.1.5 Recipient OK"}
    record = smartbcc.json("routes", "test", seeded.deal["address"])
    assert (record["rule"], record["kind"], record["record_id"], record["record_exists"]) == (
        "record-address", "deal", seeded.deal["id"], True)
    assert record["verdict"] == f"accepted for deal {seeded.deal['id']} of company 'acme'"
    in_other = seeded.deal["address"].replace("acme+", "globex+")
    assert smartbcc.json("routes", "test", in_other)["record_exists"] is False
    cases = {
        "nobody@bcc.example.net": ("company-address", "550 5.1.1", "no company 'nobody'"),
        "acme+deal-1-zzzz@bcc.example.net": ("record-address", "550 5.1.1", "token is not the current one"),
        "acme+junk@bcc.example.net": ("unknown-address", "550 5.1.1", "refused by rule unknown-address"),
        "acme@elsewhere.example": ("foreign-domain", "550 5.7.1", "not the gateway's mail domain"),
        "not an address": ("malformed", "553 5.1.3", "not an address of the form name@domain"),
        "acme+verify-0123456789abcdef@bcc.example.net": ("verify-reply", "550 5.1.1", "no pending address"),
    }
    for address, (rule, reply, verdict) in cases.items():
        found = smartbcc.json("routes", "test", address)
        assert (found["rule"], found["final_reply"][:9], found["accepted"]) == (rule, reply, False), address
        assert verdict in found["verdict"], (address, found["verdict"])
    text = smartbcc.ok("routes", "test", seeded.deal["address"])
    for expected in ("rule:", "record-address", "token current: yes", "RCPT TO reply: 250 2.1.5"):
        assert expected in text, expected
    assert "550 5.7.1 Relaying denied" in smartbcc.ok("routes", "test", "x@elsewhere.example")


def test_former_slug_and_confirmation_reply(seeded, smartbcc, settings):
    smartbcc.ok("alias", "add", "ada@acme.example", "ada@home.example", "--no-mail")

    async def work(db) -> None:  # type: ignore[no-untyped-def]
        from sqlalchemy import select

        from gateway.store.models import AlternateAddress, FormerSlug, utcnow
        async with db.sessions() as session, session.begin():
            session.add(FormerSlug(slug="oldacme", company_id=seeded.acme["id"],
                                   expires_at=utcnow() + timedelta(days=3)))
            session.add(FormerSlug(slug="ancient", company_id=seeded.acme["id"],
                                   expires_at=utcnow() - timedelta(days=3)))
            alias = await session.scalar(select(AlternateAddress))
            alias.reply_token, alias.code_expires_at = "0123456789abcdef", utcnow() + timedelta(hours=1)
    run_db(settings, work)
    former = smartbcc.json("routes", "test", "oldacme@bcc.example.net")
    assert (former["accepted"], former["former_slug"], former["company"]) == (True, True, "acme")
    assert "grace period" in smartbcc.ok("routes", "test", "oldacme@bcc.example.net")
    assert smartbcc.json("routes", "test", "ancient@bcc.example.net")["accepted"] is False
    reply = smartbcc.json("routes", "test", "acme+verify-0123456789abcdef@bcc.example.net")
    assert reply["accepted"] is True and "confirmation reply for ada@home.example" in reply["verdict"]
    company = smartbcc.json("company", "add", "Old Acme", "--domain", "oldacme.example")
    assert company["slug"] == "oldacme-2"      # a former address in its grace period is not reused


def test_without_a_database_the_decision_is_still_explained(bare):
    found = bare.json("routes", "test", "acme@bcc.example.net")
    assert (found["rule"], found["database_checked"], found["accepted"]) == ("company-address", False, None)
    assert "run `smartbcc init` first" in found["database_note"]
    assert "cannot tell" in bare.ok("routes", "test", "acme@bcc.example.net")
    assert bare.json("routes", "test", "x@elsewhere.example")["final_reply"] == "550 5.7.1 Relaying denied"


def test_routes_test_says_what_a_live_rcpt_does(seeded, smartbcc, settings, caplog):
    """On a table of addresses, `routes test` gives the reply the running server gives to RCPT TO, and
    the reason it logs for a refusal is the one `routes test` prints."""
    import logging
    import smtplib
    from dataclasses import replace

    from tests.support.gwtest import ThreadedGateway

    smartbcc.ok("alias", "add", "ada@acme.example", "ada@home.example", "--no-mail")

    async def pending(db) -> None:  # type: ignore[no-untyped-def]
        from sqlalchemy import select

        from gateway.store.models import AlternateAddress, utcnow
        async with db.sessions() as session, session.begin():
            alias = await session.scalar(select(AlternateAddress))
            alias.reply_token, alias.code_expires_at = "0123456789abcdef", utcnow() + timedelta(hours=1)
    run_db(settings, pending)
    rotated = seeded.deal["address"]
    current = smartbcc.json("deal", "rotate-address", seeded.deal["id"])["address"]
    local, _, domain = current.partition("@")
    forged = f"{local[:-4]}{'a' if local[-4] != 'a' else 'b'}{local[-3:]}@{domain}"
    addresses = [
        "acme@bcc.example.net", current, rotated, forged, current.replace("acme+", "globex+"),
        "acme+verify-0123456789abcdef@bcc.example.net", "acme+verify-fedcba9876543210@bcc.example.net",
        "nobody@bcc.example.net", "acme+junk@bcc.example.net", "acme@elsewhere.example",
    ]
    explained = {address: smartbcc.json("routes", "test", address) for address in addresses}
    caplog.set_level(logging.INFO, logger="smartbcc.smtp")
    live: dict[str, str] = {}
    with ThreadedGateway(replace(settings, error_sleep_time=0.0)) as gateway, \
            smtplib.SMTP(gateway.host, gateway.port, timeout=30) as smtp:
        smtp.ehlo("client.example")
        for address in addresses:
            smtp.mail("ada@acme.example")
            code, text = smtp.rcpt(address)
            live[address] = f"{code} {text.decode()}"
            smtp.rset()
    refusals = [record.getMessage() for record in caplog.records if " RCPT refused " in record.getMessage()]
    assert sum(found["accepted"] for found in explained.values()) == 3          # company, record, confirmation
    for address, found in explained.items():
        assert live[address] == found["final_reply"], (address, live[address], found)
        if not found["accepted"]:
            why = found["verdict"].split(": ", 1)[1]
            assert any(line.endswith(f"{address}: {why}") for line in refusals), (address, why, refusals)
