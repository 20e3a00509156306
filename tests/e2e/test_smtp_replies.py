"""SPEC's SMTP reply table, row by row, against the real server on a loopback port (smtplib)."""

from __future__ import annotations

import asyncio
import smtplib

import pytest
from sqlalchemy import text

from gateway.store.models import Message, MessageRaw, Person
from tests.support.gwtest import ThreadedGateway, add_alternate, count, messages, with_db
from tests.support.messages import message
from tests.support.replies import assert_reply


def client(gateway: ThreadedGateway) -> smtplib.SMTP:
    smtp = smtplib.SMTP(gateway.host, gateway.port, timeout=30)
    smtp.ehlo("client.example")
    return smtp


def transaction(gateway, sender, rcpts, data):
    """One MAIL/RCPT/DATA exchange; returns the replies (code, text) in order."""
    with client(gateway) as smtp:
        replies = [smtp.mail(sender)]
        for rcpt in rcpts:
            replies.append(smtp.rcpt(rcpt))
        if data is not None:
            replies.append(smtp.data(data))
        return replies


def test_ehlo_advertises_the_extensions(gateway):
    with client(gateway) as smtp:
        for extension in ("size", "8bitmime", "smtputf8", "pipelining", "enhancedstatuscodes"):
            assert smtp.has_extn(extension), extension
        assert smtp.esmtp_features["size"] == str(20 * 1024 * 1024)
        assert not smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")


def test_accepted_message_is_stored_exactly_and_filed(gateway, settings):
    raw = message(subject="Quote for Bob")
    replies = transaction(gateway, "ada@acme.example", [gateway.seed.company_address], raw)
    assert_reply(replies[0], "250 2.1.0")
    assert_reply(replies[1], "250 2.1.5")
    assert_reply(replies[2], "250 2.0.0")
    [stored] = messages(settings)
    assert stored.raw == raw
    assert stored.subject == "Quote for Bob"
    assert stored.owner_user_id == gateway.seed.user_id
    assert stored.visibility == "private"
    seed_ = gateway.seed
    assert stored.links == {
        ("person", seed_.person_id, "participant"),
        ("org", seed_.org_id, "participant-organization"),
        ("deal", seed_.deal_id, "only-open-deal"),
    }


