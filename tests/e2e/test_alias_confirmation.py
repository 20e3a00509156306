"""Alternate sender addresses proven by mail: the confirmation goes out through a real SMTP smarthost,
and the reply comes back through the gateway's own SMTP server."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from gateway.services.smarthost import OutboundError
from gateway.store.models import AlternateAddress, utcnow
from gateway.services.aliases import VerificationError, send_confirmation, status_now, verify_code
from tests.support.gwtest import ThreadedGateway, add_alternate, free_port, seed, with_db
from tests.support.replies import assert_reply


@pytest.fixture
def setup(settings, smarthost):
    settings = settings.replace(smarthost=smarthost.address, smarthost_starttls=False)
    seeded = seed(settings)
    add_alternate(settings, "ada@acme.example", "ada.phone@mobile.example", "pending")
    return settings, seeded, smarthost


def alias(settings, email="ada.phone@mobile.example") -> AlternateAddress:
    async def work(db):
        async with db.sessions() as session:
            return await session.scalar(select(AlternateAddress).where(AlternateAddress.email == email))
    return with_db(settings, work)


def confirm(settings) -> tuple[str, str]:
    """Send the confirmation; returns (code, reply address) read from the mail as the person gets it."""
    alias_id = alias(settings).id
    sent = with_db(settings, lambda db: send_confirmation(db, settings, alias_id))
    assert "queued as CAPTURED" in sent.smarthost_reply
    return sent.reply_address, sent.email


def mail_from(sender: str, to: str = "bob@customer.example", subject: str = "Hi") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '')}.{sender}>"
    message.set_content("text")
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def send(gateway, sender, rcpt, data) -> tuple[int, bytes]:
    with smtplib.SMTP(gateway.host, gateway.port, timeout=30) as smtp:
        smtp.ehlo("phone.example")
        smtp.mail(sender)
        code, text = smtp.rcpt(rcpt)
        if code != 250:
            return code, text
        return smtp.data(data)


def test_confirmation_mail_carries_a_code_and_a_reply_address(setup):
    settings, seeded, capture = setup
    reply_address, email = confirm(settings)
    [message] = capture.messages
    assert message["To"] == "ada.phone@mobile.example"
    assert message["Reply-To"] == reply_address
    assert re.fullmatch(r"acme\+verify-[0-9a-f]{16}@bcc\.example\.net", reply_address)
    assert capture.envelopes == [("smartbcc@bcc.example.net", ["ada.phone@mobile.example"])]
    body = message.get_content()
    code = re.search(r"\b(\d{4}-\d{4})\b", body).group(1)
    stored = alias(settings)
    assert stored.code_hash and code.replace("-", "") not in stored.code_hash   # only a keyed hash is kept
    assert status_now(stored) == "pending"


def test_round_trip_by_reply(setup):
    settings, seeded, capture = setup
    reply_address, _ = confirm(settings)
    with ThreadedGateway(settings) as gateway:
        # before confirmation: refused
        code, _ = send(gateway, "ada.phone@mobile.example", seeded.company_address,
                       mail_from("ada.phone@mobile.example", subject="too early"))
        assert code == 550
        # someone else cannot confirm it
        code, text = send(gateway, "mallory@evil.example", reply_address, mail_from("mallory@evil.example"))
        assert_reply((code, text), "550 5.7.1")
        # the alternate mailbox replies to the confirmation
        code, text = send(gateway, "ada.phone@mobile.example", reply_address,
                          mail_from("ada.phone@mobile.example", to=reply_address, subject="Re: Confirm"))
        assert (code, text) == (250, b"2.0.0 Address confirmed")
        # the reply address is used up
        code, text = send(gateway, "ada.phone@mobile.example", reply_address, mail_from("ada.phone@mobile.example"))
        assert_reply((code, text), "550 5.1.1")
        # and now mail from the phone files as Ada's
        code, _ = send(gateway, "ada.phone@mobile.example", seeded.company_address,
                       mail_from("ada.phone@mobile.example", subject="from my phone"))
        assert code == 250
    assert alias(settings).status == "verified"


def test_round_trip_by_code(setup):
    settings, seeded, capture = setup
    confirm(settings)
    code = re.search(r"\b(\d{4}-\d{4})\b", capture.messages[-1].get_content()).group(1)
    with pytest.raises(VerificationError, match="no pending"):
        with_db(settings, lambda db: verify_code(db, "0000-0000" if code != "0000-0000" else "1111-1111"))
    verified = with_db(settings, lambda db: verify_code(db, code))
    assert verified.email == "ada.phone@mobile.example" and alias(settings).status == "verified"
    with pytest.raises(VerificationError, match="no pending"):
        with_db(settings, lambda db: verify_code(db, code))   # one time only


def test_resend_replaces_the_code_and_expired_codes_fail(setup):
    settings, seeded, capture = setup
    confirm(settings)
    first = re.search(r"\b(\d{4}-\d{4})\b", capture.messages[-1].get_content()).group(1)
    confirm(settings)
    second = re.search(r"\b(\d{4}-\d{4})\b", capture.messages[-1].get_content()).group(1)
    if first != second:
        with pytest.raises(VerificationError):
            with_db(settings, lambda db: verify_code(db, first))

    async def expire(db):
        async with db.sessions() as session, session.begin():
            row = await session.scalar(select(AlternateAddress))
            row.code_expires_at = utcnow() - timedelta(minutes=1)
    with_db(settings, expire)
    assert status_now(alias(settings)) == "expired"
    with pytest.raises(VerificationError, match="expired"):
        with_db(settings, lambda db: verify_code(db, second))


def test_expired_reply_address_is_unknown(setup):
    settings, seeded, capture = setup
    reply_address, _ = confirm(settings)

    async def expire(db):
        async with db.sessions() as session, session.begin():
            row = await session.scalar(select(AlternateAddress))
            row.code_expires_at = utcnow() - timedelta(minutes=1)
    with_db(settings, expire)
    with ThreadedGateway(settings) as gateway:
        code, text = send(gateway, "ada.phone@mobile.example", reply_address, mail_from("ada.phone@mobile.example"))
    assert_reply((code, text), "550 5.1.1")


def test_no_smarthost_is_a_clear_error(settings):
    seed(settings)
    add_alternate(settings, "ada@acme.example", "ada.phone@mobile.example", "pending")
    alias_id = alias(settings).id
    with pytest.raises(OutboundError, match="SMARTBCC_SMARTHOST"):
        with_db(settings, lambda db: send_confirmation(db, settings, alias_id))


def test_unreachable_smarthost_is_a_clear_error(settings):
    settings = settings.replace(smarthost=f"127.0.0.1:{free_port()}", smarthost_starttls=False)
    seed(settings)
    add_alternate(settings, "ada@acme.example", "ada.phone@mobile.example", "pending")
    alias_id = alias(settings).id
    with pytest.raises(OutboundError, match="cannot reach smarthost"):
        with_db(settings, lambda db: send_confirmation(db, settings, alias_id))


def test_cli_add_mail_reply_accepted(gateway, smarthost):
    """The whole round trip an admin and a salesperson make: `smartbcc alias add`, the mail arrives,
    the phone replies to it through the gateway, and mail from the phone is filed."""
    import json
    from click.testing import CliRunner
    from gateway.cli import cli

    settings, seeded = gateway.settings, gateway.seed
    result = CliRunner().invoke(cli, ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url,
                                      "--mail-domain", settings.mail_domain, "alias", "add", "ada@acme.example",
                                      "ada.phone@mobile.example", "--json"],
                                env={"SMARTBCC_SMARTHOST": smarthost.address, "SMARTBCC_SMARTHOST_STARTTLS": "false"})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "pending"
    [confirmation] = smarthost.messages
    reply_address = confirmation["Reply-To"]
    code, _ = send(gateway, "ada.phone@mobile.example", reply_address,
                   mail_from("ada.phone@mobile.example", to=reply_address, subject="Re: Confirm"))
    assert code == 250
    code, _ = send(gateway, "ada.phone@mobile.example", seeded.company_address,
                   mail_from("ada.phone@mobile.example", subject="from the phone"))
    assert code == 250
    assert alias(settings).status == "verified"
