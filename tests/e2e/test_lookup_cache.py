"""The serving process keeps its company and sender lookups between messages (gateway.store.lookup_cache),
and drops them the moment another process changes those tables: an admin's change through the CLI (its
own Database, as a separate process has) counts from the next message, never later."""

from __future__ import annotations

import json
import smtplib

from click.testing import CliRunner
from sqlalchemy import text

from gateway.cli import cli
from tests.support.gwtest import ThreadedGateway, seed, with_db
from tests.support.messages import COMPANY, USER, message


def smartbcc(settings, *args: str):
    result = CliRunner().invoke(cli, ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url,
                                      "--mail-domain", settings.mail_domain, *args, "--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def send(gateway, rcpt: str = COMPANY) -> tuple[int, str]:
    """One message from Ada; the reply to RCPT when it is refused, else the reply to the data."""
    with smtplib.SMTP(gateway.host, gateway.port, timeout=30) as smtp:
        smtp.ehlo("client.example")
        smtp.mail(USER)
        code, reply = smtp.rcpt(rcpt)
        if code != 250:
            return code, reply.decode()
        code, reply = smtp.data(message())
        return code, reply.decode()


def test_changes_made_by_another_process_count_from_the_next_message(settings):
    seed(settings)
    with ThreadedGateway(settings) as gateway:
        assert gateway.gateway is not None
        lookups = gateway.gateway.db.lookups
        assert send(gateway)[0] == 250
        assert send(gateway)[0] == 250
        assert lookups.hits >= 2          # the second message's company and sender came from what was kept

        smartbcc(settings, "user", "deactivate", USER)
        code, reply = send(gateway)
        assert (code, reply[:5]) == (550, "5.7.1"), reply
        smartbcc(settings, "user", "activate", USER)
        assert send(gateway)[0] == 250

        smartbcc(settings, "company", "set-domain", "acme", "acme-group.example")
        assert send(gateway, "acme-group@bcc.example.net")[0] == 250
        assert send(gateway, COMPANY)[0] == 250                      # the old address, in its grace period

        async def expire_by_hand(db):     # plain SQL, no service: the triggers still see it
            async with db.sessions() as session, session.begin():
                await session.execute(text("UPDATE former_slugs SET slug = 'gone'"))
        with_db(settings, expire_by_hand)
        code, reply = send(gateway, COMPANY)
        assert (code, reply[:5]) == (550, "5.1.1"), reply
