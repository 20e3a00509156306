"""`smartbcc messages`: what was received, where it was filed, the raw bytes, and deleting."""

from __future__ import annotations

import base64
import hashlib

from sqlalchemy import select

from gateway.store.database import Database
from gateway.store.models import MailboxEntry, MailFolder, Message, User
from tests.support.clitest import RAW, run_db, store_message


def _stored(settings, seeded) -> tuple[int, int]:
    quote = store_message(settings, "Quote", links=(("deal", seeded.deal["id"], "only-open-deal"),
                                                    ("person", seeded.person["id"], "participant")),
                          attachments=(("offer.pdf", "application/pdf", b"%PDF-1.4 offer"),))
    other = store_message(settings, "Hello", raw=b"Subject: Hello\r\n\r\nhi\r\n",
                          links=(("person", seeded.person["id"], "participant"),))
    return quote, other


def test_list_and_filters(seeded, smartbcc, settings):
    quote, other = _stored(settings, seeded)
    listed = smartbcc.json("messages", "list")
    assert [m["id"] for m in listed] == [other, quote]     # newest first
    assert listed[1] | {"received_at": None} == {
        "id": quote, "company": "acme", "received_at": None, "from_email": "ada@acme.example",
        "from_name": "Ada", "subject": "Quote", "owner": "ada@acme.example", "links": 2,
        "message_id": f"<Quote.{len(RAW)}@acme.example>", "direction": "outgoing", "visibility": "private",
        "folder": "sent"}
    assert [m["id"] for m in smartbcc.json("messages", "list", "--deal", seeded.deal["id"])] == [quote]
    assert [m["id"] for m in smartbcc.json("messages", "list", "--company", "acme",
                                           "--person", seeded.person["id"])] == [other, quote]
    assert smartbcc.json("messages", "list", "--company", "globex") == []
    assert smartbcc.json("messages", "list", "--org", seeded.org["id"]) == []
    text = smartbcc.ok("messages", "list")
    assert "Quote" in text and "OWNER" in text and "ada@acme.example" in text
    for args, message in [
        (("messages", "list", "--deal", 9999), "no deal with id 9999"),
        (("messages", "list", "--company", "globex", "--deal", seeded.deal["id"]),
         f"deal {seeded.deal['id']} belongs to another company, not 'globex'"),
        (("messages", "list", "--company", "acmee"), "no company with slug 'acmee'"),
    ]:
        assert message in smartbcc.fails(*args), args
    assert "at most one of" in smartbcc.fails("messages", "list", "--deal", "1", "--lead", "2", code=2)


def test_list_pages_searches_and_names_the_owners_folder(seeded, smartbcc, settings):
    quote, other = _stored(settings, seeded)
    hostile = store_message(settings, "Offer \x1b]0;owned\x07 \u202eevil")

    async def file_away(db: Database) -> None:      # ada keeps the quote in a folder of hers, the other in Spam
        async with db.sessions() as session, session.begin():
            user_id = await session.scalar(select(User.id).where(User.email == "ada@acme.example"))
            folder = MailFolder(user_id=user_id, name="Clients")
            session.add(folder)
            await session.flush()
            for message, where, folder_id in ((quote, "folder", folder.id), (other, "spam", None)):
                at = await session.scalar(select(Message.received_at).where(Message.id == message))
                session.add(MailboxEntry(user_id=user_id, message_pk=message, folder=where, folder_id=folder_id,
                                         received_at=at))
    run_db(settings, file_away)
    listed = {m["id"]: m["folder"] for m in smartbcc.json("messages", "list")}
    assert listed == {hostile: "sent", other: "spam", quote: "Clients"}

    first = smartbcc.json("messages", "list", "--limit", 2)
    assert [m["id"] for m in first] == [hostile, other]
    assert [m["id"] for m in smartbcc.json("messages", "list", "--limit", 2, "--before", other)] == [quote]
    assert smartbcc.json("messages", "list", "--before", quote) == []
    text = smartbcc.ok("messages", "list", "--limit", 2)
    assert f"older ones: --before {other}" in text
    assert "\x1b" not in text and "\u202e" not in text and "Offer \\x1b]0;owned\\x07 \\u202eevil" in text

    assert [m["id"] for m in smartbcc.json("messages", "list", "--search", "quote")] == [quote]
    assert [m["id"] for m in smartbcc.json("messages", "list", "--search", "offer evil")] == [hostile]
    assert [m["id"] for m in smartbcc.json("messages", "list", "-s", "bob", "--limit", 1, "--before", hostile)] == [
        other]
    assert smartbcc.json("messages", "list", "--search", "!!") == []
    assert "no message with id 9999" in smartbcc.fails("messages", "list", "--before", 9999)
    assert "0 is not in the range x>=1" in smartbcc.fails("messages", "list", "--limit", 0, code=2)
    assert "from 1 to 10000, not 10001" in smartbcc.fails("messages", "list", "--limit", 10_001)


