"""The JSON API's task list and review queue, through the real servers: a user's own tasks (overdue first),
marking one done, the review items they may act on and resolving one; another user's ids are 404, exactly
like ids that do not exist."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.support.webtest import csrf_of, token_for
from tests.support.webtest import bobs_deals


def test_tasks_and_the_review_queue_through_the_api(site):
    deals = bobs_deals(site, **{"Second order": "open", "Lost order": "lost"})
    site.send("Which order?")                                  # bob has two open deals: a review item
    message = site.ids()["Which order?"]
    api = site.client(headers={"Authorization": f"Bearer {token_for(site, 'ada@acme.example')}"})
    stranger = site.client(headers={"Authorization": f"Bearer {token_for(site, 'gus@globex.example')}"})

    [item] = api.get("/api/v1/review").json()["items"]
    assert item["message_id"] == message and item["subject"] == "Which order?"
    assert {c["title"] for c in item["candidates"]} == {"Second order", "Bob's big order"}   # never the lost one
    assert stranger.get("/api/v1/review").json()["items"] == []
    missing = stranger.post(f"/api/v1/review/{item['id']}/resolve", json={"record_id": deals["Second order"]})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert api.post(f"/api/v1/review/{item['id']}/resolve", json={}).status_code == 400
    assert api.post(f"/api/v1/review/{item['id']}/resolve",
                    json={"record_id": deals["Lost order"]}).status_code == 400       # not a candidate
    done = api.post(f"/api/v1/review/{item['id']}/resolve", json={"record_id": deals["Second order"]})
    assert done.status_code == 200, done.text
    assert api.get("/api/v1/review").json()["items"] == []

    # tasks: planned from the web, listed and done through the API; nobody else may mark them
    web = site.sign_in()
    token = csrf_of(web.get("/mailbox").text)
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    for subject, due in (("Later", ""), ("Call Bob", yesterday)):
        assert web.post(f"/records/deal/{deals['Second order']}/task", data={
            "csrf": token, "subject": subject, "due": due, "owner": str(site.users["ada@acme.example"]),
            "record": f"deal:{deals['Second order']}"}).status_code == 303
    planned = api.get("/api/v1/tasks").json()["tasks"]
    assert [t["subject"] for t in planned] == ["Call Bob", "Later"] and planned[0]["overdue"] is True
    assert stranger.get("/api/v1/tasks").json()["tasks"] == []
    assert stranger.post(f"/api/v1/tasks/{planned[0]['id']}/done").status_code == 404
    assert api.post("/api/v1/tasks/999999/done").status_code == 404
    assert api.post(f"/api/v1/tasks/{planned[0]['id']}/done").json()["status"] == "completed"
    assert [t["subject"] for t in api.get("/api/v1/tasks", params={"status": "completed"}).json()["tasks"]] == [
        "Call Bob"]
    assert api.get("/api/v1/tasks", params={"status": "someday"}).status_code == 400
    assert {"/tasks", "/tasks/{id}/done", "/review", "/review/{id}/resolve"} <= set(
        api.get("/api/v1/openapi.json").json()["paths"])
