"""Working together on mail: tasks made from a message or on a record (each user's list, overdue first,
marked done), a message's discussion with @mentions that notify only colleagues who may see it, the
notifications page and the unread counter of every page, and every id route 404 for who may not see."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone


from tests.support.webtest import admin, csrf_of


def counter(client) -> int:
    found = re.search(r'id="unread-notifications"[^>]*>(\d+)<', client.get("/tasks").text)
    return int(found.group(1)) if found else 0


def task_rows(html: str) -> list[str]:
    return [s.strip() for s in re.findall(r'<td class="subject">([^<]+)<', html)]


def test_tasks_from_a_message_and_a_record_overdue_first_done_and_notified_once(site):
    site.send("Quote request")
    message = site.ids()["Quote request"]
    deal = site.seed.deal_id
    ada = site.sign_in()
    page = ada.get(f"/messages/{message}")
    assert f'href="/messages/{message}/task"' in page.text
    form = ada.get(f"/messages/{message}/task")
    assert form.status_code == 200 and 'value="Follow up: Quote request"' in form.text
    assert f'value="deal:{deal}"' in form.text                   # the message's deal
    token = csrf_of(form.text)
    cy = site.users["cy@acme.example"]
    today = datetime.now(timezone.utc).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    for subject, due in (("Send the quote", tomorrow.isoformat()), ("Call Bob back", yesterday.isoformat()),
                         ("Some day", "")):
        made = ada.post(f"/messages/{message}/task", data={"csrf": token, "subject": subject, "due": due,
                                                            "owner": str(cy), "record": f"deal:{deal}"})
        assert made.status_code == 303 and made.headers["location"].startswith(f"/messages/{message}?notice=")
    # without the CSRF token nothing is planned
    assert ada.post(f"/messages/{message}/task", data={"subject": "x", "owner": str(cy),
                                                       "record": f"deal:{deal}"}).status_code == 403
    # from the record page too, for oneself
    record = ada.get(f"/records/deal/{deal}").text
    assert f'href="/records/deal/{deal}/task"' in record
    assert ada.post(f"/records/deal/{deal}/task", data={"csrf": token, "subject": "Ada's own", "due": "",
                                                        "owner": str(site.users["ada@acme.example"]),
                                                        "record": f"deal:{deal}"}).status_code == 303
    # a bad date or a colleague of another company is refused
    assert ada.post(f"/records/deal/{deal}/task", data={"csrf": token, "subject": "x", "due": "soon",
                                                        "owner": str(cy), "record": f"deal:{deal}"}).status_code == 400
    assert ada.post(f"/records/deal/{deal}/task", data={
        "csrf": token, "subject": "x", "owner": str(site.users["gus@globex.example"]),
        "record": f"deal:{deal}"}).status_code == 400
    record = ada.get(f"/records/deal/{deal}").text
    assert all(s in record for s in ("Send the quote", "Call Bob back", "Ada&#39;s own"))

    colleague = site.sign_in("cy@acme.example")
    tasks = colleague.get("/tasks").text
    assert task_rows(tasks)[:3] == ["Call Bob back", "Send the quote", "Some day"]   # overdue first, undated last
    assert tasks.count('class="task overdue"') == 1
    assert f'href="/messages/{message}"' not in tasks            # ada's private message: no link to it
    admin(site, "messages", "share", str(message))
    tasks = colleague.get("/tasks").text
    assert f'href="/messages/{message}"' in tasks
    assert task_rows(ada.get("/tasks").text) == ["Ada&#39;s own"]

    # the colleague heard of the three tasks planned for them (ada planning her own told nobody)
    assert counter(colleague) == 3 and counter(ada) == 0
    planned = colleague.get("/notifications").text
    assert f"Ada Lovelace planned a task for you, due {yesterday.isoformat()} 23:59 UTC: Call Bob back" in planned
    assert "Ada Lovelace planned a task for you: Some day" in planned
    assert colleague.post("/notifications/read", data={"csrf": csrf_of(planned)}).status_code == 303
    # overdue: the owner hears it once, on demand and by the gateway's own check
    assert counter(colleague) == 0
    assert "Notified 1 overdue task(s)." in admin(site, "notifications", "check")
    assert "Notified 0 overdue task(s)." in admin(site, "notifications", "check")
    assert counter(colleague) == 1
    notes = colleague.get("/notifications").text
    note = re.search(r'href="/notifications/(\d+)"><strong>Task overdue since [^<]*: Call Bob back<', notes)
    assert note, notes
    opened = colleague.get(f"/notifications/{note.group(1)}")
    overdue_id = re.search(r'<tr class="task overdue" id="task-(\d+)"', tasks).group(1)
    assert opened.status_code == 303 and opened.headers["location"] == f"/tasks#task-{overdue_id}"
    assert counter(colleague) == 0

    # done: off the planned list, on the done list
    done = colleague.post(f"/tasks/{overdue_id}/done", data={"csrf": csrf_of(tasks)})
    assert done.status_code == 303
    assert task_rows(colleague.get("/tasks").text) == ["Send the quote", "Some day"]
    assert task_rows(colleague.get("/tasks", params={"status": "done"}).text) == ["Call Bob back"]


def test_a_discussion_is_seen_by_who_sees_the_message_and_mentions_notify_only_them(site):
    site.send("Private plan")
    site.send("Shared quote")
    ids = site.ids()
    admin(site, "messages", "share", str(ids["Shared quote"]))
    ada = site.sign_in()
    token = csrf_of(ada.get("/mailbox").text)
    colleague = site.sign_in("cy@acme.example")
    # a mention on a message the colleague may not see: no notification, nothing said about them
    said = ada.post(f"/messages/{ids['Private plan']}/comments",
                    data={"csrf": token, "body": "@cy@acme.example look <script>alert(1)</script>"})
    assert said.status_code == 303
    assert said.headers["location"].startswith(f"/messages/{ids['Private plan']}?notice=Comment+added.#comment-")
    page = ada.get(f"/messages/{ids['Private plan']}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page   # escaped
    assert counter(colleague) == 0
    assert colleague.get(f"/messages/{ids['Private plan']}").status_code == 404
    # on a shared message: by name, and by address; the author and strangers are not notified
    ada.post(f"/messages/{ids['Shared quote']}/comments",
             data={"csrf": token, "body": "@Cy Colleague can you check the price? cc @gus@globex.example"})
    ada.post(f"/messages/{ids['Shared quote']}/comments", data={"csrf": token, "body": "and @cy too, @ada"})
    assert counter(colleague) == 2 and counter(ada) == 0 and counter(site.sign_in("gus@globex.example")) == 0
    shared = colleague.get(f"/messages/{ids['Shared quote']}").text
    assert "can you check the price?" in shared and "look" not in shared        # this message's discussion only
    notes = colleague.get("/notifications").text
    first = re.search(r'href="/notifications/(\d+)"', notes).group(1)
    assert colleague.get(f"/notifications/{first}").headers["location"] == f"/messages/{ids['Shared quote']}"
    assert counter(colleague) == 1
    read = colleague.post("/notifications/read", data={"csrf": csrf_of(notes)})
    assert read.status_code == 303 and counter(colleague) == 0
    assert colleague.post("/notifications/read", data={}).status_code == 403
    # the colleague answers; an empty comment is refused
    colleague.post(f"/messages/{ids['Shared quote']}/comments", data={"csrf": csrf_of(notes), "body": "@ada done"})
    assert counter(ada) == 1
    assert colleague.post(f"/messages/{ids['Shared quote']}/comments",
                          data={"csrf": csrf_of(notes), "body": "  "}).status_code == 400
    # the colleague empties it from their Trash: no mention reaches them about it, old ones are gone too
    mine = csrf_of(colleague.get("/mailbox").text)
    colleague.post("/mailbox/act", data={"csrf": mine, "ids": str(ids["Shared quote"]), "action": "trash"})
    colleague.post("/trash/empty", data={"csrf": mine})
    ada.post(f"/messages/{ids['Shared quote']}/comments", data={"csrf": token, "body": "@cy still there?"})
    assert counter(colleague) == 0 and "can you check" not in colleague.get("/notifications").text
    # unsharing hides the discussion and the notifications about it from the colleague
    admin(site, "messages", "unshare", str(ids["Shared quote"]))
    assert colleague.get(f"/messages/{ids['Shared quote']}").status_code == 404
    assert "can you check" not in colleague.get("/notifications").text


def test_task_comment_and_notification_routes_are_404_for_who_may_not_see(site):
    site.send("Private plan")
    private = site.ids()["Private plan"]
    deal = site.seed.deal_id
    ada = site.sign_in()
    token = csrf_of(ada.get("/mailbox").text)
    ada.post(f"/records/deal/{deal}/task", data={"csrf": token, "subject": "Mine", "due": "2020-01-01",
                                                 "owner": str(site.users["ada@acme.example"]),
                                                 "record": f"deal:{deal}"})
    task = re.search(r'id="task-(\d+)"', ada.get("/tasks").text).group(1)
    admin(site, "notifications", "check")
    note = re.search(r'href="/notifications/(\d+)"', ada.get("/notifications").text).group(1)
    for who in ("cy@acme.example", "gus@globex.example"):
        if who.startswith("cy"):
            admin(site, "permission", "set", who, "deal", "--view", "all", "--edit", "none")
        other = site.sign_in(who)
        theirs = csrf_of(other.get("/mailbox").text)
        missing = other.get("/messages/999999/task").text
        assert other.get(f"/messages/{private}/task").status_code == 404
        assert other.get(f"/messages/{private}/task").text == missing
        for path, data in ((f"/messages/{private}/task", {"subject": "x", "record": f"deal:{deal}"}),
                           (f"/messages/{private}/comments", {"body": "hello"}),
                           (f"/tasks/{task}/done", {})):
            assert other.post(path, data={"csrf": theirs, **data}).status_code == 404, (who, path)
        assert other.get(f"/notifications/{note}").status_code == 404
        if who.startswith("gus"):
            assert other.get(f"/records/deal/{deal}/task").status_code == 404
        else:       # may see the deal, may not change it: no "New task", and the form says why
            assert "action-task" not in other.get(f"/records/deal/{deal}").text
            assert other.get(f"/records/deal/{deal}/task").status_code == 400
    assert "Mine" in ada.get("/tasks").text                 # nothing changed for the owner
    # the daily digest is a choice on the settings page (the digest itself: tests/cli/test_cli_notifications.py)
    settings_page = ada.get("/settings").text
    assert 'id="digest-on" checked' not in settings_page
    assert settings_page.count('id="digest-on"') == 1 and "<title>Settings - smartbcc</title>" in settings_page
    assert ada.post("/settings/digest", data={"csrf": token, "digest": "on"}).status_code == 303
    assert 'id="digest-on" checked' in ada.get("/settings").text
    ada.post("/settings/digest", data={"csrf": token})
    settings_page = ada.get("/settings").text
    assert 'id="digest-on" checked' not in settings_page
    assert settings_page.count('id="digest-on"') == 1 and "<title>Settings - smartbcc</title>" in settings_page
