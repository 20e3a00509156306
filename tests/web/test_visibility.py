"""Visibility everywhere: a private message is its owner's alone, a shared one is seen by colleagues
with view rights on a linked record, another company sees nothing, hidden contacts stay hidden, and
every route that takes an id answers 404 (never 403) for what the user may not see."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from tests.support.webtest import csrf_of, token_for


def admin(site, *args: str) -> None:
    done = CliRunner().invoke(cli, ["--database-url", site.settings.effective_database_url, *args])
    assert done.exit_code == 0, done.output


@pytest.fixture
def mail(site):
    site.send("Private plan", attachments=(("plan.txt", "text/plain", b"secret"),))
    site.send("Shared quote")
    ids = site.ids()
    admin(site, "messages", "share", str(ids["Shared quote"]))
    return ids


def listed(client, **params) -> set[str]:
    import re
    return set(re.findall(r'class="subject">([^<]+)<', client.get("/mailbox", params={"folder": "all", **params}).text))


def test_colleagues_see_shared_mail_only_and_other_companies_nothing(site, mail):
    assert listed(site.sign_in()) == {"Private plan", "Shared quote"}
    colleague = site.sign_in("cy@acme.example")
    assert listed(colleague) == {"Shared quote"}
    assert listed(colleague, q="plan") == set() and listed(colleague, q="quote") == {"Shared quote"}
    assert colleague.get(f"/messages/{mail['Shared quote']}").status_code == 200
    stranger = site.sign_in("gus@globex.example")
    assert listed(stranger) == set() and listed(stranger, q="quote") == set()


def test_without_view_rights_on_any_linked_record_a_shared_message_is_not_there(site, mail):
    admin(site, "permission", "set", "cy@acme.example", "all", "--view", "none")
    colleague = site.sign_in("cy@acme.example")
    assert listed(colleague) == set()
    assert colleague.get(f"/messages/{mail['Shared quote']}").status_code == 404
    admin(site, "permission", "set", "cy@acme.example", "deal", "--view", "all")
    assert listed(colleague) == {"Shared quote"}


def test_own_rights_see_shared_mail_of_records_the_user_owns_only(site, mail):
    admin(site, "permission", "set", "cy@acme.example", "all", "--view", "own")
    colleague = site.sign_in("cy@acme.example")
    assert listed(colleague) == set()


def test_a_hidden_contact_stays_hidden_on_a_visible_message(site, mail):
    admin(site, "permission", "set", "cy@acme.example", "person", "--view", "none")
    colleague = site.sign_in("cy@acme.example")
    page = colleague.get(f"/messages/{mail['Shared quote']}").text
    assert "bob@customer.example" in page                  # the address is in the mail itself
    assert "record=person%3A" not in page and "Bob Buyer" not in page   # the contact record is not
    assert "you may not see" in page
    own = site.sign_in().get(f"/messages/{mail['Shared quote']}").text
    assert "record=person%3A" in own


ID_PAGES = ["/messages/{id}", "/messages/{id}/body", "/messages/{id}/raw", "/messages/{id}/attachments/1",
            "/mailbox?folder=all&record=deal:{deal}"]


@pytest.mark.parametrize("who", ["cy@acme.example", "gus@globex.example"])
def test_every_id_route_answers_404_for_a_message_the_user_may_not_see(site, mail, who):
    private = mail["Private plan"]
    other = site.sign_in(who)
    for path in ID_PAGES[:4]:
        response = other.get(path.format(id=private))
        assert response.status_code == 404, path
        assert response.text == other.get(path.format(id=999999)).text          # indistinguishable
    token = csrf_of(other.get("/mailbox").text)
    for action in ("read", "unread", "trash", "restore", "spam", "move", "link"):
        response = other.post("/mailbox/act", data={"csrf": token, "ids": str(private), "action": action,
                                                    "to": "inbox", "record": f"deal:{site.seed.deal_id}"})
        assert response.status_code == 404, action
    assert other.post(f"/messages/{private}/unlink", data={"csrf": token,
                                                          "record": f"deal:{site.seed.deal_id}"}).status_code == 404
    assert other.post(f"/messages/{private}/save", data={"csrf": token, "kind": "person",
                                                        "email": "x@y.example"}).status_code == 404
    api = site.client(headers={"Authorization": f"Bearer {token_for(site, who)}"})
    for method, path, body in (("GET", "/api/v1/messages/{id}", None), ("PATCH", "/api/v1/messages/{id}", {"read": True}),
                               ("DELETE", "/api/v1/messages/{id}", None), ("POST", "/api/v1/messages/{id}/spam", None),
                               ("POST", "/api/v1/messages/{id}/links", {"kind": "deal", "record_id": site.seed.deal_id}),
                               ("DELETE", f"/api/v1/messages/{{id}}/links/deal/{site.seed.deal_id}", None),
                               ("POST", "/api/v1/messages/{id}/save-to-crm",
                                {"kind": "person", "email": "x@y.example"})):
        response = api.request(method, path.format(id=private), json=body)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", (method, path)
    bulk = api.post("/api/v1/messages/bulk", json={"ids": [private], "action": "trash"})
    assert bulk.status_code == 404
    # and nothing changed for the owner
    owner = site.sign_in()
    assert "Private plan" in listed(owner, folder="sent")
    # a record the user may not view: its page and its API are 404 too, like one that does not exist
    admin(site, "permission", "set", "cy@acme.example", "deal", "--view", "none")
    deal = site.seed.deal_id
    response = other.get(f"/records/deal/{deal}")
    assert response.status_code == 404 and response.text == other.get("/records/deal/999999").text
    assert api.get(f"/api/v1/records/deal/{deal}").status_code == 404
    assert owner.get(f"/records/deal/{deal}").status_code == 200


def test_another_companys_record_and_a_users_folder_are_404_too(site, mail):
    stranger = site.sign_in("gus@globex.example")
    assert stranger.get("/mailbox", params={"record": f"deal:{site.seed.deal_id}"}).status_code == 404
    owner = site.sign_in()
    token = csrf_of(owner.get("/mailbox").text)
    folder = owner.post("/folders", data={"csrf": token, "name": "Mine"}).headers["location"].rsplit("=", 1)[1]
    colleague = site.sign_in("cy@acme.example")
    assert colleague.get("/mailbox", params={"folder": folder}).status_code == 404
    token = csrf_of(colleague.get("/mailbox").text)
    assert colleague.post(f"/folders/{folder}/rename", data={"csrf": token, "name": "x"}).status_code == 404
    assert colleague.post(f"/folders/{folder}/delete", data={"csrf": token}).status_code == 404
    api = site.client(headers={"Authorization": f"Bearer {token_for(site, 'cy@acme.example')}"})
    assert api.patch(f"/api/v1/folders/{folder}", json={"name": "x"}).status_code == 404
    assert api.delete(f"/api/v1/folders/{folder}").status_code == 404
    assert colleague.post("/mailbox/act", data={"csrf": token, "ids": str(mail["Shared quote"]), "action": "move",
                                                "to": folder}).status_code == 404
    # sending from a record: another company's record, or one the user may not view, is not there
    send = f"/records/deal/{site.seed.deal_id}/send"
    stranger_token = csrf_of(stranger.get("/mailbox").text)
    assert stranger.get(send).status_code == 404 and stranger.get("/records/deal/999999/send").status_code == 404
    assert stranger.get(send).text == stranger.get("/records/deal/999999/send").text        # indistinguishable
    assert stranger.post(send, data={"csrf": stranger_token, "to": "bob@customer.example", "subject": "x",
                                     "body": "x"}).status_code == 404
    admin(site, "permission", "set", "cy@acme.example", "deal", "--view", "none")
    assert colleague.get(send).status_code == 404
    assert colleague.post(send, data={"csrf": token, "to": "bob@customer.example", "subject": "x",
                                      "body": "x"}).status_code == 404


def test_a_colleagues_state_is_their_own_and_emptying_their_trash_deletes_nothing_of_the_owner(site, mail):
    shared = mail["Shared quote"]
    colleague = site.sign_in("cy@acme.example")
    token = csrf_of(colleague.get("/mailbox").text)
    colleague.post("/mailbox/act", data={"csrf": token, "ids": str(shared), "action": "trash"})
    colleague.post("/trash/empty", data={"csrf": token})
    assert colleague.get(f"/messages/{shared}").status_code == 404          # gone for the colleague
    assert "Shared quote" in listed(site.sign_in(), folder="sent")          # still the owner's, unread


# Every route that takes an id, and the test above that tries it as a user who may not see it.
ID_ROUTES_TRIED = {
    "/messages/{id:int}", "/messages/{id:int}/body", "/messages/{id:int}/raw",
    "/messages/{id:int}/attachments/{n:int}", "/messages/{id:int}/unlink",
    "/folders/{id:int}/{action:str}",                                     # the folder test
    "/messages/{id:int}/spam", "/messages/{id:int}/links",                # under /api/v1
    "/messages/{id:int}/links/{kind:str}/{record_id:int}", "/folders/{id:int}",
    "/review/{id:int}/resolve",          # test_review.py::test_the_queue_shows_items_on_mail_the_user_may_see_...
    "/settings/alternates/{id:int}/{action:str}",      # test_settings.py::test_a_users_addresses_...
    "/settings/company/users/{id:int}/{action:str}",   # test_settings.py::test_company_settings_are_...
    "/records/{kind:str}/{id:int}/send",                  # test_compose.py, as another company and colleague
    "/messages/{id:int}/save", "/messages/{id:int}/save-to-crm",          # save to CRM, the test above
    "/records/{kind:str}/{id:int}",                                       # the record test below (page, API)
    "/settings/mailboxes/{id:int}/{action:str}",     # tests/e2e/test_mailboxes.py, the settings page test
    # test_collab.py::test_task_comment_and_notification_routes_are_404_for_who_may_not_see
    "/messages/{id:int}/task", "/records/{kind:str}/{id:int}/task", "/tasks/{id:int}/done",
    "/messages/{id:int}/comments", "/notifications/{id:int}",
}


def test_every_route_that_takes_an_id_is_tried_as_another_user() -> None:
    """A new id route fails here until the visibility tests try it as a user who may not see its object.
    The routes are read off the application itself (every page and the API), so none can be left out."""
    from starlette.routing import Mount

    from gateway.config import Settings
    from gateway.web.app import create_app

    def paths(routes, prefix=""):
        for route in routes:
            if isinstance(route, Mount):
                if route.path != "/static":
                    yield from paths(route.routes, "")     # API paths are listed without their /api/v1
            else:
                yield prefix + route.path
    app = create_app(Settings()).app
    taking_an_id = {path for path in paths(app.routes) if "{" in path}
    assert taking_an_id <= ID_ROUTES_TRIED, taking_an_id - ID_ROUTES_TRIED
