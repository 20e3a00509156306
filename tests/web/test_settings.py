"""The settings pages through the real web server: a user's Bcc addresses, alternate addresses (revoke,
someone else's is 404), preferences; the company's settings for admins only (404 for members), the
never-log list, CRM mode and users."""

from __future__ import annotations

from sqlalchemy import select, update

from gateway.store.models import AlternateAddress, Deal, Exclusion, User
from tests.support.gwtest import add_alternate, with_db
from tests.support.webtest import admin, csrf_of


def run(site, *statements) -> None:
    async def work(db):
        async with db.sessions() as session, session.begin():
            for statement in statements:
                await session.execute(statement)
    with_db(site.settings, work)


def fetch(site, query):
    async def work(db):
        async with db.sessions() as session:
            return (await session.execute(query)).all()
    return with_db(site.settings, work)


def test_a_users_addresses_alternates_and_preferences(site):
    run(site, update(Deal).where(Deal.id == site.seed.deal_id).values(owner_user_id=site.seed.user_id))
    add_alternate(site.settings, "ada@acme.example", "ada.phone@mobile.example", "verified")
    add_alternate(site.settings, "cy@acme.example", "cy.home@mobile.example", "pending")
    [(cys,)] = fetch(site, select(AlternateAddress.id).where(AlternateAddress.email == "cy.home@mobile.example"))
    ada = site.sign_in()
    page = ada.get("/settings").text
    assert site.seed.company_address in page and f'data-copy="{site.seed.company_address}"' in page
    assert site.seed.deal_address in page and "Deal: Bob&#39;s big order" in page     # the deal she owns
    assert "ada.phone@mobile.example" in page and "cy.home@mobile.example" not in page
    assert 'href="/settings/company"' not in page                                   # not an admin
    token = csrf_of(page)
    # someone else's alternate is not there; her own is revoked
    assert ada.post(f"/settings/alternates/{cys}/revoke", data={"csrf": token}).status_code == 404
    assert ada.post("/settings/alternates/999999/revoke", data={"csrf": token}).status_code == 404
    [(mine,)] = fetch(site, select(AlternateAddress.id).where(AlternateAddress.email == "ada.phone@mobile.example"))
    assert ada.post(f"/settings/alternates/{mine}/revoke", data={"csrf": token}).status_code == 303
    assert fetch(site, select(AlternateAddress.status).order_by(AlternateAddress.email)) == [
        ("revoked",), ("pending",)]
    # adding one without a smarthost: pending, and the page says the mail was not sent
    added = ada.post("/settings/alternates", data={"csrf": token, "email": "ada@home.example"})
    assert "not sent: no smarthost" in ada.get(added.headers["location"]).text
    assert ada.post("/settings/alternates", data={"csrf": token, "email": "cy@acme.example"}).status_code == 400
    # preferences: auto-link off (an unchecked box is absent), sharing on
    assert ada.post("/settings/preferences", data={"csrf": token, "default_sharing": "shared"}).status_code == 303
    assert fetch(site, select(User.auto_link, User.default_visibility).where(User.id == site.seed.user_id)) == [
        (False, "shared")]
    assert ada.post("/settings/preferences", data={"csrf": token, "default_sharing": "public"}).status_code == 400
    assert ada.post("/settings/preferences", data={"default_sharing": "private"}).status_code == 403


def test_company_settings_are_for_admins_only(site):
    cy = site.sign_in("cy@acme.example")
    token = csrf_of(cy.get("/settings").text)
    ada_id = site.users["ada@acme.example"]
    member_tries = [("/settings/company/crm", {"crm_mode": "classic"}),
                    ("/settings/company/exclusions", {"pattern": "junk.example", "action": "add"}),
                    ("/settings/company/users", {"email": "new@acme.example"}),
                    (f"/settings/company/users/{ada_id}/deactivate", {}),
                    ("/never-log", {"address": "spam@junk.example"})]
    assert cy.get("/settings/company").status_code == 404
    for path, data in member_tries:
        assert cy.post(path, data={"csrf": token, **data}).status_code == 404, path
    assert fetch(site, select(Exclusion.pattern)) == []

    admin(site, "user", "set-role", "cy@acme.example", "admin")
    page = cy.get("/settings").text
    assert 'href="/settings/company"' in page
    page = cy.get("/settings/company").text
    assert "ada@acme.example" in page and "gus@globex.example" not in page
    assert cy.post("/settings/company/exclusions", data={"csrf": token, "pattern": "Junk.Example",
                                                         "action": "add"}).status_code == 303
    assert cy.post("/never-log", data={"csrf": token, "address": "spam@other.example"}).status_code == 303
    assert {p for (p,) in fetch(site, select(Exclusion.pattern))} == {"junk.example", "spam@other.example"}
    assert "junk.example" in cy.get("/settings/company").text
    assert cy.post("/settings/company/exclusions", data={"csrf": token, "pattern": "junk.example",
                                                         "action": "remove"}).status_code == 303
    assert cy.post("/settings/company/crm", data={"csrf": token, "crm_mode": "classic",
                                                  "classic_creates": "contact"}).status_code == 303
    assert cy.post("/settings/company/users", data={"csrf": token, "email": "dee@acme.example",
                                                    "name": "Dee"}).status_code == 303
    assert cy.post(f"/settings/company/users/{ada_id}/deactivate", data={"csrf": token}).status_code == 303
    assert fetch(site, select(User.active).where(User.id == ada_id)) == [(False,)]
    # another company's user, and yourself, are not to be deactivated
    gus = site.users["gus@globex.example"]
    assert cy.post(f"/settings/company/users/{gus}/deactivate", data={"csrf": token}).status_code == 404
    assert cy.post(f"/settings/company/users/{site.users['cy@acme.example']}/deactivate",
                   data={"csrf": token}).status_code == 400
    page = cy.get("/settings/company").text
    assert "dee@acme.example" in page
    assert 'id="crm-mode"' in page and '<option value="classic" selected>' in page
