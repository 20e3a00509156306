"""`activity add|list|complete` and the CRM mode switch: `company set SLUG --crm-mode simple --leads-to ...`."""

from __future__ import annotations

from tests.support.clitest import run_db, store_message

from gateway.store.models import ReviewItem


def lead(smartbcc, title: str, *options: str) -> dict:
    return smartbcc.json("lead", "add", "--company", "acme", "--title", title, *options)


def test_activities(seeded, smartbcc):
    deal = seeded.deal["id"]
    later = smartbcc.json("activity", "add", "deal", deal, "--subject", "Send the contract", "--due", "2026-05-02",
                          "--owner", "ada@acme.example")
    sooner = smartbcc.json("activity", "add", "deal", deal, "--subject", "Call Bob", "--due", "2026-05-01T09:30")
    assert (later["status"], later["owner"], later["due_at"]) == ("planned", "ada@acme.example",
                                                                  "2026-05-02T00:00:00+00:00")
    assert [a["id"] for a in smartbcc.json("activity", "list", "deal", deal)] == [sooner["id"], later["id"]]
    done = smartbcc.json("activity", "complete", sooner["id"])
    assert done["status"] == "completed" and done["completed_at"]
    assert [a["id"] for a in smartbcc.json("activity", "list", "deal", deal)] == [later["id"], sooner["id"]]
    assert [a["id"] for a in smartbcc.json("activity", "list", "deal", deal, "--status", "planned")] == [later["id"]]
    assert "completed already" in smartbcc.fails("activity", "complete", sooner["id"])
    assert "no activity with id 999" in smartbcc.fails("activity", "complete", "999")
    assert "no deal with id 999" in smartbcc.fails("activity", "add", "deal", "999", "--subject", "x")
    assert "subject cannot be empty" in smartbcc.fails("activity", "add", "deal", deal, "--subject", " ")
    assert "Call Bob" in smartbcc.ok("activity", "list", "deal", str(deal))
    assert "No activities." in smartbcc.ok("activity", "list", "person", str(seeded.person["id"]))
    invoice = smartbcc.json("invoice", "add", "--company", "acme", "--title", "Bill")
    smartbcc.ok("activity", "add", "invoice", str(invoice["id"]), "--subject", "Remind")
    assert [a["subject"] for a in smartbcc.json("invoice", "show", invoice["id"])["activities"]] == ["Remind"]


def test_classic_to_simple_converts_active_leads(seeded, smartbcc, settings):
    smartbcc.ok("company", "set", "acme", "--crm-mode", "classic")
    eve = lead(smartbcc, "Website inquiry", "--email", "eve@prospect.example", "--name", "Eve",
               "--company-name", "Prospect Srl")
    assert eve["company_name"] == "Prospect Srl"
    bobs = lead(smartbcc, "Bob wants more", "--person", seeded.person["id"])
    lost = lead(smartbcc, "Gone", "--email", "gone@else.example")
    smartbcc.ok("lead", "close", str(lost["id"]), "--lost")
    message = store_message(settings, "Inquiry", links=(("lead", eve["id"], "lead-created"),))
    planned = smartbcc.json("activity", "add", "lead", eve["id"], "--subject", "Call Eve")
    finished = smartbcc.json("activity", "add", "lead", eve["id"], "--subject", "First call")
    smartbcc.ok("activity", "complete", str(finished["id"]))
    smartbcc.ok("record-email", "add", "lead", str(eve["id"]), "eve@home.example")

    async def review(db):
        async with db.sessions() as session, session.begin():
            session.add(ReviewItem(company_id=seeded.acme["id"], message_pk=message, kind="lead",
                                   person_id=seeded.person["id"], candidates=[bobs["id"], eve["id"]]))
    run_db(settings, review)

    view = smartbcc.json("company", "set", "acme", "--crm-mode", "simple", "--leads-to", "both",
                         "--pipeline", "Sales", "--activities", "keep")
    assert view["crm_mode"] == "simple"
    converted = {c["lead_id"]: c for c in view["converted"]}
    assert set(converted) == {eve["id"], bobs["id"]}          # the lost lead is not active

    eve_deal = smartbcc.json("deal", "show", converted[eve["id"]]["deal_id"])
    assert (eve_deal["title"], eve_deal["pipeline"], eve_deal["status"]) == ("Website inquiry", "Sales", "open")
    contact = smartbcc.json("person", "show", eve_deal["person_id"])
    org = smartbcc.json("org", "show", eve_deal["org_id"])
    assert (contact["email"], contact["name"], contact["org_id"]) == ("eve@prospect.example", "Eve", org["id"])
    assert org["name"] == "Prospect Srl"
    assert converted[eve["id"]]["created"] == ["organization", "contact"]
    assert (converted[eve["id"]]["messages_moved"], converted[eve["id"]]["activities_moved"]) == (1, 1)
    assert [(m["id"], m["rule"]) for m in eve_deal["messages"]] == [(message, "converted-from-lead")]
    assert [a["id"] for a in smartbcc.json("activity", "list", "deal", eve_deal["id"])] == [planned["id"]]
    assert smartbcc.json("activity", "list", "deal", eve_deal["id"])[0]["status"] == "planned"
    assert [a["id"] for a in smartbcc.json("activity", "list", "lead", eve["id"])] == [finished["id"]]
    old = smartbcc.json("lead", "show", eve["id"])
    assert (old["status"], old["converted_deal_id"], old["messages"]) == ("converted", eve_deal["id"], [])
    assert old["closed_at"]
    assert [a["email"] for a in smartbcc.json("record-email", "list", "person", contact["id"])["addresses"]] == [
        "eve@prospect.example", "eve@home.example"]

    bob_deal = smartbcc.json("deal", "show", converted[bobs["id"]]["deal_id"])
    assert (bob_deal["person_id"], bob_deal["org_id"]) == (seeded.person["id"], seeded.org["id"])
    assert converted[bobs["id"]]["created"] == []
    assert smartbcc.json("lead", "show", lost["id"])["status"] == "lost"
    [item] = smartbcc.json("messages", "show", message)["review"]
    assert (item["kind"], item["candidates"]) == ("deal", [bob_deal["id"], eve_deal["id"]])


