"""`company set --own-domain|--remove-own-domain|--create-orgs`, leads refused in simple mode, and record
owners (`--owner` on add, `<kind> set-owner`)."""

from __future__ import annotations

from tests.support.clitest import run_db
from gateway.services import users


def test_own_domains_and_create_orgs_settings(seeded, smartbcc):
    shown = smartbcc.json("company", "set", "acme")
    assert (shown["own_domains"], shown["create_orgs"]) == (["acme.example"], False)    # the company's domain
    assert smartbcc.json("company", "show", "acme")["own_domains"] == ["acme.example"]
    view = smartbcc.json("company", "set", "acme", "--own-domain", "Acme-Labs.example", "--create-orgs")
    assert (view["own_domains"], view["create_orgs"]) == (["acme-labs.example", "acme.example"], True)
    text = smartbcc.ok("company", "set", "acme", "--remove-own-domain", "acme.example", "--no-create-orgs")
    assert "acme-labs.example" in text and "create organizations" in text
    assert smartbcc.json("company", "set", "acme")["own_domains"] == ["acme-labs.example"]
    assert smartbcc.json("company", "show", "acme")["own_domains"] == ["acme-labs.example"]
    assert "acme-labs.example" in smartbcc.ok("company", "show", "acme")
    assert "not among acme's own domains (acme-labs.example)" in smartbcc.fails(
        "company", "set", "acme", "--remove-own-domain", "acme.example")
    assert "is not a domain" in smartbcc.fails("company", "set", "acme", "--own-domain", "not a domain")


def test_simple_mode_refuses_leads_with_a_clear_message(seeded, smartbcc):
    error = smartbcc.fails("lead", "add", "--company", "acme", "--title", "Walk-in")
    assert error == ("Error: acme is in simple mode, which has no leads: add a contact and a deal, or switch with "
                     "`smartbcc company set acme --crm-mode classic`")
    assert "simple mode, which has no leads: use --any-address-creates contact" in smartbcc.fails(
        "company", "set", "acme", "--any-address-creates", "lead")
    assert smartbcc.json("lead", "list", "--company", "acme") == []
    # classic mode has them, and takes the setting
    assert smartbcc.json("company", "set", "acme", "--crm-mode", "classic", "--any-address-creates",
                         "lead")["any_address_creates"] == "lead"
    assert smartbcc.json("lead", "add", "--company", "acme", "--title", "Walk-in")["status"] == "open"


def test_records_get_an_owner_on_add_or_later(seeded, smartbcc):
    run_db(smartbcc.settings, lambda db: users.add_user(db, "gus@globex.example", "globex", "Gus"))
    ada = seeded.ada["id"]
    person = smartbcc.json("person", "add", "--company", "acme", "--email", "c@x.example", "--owner", "ADA@acme.example")
    org = smartbcc.json("org", "add", "--company", "acme", "--name", "X", "--owner", "ada@acme.example")
    deal = smartbcc.json("deal", "add", "--company", "acme", "--title", "T", "--owner", "ada@acme.example")
    assert [r["owner_user_id"] for r in (person, org, deal)] == [ada, ada, ada]
    assert seeded.deal["owner_user_id"] is None                   # made by an admin: no owner
    assert smartbcc.ok("deal", "set-owner", str(seeded.deal["id"]), "ada@acme.example").startswith(
        f"Deal {seeded.deal['id']} is now owned by ada@acme.example")
    assert smartbcc.json("deal", "show", seeded.deal["id"])["owner_user_id"] == ada
    assert "gus@globex.example is a user of another company, not 'acme'" in smartbcc.fails(
        "person", "set-owner", str(person["id"]), "gus@globex.example")
    # `record set-owner KIND ID EMAIL` does the same for any kind
    cy = run_db(smartbcc.settings, lambda db: users.add_user(db, "cy@acme.example", "acme", "Cy"))
    moved = smartbcc.json("record", "set-owner", "org", str(org["id"]), "cy@acme.example")
    assert moved["owner_user_id"] == cy.id != ada
    assert "'nonsense' is not one of 'person', 'org'" in smartbcc.fails("record", "set-owner", "nonsense", "1", "cy@acme.example", code=2)
    assert "no user with address 'nobody@acme.example'" in smartbcc.fails(
        "deal", "add", "--company", "acme", "--title", "T", "--owner", "nobody@acme.example")
