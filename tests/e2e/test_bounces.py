"""Bounces of mail sent from a record: the message leaves through a real smarthost with an envelope sender of
its own, a delivery report (RFC 3464) comes back to that address through the gateway's real SMTP server,
and it is filed on the sent message (bounced, with its status and diagnostic) and told to the sender.
Addresses of that shape that name no sent message are refused like any unknown address."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gateway.cli import cli
from gateway.services import sending
from gateway.services.messages import message_details
from gateway.services.smarthost import OutboundError
from gateway.store import lookup
from gateway.store.models import Bounce, Notification, OutboundMail
from tests.support.gwtest import free_port, with_db
from tests.support.replies import assert_reply

DSN = (Path(__file__).parent.parent / "data" / "dsn_bounce.eml").read_bytes()


def send_quote(gateway) -> sending.SentMessage:
    return with_db(gateway.settings, lambda db: sending.send_from_record(
        db, "deal", gateway.seed.deal_id, "ada@acme.example", "bob@customer.example", "Your quote", "Hi Bob"))


def deliver(gateway, rcpts: list[str], raw: bytes, sender: str = "") -> tuple[int, bytes]:
    """MAIL FROM:<sender> (null by default, as a DSN comes), the recipients, the data: the final reply."""
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=20) as smtp:
        smtp.ehlo("mx.acme.example")
        assert smtp.mail(sender)[0] == 250
        for rcpt in rcpts:
            code, text = smtp.rcpt(rcpt)
            if code != 250:
                return code, text
        return smtp.data(raw)


def rows(settings, model) -> list:
    async def work(db):
        async with db.sessions() as session:
            return list(await session.scalars(select(model).order_by(model.id)))
    return with_db(settings, work)


def test_a_dsn_to_the_envelope_sender_is_filed_on_the_sent_message_and_told_to_the_sender(gateway, smarthost,
                                                                                          monkeypatch):
    sent = send_quote(gateway)
    [(envelope_from, _)] = smarthost.envelopes
    assert envelope_from == sent.envelope_sender
    # an out-of-office answer to the envelope sender is kept, and is no bounce
    away = (b"From: Bob <bob@customer.example>\r\nTo: " + envelope_from.encode() + b"\r\nSubject: Out of office"
            b"\r\nAuto-Submitted: auto-replied\r\n\r\nBack on Monday.\r\n")
    assert_reply(deliver(gateway, [envelope_from], away, "bob@customer.example"), "250 2.0.0")
    assert message_details_of(gateway, sent.message_pk).delivery == ""
    assert rows(gateway.settings, Notification) == []
    # the report, to the address in any case
    report = DSN.replace(b"To: acme@bcc.example.net", b"To: " + envelope_from.encode())
    assert_reply(deliver(gateway, [envelope_from.upper()], report), "250 2.0.0")
    details = message_details_of(gateway, sent.message_pk)
    assert details.delivery == "bounced"
    failed = details.bounces[-1]
    assert (failed.recipient, failed.action, failed.status) == ("nobody@customer.example", "failed", "5.1.1")
    assert failed.diagnostic.startswith("550 5.1.1 <nobody@customer.example>: Recipient address rejected")
    [kept_away, kept_report] = rows(gateway.settings, Bounce)
    assert kept_report.raw == report and kept_away.action == ""          # nothing lost: the bytes as received
    [note] = rows(gateway.settings, Notification)
    assert (note.user_id, note.kind, note.message_pk, note.record_kind, note.record_id) == (
        gateway.seed.user_id, "bounce", sent.message_pk, "deal", gateway.seed.deal_id)
    assert "Your quote" in note.text and "nobody@customer.example (5.1.1)" in note.text
    shown = CliRunner().invoke(cli, ["--database-url", gateway.settings.effective_database_url, "messages", "show",
                                     str(sent.message_pk)])
    assert shown.exit_code == 0, shown.output
    assert "delivery: bounced" in shown.output and "User unknown in virtual mailbox table" in shown.output
    # a flood to a known bounce address ends at the bound: what came is kept, no more
    monkeypatch.setattr(lookup, "BOUNCES_PER_MESSAGE", 2)
    assert_reply(deliver(gateway, [envelope_from], report), "550 5.1.1")
    assert len(rows(gateway.settings, Bounce)) == 2


def message_details_of(gateway, pk: int):
    return with_db(gateway.settings, lambda db: message_details(db, pk))


def test_bounce_addresses_that_name_no_sent_message_are_refused_and_nothing_is_stored(gateway, smarthost):
    sent = send_quote(gateway)
    token = sent.envelope_sender.split("bounce-")[1].split("@")[0]
    forged = "a" * len(token) if token != "a" * len(token) else "b" * len(token)
    for address in (f"acme+bounce-{forged}@bcc.example.net",           # no such token
                    f"globex+bounce-{token}@bcc.example.net",          # another company's slug
                    "acme+bounce-short@bcc.example.net",               # not a token's shape
                    f"nobody+bounce-{token}@bcc.example.net"):         # no such company
        assert_reply(deliver(gateway, [address], DSN), "550 5.1.1")
    # `routes test` explains both as the server decides them
    def explain(address: str) -> dict:
        import json
        done = CliRunner().invoke(cli, ["--database-url", gateway.settings.effective_database_url, "--mail-domain",
                                        gateway.settings.mail_domain, "routes", "test", address, "--json"])
        assert done.exit_code == 0, done.output
        return json.loads(done.output)
    good, bad = explain(sent.envelope_sender), explain(f"acme+bounce-{forged}@bcc.example.net")
    assert (good["rule"], good["accepted"], good["final_reply"]) == ("bounce-address", True, "250 2.1.5 Recipient OK")
    assert (bad["rule"], bad["accepted"], bad["token_current"]) == ("bounce-address", False, False)
    # a bounce address and another one of the company: the second waits for a transaction of its own
    assert_reply(deliver(gateway, [sent.envelope_sender, gateway.seed.company_address], DSN), "452 4.5.3")
    assert rows(gateway.settings, Bounce) == [] and rows(gateway.settings, Notification) == []
    # a send that does not reach the smarthost leaves no address behind to bounce to
    unreachable = gateway.settings.replace(smarthost=f"127.0.0.1:{free_port()}")
    with pytest.raises(OutboundError):
        with_db(unreachable, lambda db: sending.send_from_record(
            db, "deal", gateway.seed.deal_id, "ada@acme.example", None, "Again", "Hi", settings=unreachable))
    assert [row.message_pk for row in rows(gateway.settings, OutboundMail)] == [sent.message_pk]
