"""Company domain changes (the old address works through its grace period) and record address
rotation (the old one stops at once), through the CLI and the real SMTP server."""

from __future__ import annotations

import json
import smtplib
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import update

from gateway.cli import cli
from gateway.store.models import FormerSlug, utcnow
from tests.support.gwtest import ThreadedGateway, seed, with_db
from tests.support.replies import assert_reply


def smartbcc(settings, *args: str):
    result = CliRunner().invoke(cli, ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url,
                                      "--mail-domain", settings.mail_domain, *args, "--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def rcpt(gateway, address: str) -> tuple[int, bytes]:
    with smtplib.SMTP(gateway.host, gateway.port, timeout=30) as smtp:
        smtp.ehlo("client.example")
        smtp.mail("ada@acme.example")
        return smtp.rcpt(address)


def test_domain_change_keeps_the_old_address_for_the_grace_period(settings):
    seeded = seed(settings)
    change = smartbcc(settings, "company", "set-domain", "acme", "acme-group.example")
    assert change["company"]["address"] == "acme-group@bcc.example.net"
    assert change["former_address"] == "acme@bcc.example.net"
    expires = change["former_expires_at"]
    assert expires[:10] == (utcnow() + timedelta(days=30)).date().isoformat()
    with ThreadedGateway(settings) as gateway:
        assert rcpt(gateway, "acme-group@bcc.example.net")[0] == 250
        assert rcpt(gateway, "acme@bcc.example.net")[0] == 250            # in its grace period
        assert rcpt(gateway, seeded.deal_address)[0] == 250               # old slug, same record token
        new_deal_address = seeded.deal_address.replace("acme+", "acme-group+")
        assert rcpt(gateway, new_deal_address)[0] == 250

        async def expire(db):
            async with db.sessions() as session, session.begin():
                await session.execute(update(FormerSlug).values(expires_at=utcnow() - timedelta(seconds=1)))
        with_db(settings, expire)
        code, reply = rcpt(gateway, "acme@bcc.example.net")
        assert_reply((code, reply), "550 5.1.1")
        assert rcpt(gateway, "acme-group@bcc.example.net")[0] == 250


def test_domain_change_with_the_same_slug_keeps_the_address(settings):
    seed(settings)
    change = smartbcc(settings, "company", "set-domain", "acme", "acme.de")
    assert change["company"]["address"] == "acme@bcc.example.net" and change["former_address"] is None


def test_back_to_the_old_domain_takes_the_old_address_back(settings):
    seed(settings)
    smartbcc(settings, "company", "set-domain", "acme", "acme-group.example")
    back = smartbcc(settings, "company", "set-domain", "acme-group", "acme.example")
    assert back["company"]["address"] == "acme@bcc.example.net"
    assert back["former_address"] == "acme-group@bcc.example.net"
    # a new company cannot take an address still in its grace period
    other = smartbcc(settings, "company", "add", "Other", "--domain", "acme-group.io")
    assert other["slug"] == "acme-group-2"


def test_rotating_a_record_address_retires_the_old_one_at_once(settings):
    seeded = seed(settings)
    rotated = smartbcc(settings, "deal", "rotate-address", str(seeded.deal_id))
    assert rotated["address"] != seeded.deal_address
    with ThreadedGateway(settings) as gateway:
        code, reply = rcpt(gateway, seeded.deal_address)
        assert_reply((code, reply), "550 5.1.1")
        assert rcpt(gateway, rotated["address"])[0] == 250
