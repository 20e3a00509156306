"""The mailbox: list, folders, filters, search, operations and the message view, through the real
servers (mail filed by SMTP, pages over HTTP)."""

from __future__ import annotations

import re

from tests.support.webtest import add_deal, csrf_of, token_for

FORWARD = b"""From: ada@acme.example\r\nTo: acme@bcc.example.net\r\nSubject: Fwd: Pricing question\r\n\
Message-ID: <fwd-1@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n\
---------- Forwarded message ---------\r\nFrom: Carol Customer <carol@client.example>\r\n\
Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nSubject: Pricing question\r\nTo: <ada@acme.example>\r\n\r\n\
What does the gold plan cost?\r\n"""


def search_rows(site) -> int:
    """Rows in the full-text index (FTS5 table or tsvector table)."""
    from sqlalchemy import text

    from tests.support.gwtest import with_db

    async def work(db):
        async with db.sessions() as session:
            return await session.scalar(text("SELECT count(*) FROM message_search"))
    return with_db(site.settings, work)


def subjects(html: str) -> list[str]:
    return re.findall(r'class="subject">([^<]+)<', html)


def act(client, ids, action, back="/mailbox", **extra):
    token = csrf_of(client.get("/mailbox").text)
    return client.post("/mailbox/act", data={"csrf": token, "ids": [str(i) for i in ids], "action": action,
                                             "back": back, **extra})


