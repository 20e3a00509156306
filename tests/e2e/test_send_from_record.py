"""Sending from a record end to end: `smartbcc send` (a real process) through a real SMTP smarthost, the
message stored and linked like a Bcc'd one, and the customer's reply filed on the same deal."""

from __future__ import annotations

import json
import os
import re
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.store.models import Message, RecordEmail
from tests.support.gwtest import ThreadedGateway, messages, persons, seed, sqlite_only, with_db


def smartbcc(settings, smarthost_address: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_") or k.startswith("SMARTBCC_TEST_")}
    env.update(SMARTBCC_DATA_DIR=str(settings.data_dir), SMARTBCC_MAIL_DOMAIN=settings.mail_domain,
               SMARTBCC_SMARTHOST=smarthost_address, SMARTBCC_SMARTHOST_STARTTLS="false")
    if settings.database_url:
        env["SMARTBCC_DATABASE_URL"] = settings.database_url
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def message_row(settings, pk: int) -> Message:
    async def work(db):
        async with db.sessions() as session:
            return await session.get(Message, pk)
    return with_db(settings, work)


def test_send_from_a_deal_then_file_the_reply(settings, smarthost, tmp_path: Path):
    seeded = seed(settings)
    body = tmp_path / "body.txt"
    body.write_text("Dear Bob,\n\nhere is the offer we discussed.\n\nAda\n", encoding="utf-8")

    listed = smartbcc(settings, smarthost.address, "recipients", "deal", str(seeded.deal_id),
                      "--as", "ada@acme.example", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["email"] for r in json.loads(listed.stdout)["recipients"]] == ["bob@customer.example"]

    result = smartbcc(settings, smarthost.address, "send", "deal", str(seeded.deal_id),
                      "--as", "ada@acme.example", "--to", "bob@customer.example", "--subject", "Offer 2026-17",
                      "--body-file", str(body), "--json")
    assert result.returncode == 0, result.stderr
    sent = json.loads(result.stdout)

    # what the smarthost got
    [envelope] = smarthost.envelopes     # an envelope sender of its own: its bounces come back to it
    assert re.fullmatch(r"acme\+bounce-[a-z2-7]{24}@bcc\.example\.net", envelope[0]), envelope
    assert envelope[1] == ["bob@customer.example"] and sent["envelope_sender"] == envelope[0]
    [received] = smarthost.messages
    assert received["From"] == "Ada Lovelace <ada@acme.example>"
    assert received["To"] == "Bob Buyer <bob@customer.example>"
    assert received["Subject"] == "Offer 2026-17" and received["Date"]
    assert received["Message-ID"] == sent["message_id"]
    assert "here is the offer we discussed." in received.get_content()

    # what was stored: the very bytes sent, owned by Ada, outgoing, linked like a Bcc'd message
    [stored] = messages(settings)
    assert stored.id == sent["message_pk"] and stored.raw == smarthost.raw[0]
    assert stored.message_id == sent["message_id"] and stored.owner_user_id == seeded.user_id
    assert stored.links == {("deal", seeded.deal_id, "record-address"),
                            ("person", seeded.person_id, "participant"),
                            ("org", seeded.org_id, "participant-organization")}
    row = message_row(settings, stored.id)
    assert (row.direction, row.from_email, row.auth_verdict, row.envelope_rcpts) == (
        "outgoing", "ada@acme.example", "pass", ["bob@customer.example"])

    async def last_used(db):
        async with db.sessions() as session:
            return (await session.execute(select(RecordEmail.kind, RecordEmail.record_id, RecordEmail.email))).all()
    assert with_db(settings, last_used) == [("person", seeded.person_id, "bob@customer.example")]

    # Bob answers; Ada Bccs the gateway on her reply to him: the thread puts it on the same deal
    reply = EmailMessage()
    reply["From"] = "Ada Lovelace <ada@acme.example>"
    reply["To"] = "bob@customer.example"
    reply["Subject"] = "Re: Offer 2026-17"
    reply["Message-ID"] = "<reply-1@acme.example>"
    reply["In-Reply-To"] = sent["message_id"]
    reply.set_content("Glad you like it.\n")
    with ThreadedGateway(settings) as gateway, smtplib.SMTP(gateway.host, gateway.port, timeout=30) as smtp:
        smtp.send_message(reply, from_addr="ada@acme.example", to_addrs=[seeded.company_address])
    filed = {m.message_id: m for m in messages(settings)}["<reply-1@acme.example>"]
    assert ("deal", seeded.deal_id, "thread") in filed.links


@sqlite_only     # the smarthost refuses before anything is stored
def test_send_fails_cleanly_when_the_smarthost_refuses(settings, tmp_path: Path):
    seed(settings)
    body = tmp_path / "body.txt"
    body.write_text("Hi\n")

    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: ARG002
            return "550 5.1.1 no such user"

    from aiosmtpd.controller import Controller
    from tests.support.gwtest import free_port
    controller = Controller(Refuse(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        result = smartbcc(settings, f"127.0.0.1:{controller.port}", "send", "deal", "1", "--as",
                          "ada@acme.example", "--subject", "Hi", "--body-file", str(body))
    finally:
        controller.stop()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "did not take the message" in result.stderr or "refused" in result.stderr
    assert messages(settings) == []


def test_mail_from_a_contacts_other_address_files_on_that_contact(settings):
    """An address added with `record-email add` is the contact's: no second contact is made for it."""
    seeded = seed(settings)
    added = smartbcc(settings, "", "record-email", "add", "person", str(seeded.person_id), "bob@home.example")
    assert added.returncode == 0, added.stderr
    before = persons(settings)

    mail = EmailMessage()
    mail["From"] = "Ada Lovelace <ada@acme.example>"
    mail["To"] = "Bob at home <bob@home.example>"
    mail["Subject"] = "Weekend call"
    mail["Message-ID"] = "<home-1@acme.example>"
    mail.set_content("Shall we talk on Saturday?\n")
    with ThreadedGateway(settings) as gateway, smtplib.SMTP(gateway.host, gateway.port, timeout=30) as smtp:
        smtp.send_message(mail, from_addr="ada@acme.example", to_addrs=[seeded.company_address])

    [stored] = messages(settings)
    assert ("person", seeded.person_id, "participant") in stored.links
    assert ("org", seeded.org_id, "participant-organization") in stored.links
    assert persons(settings) == before