def test_show_has_every_stored_field(seeded, smartbcc, settings):
    quote, _ = _stored(settings, seeded)
    shown = smartbcc.json("messages", "show", quote)
    assert (shown["id"], shown["company"], shown["owner"]) == (quote, "acme", "ada@acme.example")
    assert shown["subject"] == "Quote" and shown["to_addrs"] == [{"email": "bob@customer.example", "name": "Bob"}]
    assert shown["sha256"] == hashlib.sha256(RAW).hexdigest() and shown["size"] == len(RAW)
    assert shown["auth_verdict"] == "pass"
    assert shown["auth_reason"] == "author is the login of user ada@acme.example"
    for name in ("message_id", "content_hash", "date", "from_email", "from_name", "cc_addrs", "in_reply_to",
                 "references", "text_body", "html_body", "forwarded", "auto_generated", "envelope_from",
                 "envelope_rcpts", "client_address", "visibility", "direction", "received_at"):
        assert name in shown, name
    assert shown["attachments"] == [{"filename": "offer.pdf", "content_type": "application/pdf", "size": 14,
                                     "sha256": hashlib.sha256(b"%PDF-1.4 offer").hexdigest()}]
    assert {(link["kind"], link["id"], link["rule"]) for link in shown["links"]} == {
        ("deal", seeded.deal["id"], "only-open-deal"), ("person", seeded.person["id"], "participant")}
    text = smartbcc.ok("messages", "show", str(quote))
    for expected in ("offer.pdf", "only-open-deal", "auth verdict", "Hello Bob,"):
        assert expected in text, expected
    assert "no message with id 9999 (see `smartbcc messages list`)" in smartbcc.fails("messages", "show", 9999)


def test_export_writes_the_exact_bytes(seeded, smartbcc, settings, tmp_path):
    quote, _ = _stored(settings, seeded)
    result = smartbcc("messages", "export", quote)
    assert result.exit_code == 0 and result.stdout_bytes == RAW
    target = tmp_path / "quote.eml"
    assert "Wrote message" in smartbcc.ok("messages", "export", str(quote), "--output", str(target))
    assert target.read_bytes() == RAW
    described = smartbcc.json("messages", "export", quote)
    assert (described["id"], described["size"], described["output"]) == (quote, len(RAW), None)
    assert base64.b64decode(described["raw_base64"]) == RAW
    assert "no message with id 9999" in smartbcc.fails("messages", "export", 9999)
    error = smartbcc.fails("messages", "export", str(quote), "--output", str(tmp_path / "missing" / "x.eml"))
    assert "cannot write" in error


def test_delete_removes_it_from_every_record(seeded, smartbcc, settings):
    quote, other = _stored(settings, seeded)
    deleted = smartbcc.json("messages", "delete", quote)
    assert (deleted["id"], deleted["subject"], deleted["links"]) == (quote, "Quote", 2)
    assert [m["id"] for m in smartbcc.json("messages", "list")] == [other]
    assert smartbcc.json("deal", "show", seeded.deal["id"])["messages"] == []
    assert [m["id"] for m in smartbcc.json("person", "show", seeded.person["id"])["messages"]] == [other]
    assert smartbcc.json("company", "show", "acme")["counts"]["messages"] == 1
    assert run_db(settings, _leftovers) == {"links": 1, "raw": 1, "attachments": 0}
    assert "no message with id" in smartbcc.fails("messages", "delete", quote)
    assert "Deleted message" in smartbcc.ok("messages", "delete", str(other))


async def _leftovers(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from gateway.store.models import Attachment, Link, MessageRaw
    async with db.sessions() as session:
        return {name: await session.scalar(select(func.count()).select_from(model))
                for name, model in (("links", Link), ("raw", MessageRaw), ("attachments", Attachment))}