def test_sent_lists_newest_first_read_with_a_keyset_next_page(site):
    for n in range(5):
        site.send(f"Quote {n}")
    client = site.sign_in()
    page = client.get("/mailbox", params={"folder": "sent"}).text
    assert subjects(page) == [f"Quote {n}" for n in (4, 3, 2, 1, 0)]
    assert page.count('<tr class="read"') == 5          # a user's own outgoing mail arrives read
    site.send("Quote 5")
    api_pages = []
    api = site.client(headers={"Authorization": f"Bearer {token_for(site, 'ada@acme.example')}"})
    cursor = None
    while True:
        body = api.get("/api/v1/messages", params={"folder": "sent", "limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        api_pages.append([m["subject"] for m in body["messages"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert api_pages == [["Quote 5", "Quote 4"], ["Quote 3", "Quote 2"], ["Quote 1", "Quote 0"]]


def test_inbox_holds_customer_mail_with_its_unread_count_and_opening_reads_it(site):
    site.send("", raw=FORWARD)
    site.send("My own mail")
    client = site.sign_in()
    inbox = client.get("/mailbox").text
    assert subjects(inbox) == ["Fwd: Pricing question"] and 'id="unread-count">1 unread' in inbox
    ident = site.ids()["Fwd: Pricing question"]
    view = client.get(f"/messages/{ident}").text
    assert "carol@client.example" in view and "Pricing question" in view and "Forwarded original" in view
    inbox = client.get("/mailbox").text
    assert 'id="unread-count">0 unread' in inbox and '<tr class="read"' in inbox
    act(client, [ident], "unread")
    assert 'id="unread-count">1 unread' in client.get("/mailbox").text


def test_search_finds_by_subject_participant_and_body_words(site):
    site.send("Budget for spring", body="the invoice is attached")
    site.send("Lunch", to="Zed Zimmer <zed@other.example>", body="see you at noon")
    client = site.sign_in()
    assert subjects(client.get("/mailbox", params={"q": "spring"}).text) == ["Budget for spring"]
    assert subjects(client.get("/mailbox", params={"q": "invoice"}).text) == ["Budget for spring"]
    assert subjects(client.get("/mailbox", params={"q": "zimmer"}).text) == ["Lunch"]
    assert subjects(client.get("/mailbox", params={"q": "zed@other.example"}).text) == ["Lunch"]
    assert subjects(client.get("/mailbox", params={"q": "nooo"}).text) == []
    assert subjects(client.get("/mailbox", params={"q": 'no" OR *'}).text) == []     # no query syntax leaks


def test_a_long_text_shows_its_beginning_and_says_so(site):
    """Past its first MiB a text body is kept in the raw message only: the page says so and offers it."""
    lines = [f"line {n} of the price list" for n in range(60_000)] + ["farthestword"]
    site.send("Price list", body="\n".join(lines))
    site.send("Short one", body="a short body")
    client = site.sign_in()
    ids = site.ids()
    page = client.get(f"/messages/{ids['Price list']}").text
    assert "line 0 of the price list" in page and "farthestword" not in page
    assert 'id="text-clipped"' in page and f'/messages/{ids["Price list"]}/raw' in page
    assert b"farthestword" in client.get(f"/messages/{ids['Price list']}/raw").content
    assert 'id="text-clipped"' not in client.get(f"/messages/{ids['Short one']}").text


def test_filters_read_linked_record_and_dates(site):
    site.send("To Bob")                                    # bob is a contact: linked
    site.send("To a stranger", to="x@nowhere.example")     # a new contact is made too: linked
    client = site.sign_in()
    ids = site.ids()
    act(client, [ids["To a stranger"]], "unread")
    base = {"folder": "sent"}
    assert subjects(client.get("/mailbox", params={**base, "read": "unread"}).text) == ["To a stranger"]
    assert subjects(client.get("/mailbox", params={**base, "read": "read"}).text) == ["To Bob"]
    deal = f"deal:{site.seed.deal_id}"
    assert subjects(client.get("/mailbox", params={**base, "record": deal}).text) == ["To Bob"]
    act(client, [ids["To a stranger"]], "spam")             # spam unlinks
    assert subjects(client.get("/mailbox", params={"folder": "spam", "linked": "no"}).text) == ["To a stranger"]
    assert subjects(client.get("/mailbox", params={**base, "linked": "yes"}).text) == ["To Bob"]
    assert subjects(client.get("/mailbox", params={**base, "since": "2000-01-01", "until": "2000-12-31"}).text) == []
    assert len(subjects(client.get("/mailbox", params={**base, "since": "2000-01-01"}).text)) == 1


def test_trash_restore_empty_and_spam_with_the_never_log_offer(site):
    site.send("Keep me")
    site.send("Bin me")
    client = site.sign_in()
    ids = site.ids()
    act(client, [ids["Bin me"]], "trash")
    assert subjects(client.get("/mailbox", params={"folder": "sent"}).text) == ["Keep me"]
    assert subjects(client.get("/mailbox", params={"folder": "trash"}).text) == ["Bin me"]
    act(client, [ids["Bin me"]], "restore")
    assert subjects(client.get("/mailbox", params={"folder": "trash"}).text) == []
    act(client, [ids["Bin me"]], "trash")
    token = csrf_of(client.get("/mailbox").text)
    assert client.post("/trash/empty", data={"csrf": token}).status_code == 303
    assert "Bin me" not in site.ids() and client.get(f"/messages/{ids['Bin me']}").status_code == 404
    assert search_rows(site) == 1                          # the full-text index lost the purged message too
    spammed = act(client, [ids["Keep me"]], "spam")
    assert "offer=ada%40acme.example" in spammed.headers["location"]
    assert "Never log mail from" not in client.get(spammed.headers["location"]).text    # the company's list:
    assert client.post("/never-log", data={"csrf": token, "address": "spam@junk.example"}).status_code == 404
    from tests.web.test_visibility import admin
    admin(site, "user", "set-role", "ada@acme.example", "admin")                     # admins only
    offered = client.get(spammed.headers["location"]).text
    assert "Never log mail from ada@acme.example" in offered
    assert client.post("/never-log", data={"csrf": token, "address": "spam@junk.example"}).status_code == 303
    from gateway.store.models import Exclusion
    from tests.support.gwtest import count
    assert count(site.settings, Exclusion) == 1


def test_user_folders_create_rename_move_and_delete(site):
    site.send("File me")
    client = site.sign_in()
    token = csrf_of(client.get("/mailbox").text)
    made = client.post("/folders", data={"csrf": token, "name": "Hot deals"})
    folder = made.headers["location"].rsplit("=", 1)[1]
    assert client.post("/folders", data={"csrf": token, "name": "hot  deals"}).status_code in (303, 400)
    ident = site.ids()["File me"]
    act(client, [ident], "move", to=folder)
    assert subjects(client.get("/mailbox", params={"folder": folder}).text) == ["File me"]
    assert subjects(client.get("/mailbox", params={"folder": "sent"}).text) == []
    client.post(f"/folders/{folder}/rename", data={"csrf": token, "name": "Won"})
    assert ">Won<" in client.get("/mailbox").text
    client.post(f"/folders/{folder}/delete", data={"csrf": token})
    assert subjects(client.get("/mailbox", params={"folder": "sent"}).text) == ["File me"]


def test_link_to_a_record_found_by_name_and_unlink(site):
    site.send("Deal talk", to="x@nowhere.example")
    deal = add_deal(site, "Gizmo rollout")
    client = site.sign_in()
    ident = site.ids()["Deal talk"]
    found = client.get(f"/messages/{ident}", params={"find": "gizmo"}).text
    assert f'value="deal:{deal}"' in found
    act(client, [ident], "link", back=f"/messages/{ident}", record=f"deal:{deal}")
    view = client.get(f"/messages/{ident}").text
    assert "Gizmo rollout" in view and "(rule: manual)" in view
    token = csrf_of(view)
    client.post(f"/messages/{ident}/unlink", data={"csrf": token, "record": f"deal:{deal}"})
    assert "Gizmo rollout" not in client.get(f"/messages/{ident}").text


def test_html_is_sanitized_remote_content_blocked_until_asked_and_framed_under_its_own_policy(site):
    site.send("Newsletter", html='<p onclick="x()">Hi</p><img src="http://127.0.0.1:9/t.png"><script>x()</script>'
                                 '<a href="javascript:alert(1)">j</a><form action="/x"><input></form>')
    client = site.sign_in()
    ident = site.ids()["Newsletter"]
    view = client.get(f"/messages/{ident}").text
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in view and "Show remote content" in view
    body = client.get(f"/messages/{ident}/body")
    assert "img-src data:;" in body.headers["content-security-policy"] and "sandbox" in body.headers["content-security-policy"]
    for bad in ("onclick", "<script", "javascript:", "<form", "<input", "127.0.0.1:9"):
        assert bad not in body.text
    shown = client.get(f"/messages/{ident}/body", params={"remote": "1"})
    assert "http://127.0.0.1:9/t.png" in shown.text and "img-src data: https: http:" in shown.headers["content-security-policy"]


def test_attachments_download_one_by_one_with_their_type_and_a_safe_name_and_the_raw_message(site):
    site.send("Files", attachments=(("../../etc/pass\u202ewd.pdf", "application/pdf", b"%PDF-1.4 hello"),
                                    ("notes ü.txt", "text/plain", b"plain notes")))
    client = site.sign_in()
    ident = site.ids()["Files"]
    first = client.get(f"/messages/{ident}/attachments/1")
    assert first.content == b"%PDF-1.4 hello" and first.headers["content-type"] == "application/pdf"
    disposition = first.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "/" not in disposition.split("filename*=")[0] and "\u202e" not in disposition
    second = client.get(f"/messages/{ident}/attachments/2")
    assert second.content == b"plain notes" and "filename*=UTF-8''notes%20%C3%BC.txt" in second.headers["content-disposition"]
    assert client.get(f"/messages/{ident}/attachments/3").status_code == 404
    raw = client.get(f"/messages/{ident}/raw")
    assert raw.headers["content-type"] == "message/rfc822" and b"Subject: Files" in raw.content
    assert raw.headers["content-disposition"].startswith("attachment;")


def test_after_an_operation_the_browser_goes_back_only_to_a_page_of_this_site(site):
    site.send("Anything")
    client = site.sign_in()
    ident = site.ids()["Anything"]
    for back in ("//evil.example/x", "/\\evil.example/x", "https://evil.example/"):
        location = act(client, [ident], "read", back=back).headers["location"]
        assert location.startswith("/mailbox?notice="), location
