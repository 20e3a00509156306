"""The JSON API under /api/v1: bearer tokens, reads with search, filters and cursors, the operations,
JSON errors, and an OpenAPI document that names every route."""

from __future__ import annotations

from starlette.routing import Route

from gateway.web import api as api_module
from tests.support.webtest import add_deal, token_for


def client_for(site, email="ada@acme.example"):
    return site.client(headers={"Authorization": f"Bearer {token_for(site, email)}"})


def test_no_token_or_a_wrong_one_is_a_json_401(site):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic YTpi"}):
        response = site.client(headers=headers).get("/api/v1/messages")
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    signed_in = site.sign_in()                     # a session cookie is not a token: no CSRF through the API
    assert signed_in.get("/api/v1/messages").status_code == 401


def test_messages_carry_the_fields_and_search_and_filters_work(site):
    site.send("Alpha offer", body="with a discount")
    site.send("Beta offer")
    api = client_for(site)
    body = api.get("/api/v1/messages", params={"folder": "all"}).json()
    first = body["messages"][0]
    assert {"id", "message_id", "subject", "folder", "read", "visibility"} <= set(first)
    assert [m["subject"] for m in body["messages"]] == ["Beta offer", "Alpha offer"]
    assert first["folder"] == "sent" and first["read"] is True and first["visibility"] == "private"
    found = api.get("/api/v1/messages", params={"q": "discount"}).json()["messages"]
    assert [m["subject"] for m in found] == ["Alpha offer"]
    one = api.get(f"/api/v1/messages/{found[0]['id']}").json()
    assert one["subject"] == "Alpha offer" and one["read"] is True and one["links"]
    assert api.get("/api/v1/messages", params={"since": "yesterday"}).json()["error"]["code"] == "invalid"
    assert api.get("/api/v1/messages", params={"cursor": "garbage"}).status_code == 400


def test_operations_patch_delete_spam_links_bulk_folders_and_empty_trash(site):
    site.send("Work item", to="x@nowhere.example")
    api = client_for(site)
    ident = site.ids()["Work item"]
    assert api.patch(f"/api/v1/messages/{ident}", json={"read": False}).json()["read"] is False
    folder = api.post("/api/v1/folders", json={"name": "Later"}).json()["id"]
    assert api.post("/api/v1/folders", json={"name": "Later"}).json()["error"]["code"] == "conflict"
    assert api.patch(f"/api/v1/messages/{ident}", json={"folder": folder}).json()["folder_id"] == int(folder)
    deal = add_deal(site, "Widget deal")
    linked = api.post(f"/api/v1/messages/{ident}/links", json={"kind": "deal", "record_id": deal}).json()
    assert {"kind": "deal", "id": deal, "label": "Widget deal", "rule": "manual"} in linked["links"]
    records = api.get("/api/v1/records", params={"q": "widget"}).json()["records"]
    assert records == [{"kind": "deal", "id": deal, "label": "Widget deal"}]
    unlinked = api.delete(f"/api/v1/messages/{ident}/links/deal/{deal}").json()
    assert all(link["kind"] != "deal" for link in unlinked["links"])
    assert api.post("/api/v1/messages/bulk", json={"ids": [ident], "action": "unread"}).json() == {"changed": 1}
    spammed = api.post(f"/api/v1/messages/{ident}/spam").json()
    assert spammed["folder"] == "spam" and spammed["links"] == [] and spammed["offer_never_log"] == ["ada@acme.example"]
    assert api.delete(f"/api/v1/messages/{ident}").json()["folder"] == "trash"
    assert api.post("/api/v1/trash/empty").json() == {"purged": 1}
    assert api.get(f"/api/v1/messages/{ident}").status_code == 404
    assert api.patch(f"/api/v1/folders/{folder}", json={"name": "Soon"}).status_code == 200
    assert [f["name"] for f in api.get("/api/v1/folders").json()["folders"]][-1] == "Soon"
    assert api.delete(f"/api/v1/folders/{folder}").json() == {"deleted": True}


def test_the_openapi_document_names_every_route(site):
    document = site.client().get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for route in api_module.ROUTES:
        assert isinstance(route, Route)
        path = route.path.replace(":int", "").replace(":str", "")
        assert path in document["paths"], path
        for method in route.methods - {"HEAD"}:
            assert method.lower() in document["paths"][path], (method, path)


def test_an_unknown_api_route_is_a_json_404(site):
    response = client_for(site).get("/api/v1/nothing")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
