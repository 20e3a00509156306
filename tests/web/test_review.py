"""The review queue on the web, through the real SMTP server and the real web server: filing offers open
records only (and notifies the owner), a record closed since drops out of the list, one click resolves,
linking by hand resolves too, and a user sees only the items on mail they may see (an admin the company's)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from gateway.store.models import Deal, Link, Notification, ReviewItem
from tests.support.gwtest import with_db
from tests.support.webtest import admin, bobs_deals, csrf_of


def rows(site, query):
    async def work(db):
        async with db.sessions() as session:
            return (await session.execute(query)).all()
    return with_db(site.settings, work)


def offered(page: str) -> list[str]:
    return [title.strip() for title in re.findall(r'class="candidate">Deal: ([^<]+)<', page)]


def test_filing_offers_open_deals_only_a_deal_closed_since_drops_out_and_one_click_resolves(site):
    deals = bobs_deals(site, **{"Second order": "open", "Won order": "won", "Lost order": "lost"})
    site.send("Which order?")
    pk = site.ids()["Which order?"]
    [(candidates, status)] = rows(site, select(ReviewItem.candidates, ReviewItem.status))
    assert status == "open" and sorted(candidates) == sorted([site.seed.deal_id, deals["Second order"]])
    [(kind, user_id, message_pk)] = rows(site, select(Notification.kind, Notification.user_id, Notification.message_pk))
    assert (kind, user_id, message_pk) == ("review", site.seed.user_id, pk)

    ada = site.sign_in()
    page = ada.get("/review").text
    assert sorted(offered(page)) == ["Bob&#39;s big order", "Second order"] and "Which order?" in page
    admin(site, "deal", "close", str(site.seed.deal_id), "--won")         # closed after filing
    page = ada.get("/review").text
    assert offered(page) == ["Second order"]
    [item] = json.loads(admin(site, "review", "list", "--json"))
    assert [c["title"] for c in item["candidates"]] == ["Second order"]
    item_id = int(re.search(r'action="/review/(\d+)/resolve"', page).group(1))
    token = csrf_of(page)
    # a closed record is refused even when posted by hand
    refused = ada.post(f"/review/{item_id}/resolve", data={"csrf": token, "record": str(site.seed.deal_id)})
    assert refused.status_code == 400
    done = ada.post(f"/review/{item_id}/resolve", data={"csrf": token, "record": str(deals["Second order"])})
    assert done.status_code == 303
    assert "linked to the deal Second order" in ada.get(done.headers["location"]).text
    assert ("deal", deals["Second order"], "review") in set(rows(site, select(Link.kind, Link.record_id, Link.rule)
                                                                  .where(Link.message_pk == pk)))
    assert 'id="queue-empty"' in ada.get("/review").text
    assert rows(site, select(Notification.read_at.is_not(None))) == [(True,)]       # nothing left to tell of
    assert ada.post(f"/review/{item_id}/resolve", data={"csrf": token, "record": "none"}).status_code == 400
    assert ada.post(f"/review/{item_id}/resolve", data={"record": "none"}).status_code == 403   # no CSRF token


def test_the_queue_shows_items_on_mail_the_user_may_see_admins_the_companys_and_a_link_by_hand_resolves(site):
    deals = bobs_deals(site, **{"Second order": "open"})
    site.send("Private choice")
    site.send("Shared choice")
    ids = site.ids()
    admin(site, "messages", "share", str(ids["Shared choice"]))
    by_pk = dict(rows(site, select(ReviewItem.message_pk, ReviewItem.id)))
    items = {subject: by_pk[pk] for subject, pk in ids.items()}
    colleague = site.sign_in("cy@acme.example")
    page = colleague.get("/review").text
    assert "Shared choice" in page and "Private choice" not in page
    token = csrf_of(page)
    for who in (colleague, site.sign_in("gus@globex.example")):
        response = who.post(f"/review/{items['Private choice']}/resolve", data={"csrf": csrf_of(who.get("/review").text),
                                                                              "record": "none"})
        assert response.status_code == 404
        assert response.text == who.post("/review/999999/resolve", data={
            "csrf": csrf_of(who.get("/review").text), "record": "none"}).text
    assert "Shared choice" not in site.sign_in("gus@globex.example").get("/review").text
    # a member without view rights on deals is offered none of them
    admin(site, "permission", "set", "cy@acme.example", "deal", "--view", "none")
    assert offered(colleague.get("/review").text) == []
    admin(site, "permission", "set", "cy@acme.example", "deal", "--view", "all")
    admin(site, "user", "set-role", "cy@acme.example", "admin")
    page = colleague.get("/review").text
    # the admin acts on a colleague's private message without reading it: not its subject, not a link
    assert "A private message (not shown to you)" in page and "ada@acme.example's mail" in page
    assert "Private choice" not in page and f'href="/messages/{ids["Private choice"]}"' not in page
    assert colleague.post(f"/review/{items['Private choice']}/resolve",
                          data={"csrf": token, "record": "none"}).status_code == 303
    ada = site.sign_in()
    assert "Private choice" not in ada.get("/review").text
    # linking the other message by hand, from the mailbox, resolves its item
    linked = ada.post("/mailbox/act", data={"csrf": csrf_of(ada.get("/mailbox").text), "ids": str(ids["Shared choice"]),
                                            "action": "link", "record": f"deal:{deals['Second order']}"})
    assert linked.status_code == 303
    assert rows(site, select(ReviewItem.status, ReviewItem.resolved_record_id).order_by(ReviewItem.id)) == [
        ("dismissed", None), ("resolved", deals["Second order"])]
    assert 'id="queue-empty"' in ada.get("/review").text