@pytest.mark.parametrize("megabytes", [1, 19])
def test_large_message_is_stored_byte_for_byte(gateway, settings, megabytes):
    """Large messages take other roads (the parsing process, the blob written in place on SQLite)."""
    line = "".join(chr(33 + i % 90) for i in range(76)) + "\n"
    body = ".leading dot, stuffed in transit\n" + line * (megabytes * 1024 * 1024 // len(line))
    raw = message(subject=f"{megabytes} MB", body=body)
    assert len(raw) > megabytes * 1024 * 1024
    replies = transaction(gateway, "ada@acme.example", [gateway.seed.company_address], raw)
    assert replies[-1][0] == 250, replies
    [stored] = messages(settings)
    assert len(stored.raw) == len(raw) and stored.raw == raw
    assert stored.subject == f"{megabytes} MB"
    assert ("deal", gateway.seed.deal_id, "only-open-deal") in stored.links


def test_mail_from_size_above_limit_is_552(gateway):
    with client(gateway) as smtp:
        code, reply = smtp.mail("ada@acme.example", ["SIZE=%d" % (20 * 1024 * 1024 + 1)])
    assert_reply((code, reply), "552 5.3.4")


@pytest.mark.gateway_settings(max_message_size=50_000)
def test_data_beyond_limit_is_552_and_nothing_stored(gateway):
    big = message() + (b"y" * 70 + b"\r\n") * 900
    replies = transaction(gateway, "ada@acme.example", [gateway.seed.company_address], big)
    assert_reply(replies[-1], "552 5.3.4")
    # the session stays usable, and a message within the limit still gets in
    ok = transaction(gateway, "ada@acme.example", [gateway.seed.company_address], message())
    assert ok[-1][0] == 250
    assert len(messages(gateway.settings)) == 1


def test_recipient_at_another_domain_is_relaying_denied(gateway):
    replies = transaction(gateway, "ada@acme.example", ["someone@elsewhere.example"], None)
    assert_reply(replies[1], "550 5.7.1")


@pytest.mark.parametrize("local", ["nobody", "acme+deal-999-aaaaaaaaaa", "acme+lead-1-aaaaaaaaaa", "acme+what"])
def test_unknown_address_at_the_mail_domain_is_511(gateway, local):
    replies = transaction(gateway, "ada@acme.example", [f"{local}@bcc.example.net"], None)
    assert_reply(replies[1], "550 5.1.1")


def test_record_address_works_until_its_token_is_rotated(gateway, settings):
    address = gateway.seed.deal_address
    assert transaction(gateway, "ada@acme.example", [address], None)[1][0] == 250
    assert transaction(gateway, "ada@acme.example", [address.upper()], None)[1][0] == 250

    async def rotate(db):
        async with db.sessions() as session, session.begin():
            await session.execute(text("UPDATE deals SET token_version = token_version + 1"))
    with_db(settings, rotate)
    replies = transaction(gateway, "ada@acme.example", [address], None)
    assert_reply(replies[1], "550 5.1.1")


def test_record_of_another_company_under_this_slug_is_511(gateway):
    # globex's slug with acme's deal id and token: the token is keyed on the company
    forged = gateway.seed.deal_address.replace("acme+", "globex+")
    replies = transaction(gateway, "ada@acme.example", [forged], None)
    assert_reply(replies[1], "550 5.1.1")


@pytest.mark.gateway_settings(max_recipients=2)
def test_too_many_recipients_is_452(gateway):
    seeded = gateway.seed
    replies = transaction(gateway, "ada@acme.example",
                          [seeded.company_address, seeded.deal_address, seeded.company_address], None)
    assert [r[0] for r in replies[1:]] == [250, 250, 452]
    assert replies[3][1].startswith(b"4.5.3")


def test_second_company_in_one_transaction_is_deferred_with_452(gateway):
    replies = transaction(gateway, "ada@acme.example", ["acme@bcc.example.net", "globex@bcc.example.net"], None)
    assert_reply(replies[2], "452 4.5.3")


@pytest.mark.parametrize("envelope, author", [
    ("stranger@evil.example", "stranger@evil.example"),
    ("gus@globex.example", "gus@globex.example"),          # a user, but of another company
])
def test_unauthorized_sender_is_refused_and_nothing_stored(gateway, settings, envelope, author):
    replies = transaction(gateway, envelope, [gateway.seed.company_address], message(sender=author))
    assert_reply(replies[-1], "550 5.7.1")
    assert messages(settings) == []
    assert count(settings, Person) == 1


@pytest.mark.parametrize("envelope, author", [
    ("ada@acme.example", "Ada <ada@acme.example>"),
    ("bounces+123@mailer.example", "Ada <ADA@Acme.Example>"),   # author decides
    ("ada@acme.example", "someone@else.example"),                # envelope decides
])
def test_user_as_author_or_envelope_sender_is_authorized(gateway, settings, envelope, author):
    replies = transaction(gateway, envelope, [gateway.seed.company_address], message(sender=author))
    assert replies[-1][0] == 250
    assert messages(settings)[0].owner_user_id == gateway.seed.user_id


@pytest.mark.parametrize("status, code", [("verified", 250), ("pending", 550), ("revoked", 550), ("expired", 550)])
def test_alternate_addresses_count_only_when_verified(gateway, settings, status, code):
    add_alternate(settings, "ada@acme.example", "ada.private@home.example", status)
    replies = transaction(gateway, "ada.private@home.example", [gateway.seed.company_address],
                          message(sender="ada.private@home.example"))
    assert replies[-1][0] == code


def test_deactivated_user_is_refused(gateway, settings):
    async def deactivate(db):
        async with db.sessions() as session, session.begin():
            await session.execute(text("UPDATE users SET active = false WHERE email = 'ada@acme.example'"))
    with_db(settings, deactivate)
    replies = transaction(gateway, "ada@acme.example", [gateway.seed.company_address], message())
    assert_reply(replies[-1], "550 5.7.1")


def test_same_message_again_is_250_and_stored_once(gateway, settings):
    raw = message()
    first = transaction(gateway, "ada@acme.example", [gateway.seed.company_address], raw)
    again = transaction(gateway, "ada@acme.example", [gateway.seed.company_address], raw)
    assert first[-1][0] == again[-1][0] == 250
    assert len(messages(settings)) == 1


def test_bcc_to_a_second_record_adds_links_to_the_one_message(gateway, settings):
    raw = message(to="carol@newcustomer.example")
    transaction(gateway, "ada@acme.example", [gateway.seed.company_address], raw)
    # the same message delivered again (another hop adds its trace header) to the deal's own address
    transaction(gateway, "ada@acme.example", [gateway.seed.deal_address],
                b"Received: from relay.example by mx; Mon, 6 Jan 2025 10:16:00 +0100\r\n" + raw)
    [stored] = messages(settings)
    assert ("deal", gateway.seed.deal_id, "record-address") in stored.links
    assert stored.raw == raw


def test_database_unavailable_is_451_nothing_half_written_and_retry_succeeds(gateway, settings):
    async def rename(db, old, new):
        async with db.sessions() as session, session.begin():
            await session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    raw = message(to="dora@prospect.example")
    with_db(settings, lambda db: rename(db, "links", "links_away"))
    replies = transaction(gateway, "ada@acme.example", [gateway.seed.company_address], raw)
    assert_reply(replies[-1], "451 4.3.0")
    assert count(settings, Message) == 0 and count(settings, MessageRaw) == 0
    assert "dora@prospect.example" not in {p for p in _emails(settings)}
    with_db(settings, lambda db: rename(db, "links_away", "links"))
    replies = transaction(gateway, "ada@acme.example", [gateway.seed.company_address], raw)
    assert replies[-1][0] == 250
    assert "dora@prospect.example" in _emails(settings)


def test_error_inside_a_hook_is_451_not_500(gateway, settings):
    async def rename(db, old, new):
        async with db.sessions() as session, session.begin():
            await session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    with_db(settings, lambda db: rename(db, "companies", "companies_away"))
    try:
        replies = transaction(gateway, "ada@acme.example", [gateway.seed.company_address], None)
    finally:
        with_db(settings, lambda db: rename(db, "companies_away", "companies"))
    assert_reply(replies[1], "451 4.3.0")
    assert b"Error" not in replies[1][1]


def test_builtin_replies_carry_enhanced_codes(gateway):
    with client(gateway) as smtp:
        assert smtp.docmd("NOOP")[1].startswith(b"2.0.0")
        code, reply = smtp.docmd("RCPT TO:<acme@bcc.example.net>")
        assert_reply((code, reply), "503 5.5.1")
        code, reply = smtp.docmd("FOO")
        assert code == 500 and reply[:5] == b"5.5.2"
        assert smtp.docmd("RSET")[1].startswith(b"2.0.0")


def _emails(settings):
    async def work(db):
        from sqlalchemy import select
        async with db.sessions() as session:
            return set(await session.scalars(select(Person.email)))
    return with_db(settings, work)


def test_pipelined_transaction(gateway, settings):
    """A client that pipelines MAIL, RCPT and DATA gets one reply each, in order."""
    async def pipelined():
        reader, writer = await asyncio.open_connection(gateway.host, gateway.port)
        await reader.readline()
        writer.write(b"EHLO client.example\r\n")
        while not (await reader.readline()).startswith(b"250 "):
            pass
        writer.write(b"MAIL FROM:<ada@acme.example>\r\nRCPT TO:<acme@bcc.example.net>\r\n"
                     b"RCPT TO:<x@elsewhere.example>\r\nDATA\r\n")
        lines = [await reader.readline() for _ in range(4)]
        writer.write(message() + b".\r\nQUIT\r\n")
        lines += [await reader.readline() for _ in range(2)]
        writer.close()
        return [line[:9] for line in lines]
    assert asyncio.run(pipelined()) == [b"250 2.1.0", b"250 2.1.5", b"550 5.7.1", b"354 End d",
                                        b"250 2.0.0", b"221 2.0.0"]
    assert len(messages(settings)) == 1
