"""`review`, `messages link|unlink|share|unshare`, `company set|exclude|include`, `user set`."""

from __future__ import annotations

from tests.support.clitest import run_db, store_message

from gateway.services import records
from gateway.store.models import ReviewItem


def add_review(settings, message_pk: int, person_id: int, candidates: list[int]) -> None:
    async def work(db):
        async with db.sessions() as session, session.begin():
            session.add(ReviewItem(company_id=1, message_pk=message_pk, kind="deal", person_id=person_id,
                                   candidates=candidates))
    run_db(settings, work)


def second_deal(settings, person_id: int) -> int:
    return run_db(settings, lambda db: records.add_record(db, "deal", "acme", "Second order", person_id)).id


def test_review_list_and_resolve(seeded, smartbcc):
    other = second_deal(smartbcc.settings, seeded.person["id"])
    pk = store_message(smartbcc.settings, links=(("person", seeded.person["id"], "participant"),))
    add_review(smartbcc.settings, pk, seeded.person["id"], [other, seeded.deal["id"]])
    [item] = smartbcc.json("review", "list")
    assert (item["message_id"], item["kind"], item["person_email"], item["status"]) == (
        pk, "deal", "bob@customer.example", "open")
    assert [c["id"] for c in item["candidates"]] == [other, seeded.deal["id"]]
    assert "Second order" in smartbcc.ok("review", "list", "--company", "acme")

    resolved = smartbcc.json("review", "resolve", str(pk), "--deal", str(seeded.deal["id"]))
    assert resolved[0]["status"] == "resolved" and resolved[0]["resolved_record_id"] == seeded.deal["id"]
    links = {(l["kind"], l["id"], l["rule"]) for l in smartbcc.json("messages", "show", str(pk))["links"]}
    assert ("deal", seeded.deal["id"], "review") in links
    assert smartbcc.json("review", "list") == []
    assert len(smartbcc.json("review", "list", "--all")) == 1
    assert "no open review item" in smartbcc.fails("review", "resolve", str(pk), "--deal", str(other))


def test_review_dismiss_and_bad_usage(seeded, smartbcc):
    pk = store_message(smartbcc.settings)
    add_review(smartbcc.settings, pk, seeded.person["id"], [seeded.deal["id"]])
    assert "exactly one record" in smartbcc.fails("review", "resolve", str(pk), code=2)
    assert "not both" in smartbcc.fails("review", "resolve", str(pk), "--deal", "1", "--none", "deal", code=2)
    assert smartbcc.json("review", "resolve", str(pk), "--none", "deal")[0]["status"] == "dismissed"
    assert not any(l["kind"] == "deal" for l in smartbcc.json("messages", "show", str(pk))["links"])


def test_link_unlink_by_hand(seeded, smartbcc):
    pk = store_message(smartbcc.settings)
    change = smartbcc.json("messages", "link", str(pk), "--deal", str(seeded.deal["id"]))
    assert change == {"message_id": pk, "kind": "deal", "record_id": seeded.deal["id"], "rule": "manual",
                      "changed": True}
    assert smartbcc.json("messages", "link", str(pk), "--deal", str(seeded.deal["id"]))["changed"] is False
    assert [m["id"] for m in smartbcc.json("messages", "list", "--deal", str(seeded.deal["id"]))] == [pk]
    smartbcc.ok("messages", "unlink", str(pk), "--deal", str(seeded.deal["id"]))
    assert smartbcc.json("messages", "list", "--deal", str(seeded.deal["id"])) == []
    assert "is not linked" in smartbcc.fails("messages", "unlink", str(pk), "--deal", str(seeded.deal["id"]))
    assert "no deal with id 999" in smartbcc.fails("messages", "link", str(pk), "--deal", "999")
    assert "no message with id 999" in smartbcc.fails("messages", "link", "999", "--deal", "1")


def test_link_refuses_a_record_of_another_company(seeded, smartbcc):
    globex_person = run_db(smartbcc.settings, lambda db: records.add_person(db, "globex", "x@y.example")).id
    pk = store_message(smartbcc.settings)
    assert "another company" in smartbcc.fails("messages", "link", str(pk), "--person", str(globex_person))


def test_share_unshare(seeded, smartbcc):
    pk = store_message(smartbcc.settings)
    assert smartbcc.json("messages", "share", str(pk)) == {"id": pk, "visibility": "shared"}
    assert smartbcc.json("messages", "show", str(pk))["visibility"] == "shared"
    assert "now private" in smartbcc.ok("messages", "unshare", str(pk))


def test_company_set_and_never_log_list(seeded, smartbcc):
    shown = smartbcc.json("company", "set", "acme")
    assert (shown["crm_mode"], shown["classic_creates"], shown["deal_for_new_inquiry"]) == ("simple", "lead", False)
    changed = smartbcc.json("company", "set", "acme", "--crm-mode", "classic", "--classic-creates", "contact",
                            "--deal-for-new-inquiry", "--max-new-contacts", "5", "--antispoof", "none")
    assert (changed["crm_mode"], changed["classic_creates"], changed["deal_for_new_inquiry"],
            changed["max_new_contacts"], changed["antispoof_mode"]) == ("classic", "contact", True, 5, "none")
    assert smartbcc.json("company", "set", "acme", "--antispoof", "deployment")["antispoof_mode"] is None
    assert "is not one of" in smartbcc.fails("company", "set", "acme", "--crm-mode", "fancy", code=2)
    assert "from 0 to 1000" in smartbcc.fails("company", "set", "acme", "--max-new-contacts", "-1")

    assert smartbcc.json("company", "exclude", "acme", "NoReply@Vendor.example")["exclusions"] == [
        "noreply@vendor.example"]
    assert smartbcc.json("company", "exclude", "acme", "@Family.example")["exclusions"] == [
        "family.example", "noreply@vendor.example"]
    assert "already" in smartbcc.fails("company", "exclude", "acme", "family.example")
    assert "neither an address nor a domain" in smartbcc.fails("company", "exclude", "acme", "not a domain")
    assert smartbcc.json("company", "include", "acme", "family.example")["exclusions"] == ["noreply@vendor.example"]
    assert "not on" in smartbcc.fails("company", "include", "acme", "family.example")


def test_user_set(seeded, smartbcc):
    assert smartbcc.json("user", "set", "ada@acme.example") == {
        "email": "ada@acme.example", "auto_link": True, "default_visibility": "private"}
    assert smartbcc.json("user", "set", "ADA@acme.example", "--no-auto-link", "--default-sharing", "shared") == {
        "email": "ada@acme.example", "auto_link": False, "default_visibility": "shared"}
    assert "no user" in smartbcc.fails("user", "set", "nobody@acme.example", "--auto-link")
