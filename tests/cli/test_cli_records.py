"""`smartbcc person|org|lead|deal|project`: CRM records, each with its own Bcc address."""

from __future__ import annotations

import re

from tests.support.clitest import run_db, store_message

ADDRESS = re.compile(r"acme\+(person|org|lead|deal|project)-(\d+)-[a-z2-7]{10}@bcc\.example\.net")


def test_add_list_show_every_kind(seeded, smartbcc):
    smartbcc.ok("company", "set", "acme", "--crm-mode", "classic")     # simple mode has no leads
    lead = smartbcc.json("lead", "add", "--company", "acme", "--title", "Inquiry",
                         "--email", "Eve@Prospect.example", "--name", "Eve", "--org", seeded.org["id"])
    project = smartbcc.json("project", "add", "--company", "acme", "--title", "Rollout",
                            "--person", seeded.person["id"], "--org", seeded.org["id"])
    records = {"person": seeded.person, "org": seeded.org, "deal": seeded.deal, "lead": lead, "project": project}
    for kind, record in records.items():
        match = ADDRESS.fullmatch(record["address"])
        assert match and match.groups() == (kind, str(record["id"])), record
        assert record["kind"] == kind and record["company"] == "acme" and record["messages"] == []
        assert [r["id"] for r in smartbcc.json(kind, "list", "--company", "acme")] == [record["id"]]
        assert smartbcc.json(kind, "list", "--company", "globex") == []
        shown = smartbcc.json(kind, "show", record["id"])
        assert shown["address"] == record["address"] and shown["id"] == record["id"]
        assert record["address"] in smartbcc.ok(kind, "list", "--company", "acme")
        assert record["address"] in smartbcc.ok(kind, "show", str(record["id"]))
    assert (seeded.person["email"], seeded.person["name"], seeded.person["org_id"]) == (
        "bob@customer.example", "Bob", seeded.org["id"])
    assert (seeded.org["name"], seeded.org["domain"]) == ("Customer Inc", "customer.example")
    assert (lead["email"], lead["name"], lead["status"], lead["org_id"]) == (
        "eve@prospect.example", "Eve", "open", seeded.org["id"])
    assert (seeded.deal["title"], seeded.deal["person_id"], seeded.deal["status"]) == (
        "Big order", seeded.person["id"], "open")
    assert (project["person_id"], project["org_id"], project["closed_at"]) == (
        seeded.person["id"], seeded.org["id"], None)
    accepted = smartbcc.json("routes", "test", seeded.deal["address"])
    assert accepted["accepted"] is True and accepted["token_current"] is True


def test_show_lists_linked_messages(seeded, smartbcc, settings):
    first = store_message(settings, "Quote", links=(("deal", seeded.deal["id"], "record-address"),
                                                    ("person", seeded.person["id"], "participant")))
    store_message(settings, "Other", links=(("person", seeded.person["id"], "participant"),))
    shown = smartbcc.json("deal", "show", seeded.deal["id"])
    assert [(m["id"], m["subject"], m["rule"]) for m in shown["messages"]] == [(first, "Quote", "record-address")]
    assert "received_at" in shown["messages"][0]
    assert [m["subject"] for m in smartbcc.json("person", "show", seeded.person["id"])["messages"]] == [
        "Quote", "Other"]
    text = smartbcc.ok("deal", "show", str(seeded.deal["id"]))
    assert "record-address" in text and "Quote" in text
    assert "No messages linked." in smartbcc.ok("org", "show", str(seeded.org["id"]))


def test_close_and_rotate(seeded, smartbcc):
    deal_id = seeded.deal["id"]
    assert "--won or --lost" in smartbcc.fails("deal", "close", deal_id, code=2)
    won = smartbcc.json("deal", "close", deal_id, "--won")
    assert won["status"] == "won" and won["closed_at"]
    assert "is now lost" in smartbcc.ok("deal", "close", str(deal_id), "--lost")
    smartbcc.ok("company", "set", "acme", "--crm-mode", "classic")     # simple mode has no leads
    lead = smartbcc.json("lead", "add", "--company", "acme", "--title", "Inquiry")
    assert smartbcc.json("lead", "close", lead["id"], "--converted")["status"] == "converted"
    project = smartbcc.json("project", "add", "--company", "acme", "--title", "Rollout")
    assert smartbcc.json("project", "close", project["id"], "--cancelled")["status"] == "cancelled"
    assert "No such command 'close'" in smartbcc.fails("person", "close", "1", code=2)

    rotated = smartbcc.json("deal", "rotate-address", deal_id)
    assert rotated["address"] != seeded.deal["address"] and ADDRESS.fullmatch(rotated["address"])
    old = smartbcc.json("routes", "test", seeded.deal["address"])
    assert (old["accepted"], old["token_current"], old["final_reply"][:9]) == (False, False, "550 5.1.1")
    assert smartbcc.json("routes", "test", rotated["address"])["accepted"] is True


def test_record_errors(seeded, smartbcc, settings):
    smartbcc.ok("company", "set", "acme", "--crm-mode", "classic")     # simple mode has no leads
    globex_org = smartbcc.json("org", "add", "--company", "globex", "--name", "Elsewhere")
    for args, message in [
        (("person", "add", "--company", "acme", "--email", "BOB@customer.example"),
         f"'acme' already has a contact for bob@customer.example: person {seeded.person['id']}"),
        (("person", "add", "--company", "acme", "--email", "bob"), "'bob' is not a valid address"),
        (("person", "add", "--company", "acmee", "--email", "x@y.example"), "no company with slug 'acmee'"),
        (("person", "add", "--company", "acme", "--email", "x@y.example", "--org", globex_org["id"]),
         f"organization {globex_org['id']} belongs to another company, not 'acme'"),
        (("deal", "add", "--company", "globex", "--title", "T", "--person", seeded.person["id"]),
         f"contact {seeded.person['id']} belongs to another company, not 'globex'"),
        (("lead", "add", "--company", "acme", "--title", "T", "--person", 9999),
         "no contact with id 9999 (see `smartbcc person list --company acme`)"),
        (("project", "add", "--company", "acme", "--title", "T", "--org", 9999), "no organization with id 9999"),
        (("deal", "add", "--company", "acme", "--title", "  "), "the title cannot be empty"),
        (("org", "add", "--company", "acme", "--name", "X", "--domain", "nodots"), "not a domain name"),
        (("deal", "show", 9999), "no deal with id 9999 (see `smartbcc deal list`)"),
        (("deal", "close", 9999, "--won"), "no deal with id 9999"),
        (("lead", "list", "--company", "nope"), "no company with slug 'nope'"),
    ]:
        assert message in smartbcc.fails(*args), args
    assert "Missing option '--company'" in smartbcc.fails("deal", "list", code=2)
    assert "'x' is not a valid integer" in smartbcc.fails("deal", "show", "x", code=2)
    # the same address may be a contact in another company
    again = smartbcc.json("person", "add", "--company", "globex", "--email", "bob@customer.example")
    assert again["company"] == "globex"
    assert run_db(settings, lambda db: _count_persons(db)) == 2


async def _count_persons(db) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from gateway.store.models import Person
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Person))