def test_activities_complete_and_the_defaults(seeded, smartbcc):
    smartbcc.ok("company", "set", "acme", "--crm-mode", "classic")
    eve = lead(smartbcc, "Inquiry", "--email", "eve@prospect.example", "--company-name", "Prospect Srl")
    planned = smartbcc.json("activity", "add", "lead", eve["id"], "--subject", "Call Eve")
    text = smartbcc.ok("company", "set", "acme", "--crm-mode", "simple", "--activities", "complete")
    assert f"Converted lead {eve['id']} to deal" in text and "1 completed" in text
    [activity] = smartbcc.json("activity", "list", "lead", eve["id"])
    assert (activity["id"], activity["status"]) == (planned["id"], "completed") and activity["completed_at"]
    [deal] = [d for d in smartbcc.json("deal", "list", "--company", "acme") if d["title"] == "Inquiry"]
    assert deal["pipeline"] == "default" and deal["org_id"] is None          # default: a contact only
    assert smartbcc.json("person", "show", deal["person_id"])["email"] == "eve@prospect.example"
    assert smartbcc.json("activity", "list", "deal", deal["id"]) == []


def test_back_to_classic_converts_nothing(seeded, smartbcc):
    view = smartbcc.json("company", "set", "acme", "--crm-mode", "classic")
    assert view["crm_mode"] == "classic" and view["converted"] == []
    walk_in = lead(smartbcc, "Walk-in", "--email", "walk@in.example")      # simple mode has no leads
    assert smartbcc.json("company", "set", "acme", "--crm-mode", "classic")["converted"] == []
    assert smartbcc.json("lead", "show", walk_in["id"])["status"] == "open"
    assert len(smartbcc.json("company", "set", "acme", "--crm-mode", "simple")["converted"]) == 1
    deals = len(smartbcc.json("deal", "list", "--company", "acme"))
    assert smartbcc.json("company", "set", "acme", "--crm-mode", "classic")["converted"] == []
    assert len(smartbcc.json("deal", "list", "--company", "acme")) == deals


def test_conversion_options_need_a_switch_to_simple(seeded, smartbcc):
    assert "add --crm-mode simple (acme is simple now)" in smartbcc.fails("company", "set", "acme",
                                                                        "--leads-to", "both")
    smartbcc.ok("company", "set", "acme", "--crm-mode", "classic")
    assert "--leads-to, --pipeline and --activities" in smartbcc.fails(
        "company", "set", "acme", "--crm-mode", "classic", "--pipeline", "Sales")
    assert "--pipeline is a name" in smartbcc.fails("company", "set", "acme", "--crm-mode", "simple",
                                                    "--pipeline", "x" * 65)
    assert smartbcc.json("company", "set", "acme")["crm_mode"] == "classic"     # nothing changed
    assert "Invalid value" in smartbcc.fails("company", "set", "acme", "--leads-to", "nobody", code=2)


def test_deal_add_pipeline(seeded, smartbcc):
    deal = smartbcc.json("deal", "add", "--company", "acme", "--title", "Renewal", "--pipeline", "Renewals")
    assert deal["pipeline"] == "Renewals"
    assert smartbcc.json("deal", "add", "--company", "acme", "--title", "New")["pipeline"] == "default"
