"""Record pages and Save to CRM over HTTP, through the real web server, with mail filed by the real SMTP
server: a deal's fields, linked records, mail in threads with directions, activities and Bcc address; the
lists per kind with search and filters; what another user may not see; saving a message as a record."""

from __future__ import annotations

import re
from datetime import datetime, timezone


from gateway.services import activities
from gateway.store.models import Deal
from tests.support.gwtest import with_db
from tests.support.webtest import add_deal, admin, csrf_of, token_for

ANSWER = b"""From: Bob Buyer <bob@customer.example>\r\nTo: ada@acme.example\r\nSubject: Re: Order details\r\n\
Message-ID: <answer-1@customer.example>\r\nIn-Reply-To: <question-1@acme.example>\r\n\
References: <question-1@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nTwelve, please.\r\n"""

INQUIRY = b"""From: ada@acme.example\r\nTo: acme@bcc.example.net\r\nSubject: Fwd: RE: Gold plan for 40 seats\r\n\
Message-ID: <inquiry-1@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n\
---------- Forwarded message ---------\r\nFrom: Carol Customer <carol@client.example>\r\n\
Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nSubject: RE: Gold plan for 40 seats\r\nTo: <ada@acme.example>\r\n\r\n\
What does the gold plan cost for 40 seats?\r\n"""


def thread_subjects(page: str) -> list[list[str]]:
    """The record page's timeline: each thread's subjects, as listed."""
    threads = re.findall(r'<ol class="thread".*?</ol>', page, re.S)
    return [re.findall(r'class="subject">([^<]+)<', thread) for thread in threads]


def directions(page: str) -> dict[str, str]:
    return dict((subject, way) for way, subject in re.findall(
        r'<li class="mail (\w+)".*?class="subject">([^<]+)<', page, re.S))


def deal_conversation(site) -> None:
    """Three messages on the seeded deal: a question Bcc'd to the deal's address, the customer's answer
    (a reply in that thread, incoming), and a separate note."""
    question = (b"From: ada@acme.example\r\nTo: bob@customer.example\r\nSubject: Order details\r\n"
                b"Message-ID: <question-1@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
                b"How many units?\r\n")
    site.send("", raw=question, rcpt=site.seed.deal_address)
    site.send("", raw=ANSWER, sender="ada@acme.example")
    site.send("Delivery note", rcpt=site.seed.deal_address)


def test_a_deals_page_shows_its_fields_contact_organization_threads_directions_activities_and_address(site):
    deal_conversation(site)
    with_db(site.settings, lambda db: activities.add_activity(
        db, "deal", site.seed.deal_id, "Call Bob about delivery", datetime(2026, 12, 10, tzinfo=timezone.utc)))
    client = site.sign_in()
    page = client.get(f"/records/deal/{site.seed.deal_id}")
    assert page.status_code == 200
    text = page.text
    assert '<h1 id="record-title">Bob&#39;s big order</h1>' in text and 'id="record-status">open<' in text
    assert f'value="{site.seed.deal_address}"' in text and 'data-copy="bcc-address"' in text
    assert f'data-record="person:{site.seed.person_id}">Bob Buyer &lt;bob@customer.example&gt;<' in text
    assert f'data-record="org:{site.seed.org_id}">Customer Inc<' in text
    # newest thread first, the question and its answer in one thread (newest first), the note apart
    assert thread_subjects(text) == [["Delivery note"], ["Re: Order details", "Order details"]]
    assert directions(text) == {"Delivery note": "outgoing", "Re: Order details": "incoming",
                                "Order details": "outgoing"}
    assert "Call Bob about delivery" in text and "due Dec 10, 2026" in text
    assert 'id="record-actions"' in text
    assert f'href="/records/deal/{site.seed.deal_id}/send" id="action-send"' in text      # send from the deal
    # the contact's page lists the deal and the organization; the organization's lists its people and deal
    person = client.get(f"/records/person/{site.seed.person_id}").text
    assert f'data-record="deal:{site.seed.deal_id}">Bob&#39;s big order<' in person
    assert f'data-record="org:{site.seed.org_id}"' in person
    assert "Re: Order details" in person                      # the answer was filed on the contact too
    org = client.get(f"/records/org/{site.seed.org_id}").text
    assert f'data-record="person:{site.seed.person_id}"' in org and f'data-record="deal:{site.seed.deal_id}"' in org
    # the navigation leads to the lists
    assert 'id="nav-records"' in client.get("/mailbox").text


def listed(client, kind: str, **params: str) -> list[str]:
    response = client.get("/records", params={"kind": kind, **params})
    assert response.status_code == 200, response.text
    return listed_in(response.text)


def listed_in(page: str) -> list[str]:
    return re.findall(r'class="record" href="[^"]+">([^<]+)<', page)


async def owned_deal(db, company_id: int, title: str, owner: int) -> None:
    async with db.sessions() as session, session.begin():
        session.add(Deal(company_id=company_id, title=title, owner_user_id=owner))


def test_lists_per_kind_search_and_filter_by_status_and_owner(site):
    won = add_deal(site, "Widget renewal")
    add_deal(site, "Gadget pilot")
    admin(site, "deal", "close", str(won), "--won")
    cy = site.users["cy@acme.example"]
    with_db(site.settings, lambda db: owned_deal(db, site.seed.company_id, "Cy's gadget deal", cy))
    client = site.sign_in()
    assert listed(client, "deal") == ["Cy&#39;s gadget deal", "Gadget pilot", "Widget renewal", "Bob&#39;s big order"]
    assert listed(client, "deal", q="GADGET") == ["Cy&#39;s gadget deal", "Gadget pilot"]
    assert listed(client, "deal", status="won") == ["Widget renewal"]
    assert "Widget renewal" not in listed(client, "deal", status="open")
    assert listed(client, "deal", status="lost") == []
    assert listed(client, "person", q="customer.example") == ["Bob Buyer &lt;bob@customer.example&gt;"]
    assert listed(client, "org") == ["Customer Inc"]
    assert listed(client, "deal", owner="me") == []
    assert listed(client, "deal", owner=str(cy)) == ["Cy&#39;s gadget deal"]
    assert listed(site.sign_in("cy@acme.example"), "deal", owner="me", q="gadget") == ["Cy&#39;s gadget deal"]
    assert client.get("/records", params={"kind": "deal", "status": "done"}).status_code == 400
    assert client.get("/records", params={"kind": "nonsense"}).status_code == 404
    # every kind has its list and its pages; only those with a Bcc address of their own show one (leads
    # exist in classic CRM mode only)
    admin(site, "company", "set", "acme", "--crm-mode", "classic")
    for kind in ("project", "lead", "invoice", "quote", "smart"):
        admin(site, kind, "add", "--company", "acme", "--title", f"A {kind}")
        assert listed(client, kind) == [f"A {kind}"]
        ident = re.search(rf'href="/records/{kind}/(\d+)"', client.get("/records", params={"kind": kind}).text)[1]
        page = client.get(f"/records/{kind}/{ident}").text
        assert f'<h1 id="record-title">A {kind}</h1>' in page
        assert ('id="bcc-address"' in page) == (kind in ("project", "lead")), kind


def test_what_a_user_may_not_view_is_not_found_not_listed_and_not_in_a_timeline(site):
    site.send("Private plan for Bob", rcpt=site.seed.deal_address)
    site.send("Shared quote for Bob", rcpt=site.seed.deal_address)
    ids = site.ids()
    admin(site, "messages", "share", str(ids["Shared quote for Bob"]))
    deal = f"/records/deal/{site.seed.deal_id}"
    colleague = site.sign_in("cy@acme.example")
    page = colleague.get(deal).text
    assert thread_subjects(page) == [["Shared quote for Bob"]]            # the private one is not there
    assert len(thread_subjects(site.sign_in().get(deal).text)) == 2
    # view "own" on deals: a deal nobody (or a colleague) owns is not found, and not listed nor searched
    admin(site, "permission", "set", "cy@acme.example", "deal", "--view", "own")
    missing = colleague.get("/records/deal/999999")
    assert colleague.get(deal).status_code == 404 and colleague.get(deal).text == missing.text
    assert listed(colleague, "deal") == [] and listed(colleague, "deal", q="big order") == []
    # a hidden deal is counted on its contact's page, not named
    person = colleague.get(f"/records/person/{site.seed.person_id}").text
    assert "big order" not in person and "and 1 record you may not see" in person
    admin(site, "permission", "set", "cy@acme.example", "person", "--view", "none")
    assert colleague.get(f"/records/person/{site.seed.person_id}").status_code == 404
    # another company sees nothing of acme's records, on the pages or through the API
    stranger = site.sign_in("gus@globex.example")
    assert stranger.get(deal).status_code == 404 and listed(stranger, "deal") == []
    assert stranger.get(f"/records/org/{site.seed.org_id}").status_code == 404
    api = site.client(headers={"Authorization": f"Bearer {token_for(site, 'gus@globex.example')}"})
    response = api.get(f"/api/v1/records/deal/{site.seed.deal_id}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert api.get("/api/v1/records", params={"kind": "deal"}).json()["records"] == []


def save(client, message: int, **fields: str):
    page = client.get(f"/messages/{message}")
    return client.post(f"/messages/{message}/save", data={"csrf": csrf_of(page.text), **fields})


def test_save_to_crm_makes_a_deal_lead_or_organization_from_a_forward_and_links_the_message(site):
    site.send("", raw=INQUIRY)
    inquiry = site.ids()["Fwd: RE: Gold plan for 40 seats"]
    client = site.sign_in()
    page = client.get(f"/messages/{inquiry}").text
    assert 'id="save-title" name="title" value="Gold plan for 40 seats"' in page
    assert 'value="carol@client.example"' in page and 'value="Carol Customer"' in page
    assert 'id="save-kind-lead"' not in page                          # simple mode: no leads
    response = save(client, inquiry, kind="deal", title="Gold plan for 40 seats", name="Carol Customer",
                    email="carol@client.example")
    assert response.status_code == 303
    deal_path = response.headers["location"].split("?")[0]
    assert re.fullmatch(r"/records/deal/\d+", deal_path)
    deal = client.get(response.headers["location"]).text
    assert '<h1 id="record-title">Gold plan for 40 seats</h1>' in deal
    assert thread_subjects(deal) == [["Fwd: RE: Gold plan for 40 seats"]]
    assert directions(deal) == {"Fwd: RE: Gold plan for 40 seats": "incoming"}
    assert "Carol Customer &lt;carol@client.example&gt;" in deal             # the customer's contact
    assert "(manual)" in deal and "Saved; the message is linked." in deal
    links = client.get(f"/messages/{inquiry}").text
    assert f'href="{deal_path}" class="linked-record"' in links
    # a lead is refused in simple mode, offered and made in classic mode
    assert save(client, inquiry, kind="lead").status_code == 400
    admin(site, "company", "set", "acme", "--crm-mode", "classic")
    assert 'id="save-kind-lead"' in client.get(f"/messages/{inquiry}").text
    lead = save(client, inquiry, kind="lead", title="Gold lead", name="Carol", email="carol@client.example")
    assert lead.status_code == 303 and "/records/lead/" in lead.headers["location"]
    lead_page = client.get(lead.headers["location"].split("?")[0]).text
    assert "Gold lead" in lead_page and "carol@client.example" in lead_page
    # an organization from the customer's domain
    org = save(client, inquiry, kind="org", organization="Client Ltd", domain="client.example")
    assert "Client Ltd" in client.get(org.headers["location"].split("?")[0]).text
    # the JSON API's equivalent: save, show, list
    api = site.client(headers={"Authorization": f"Bearer {token_for(site, 'ada@acme.example')}"})
    made = api.post(f"/api/v1/messages/{inquiry}/save-to-crm", json={"kind": "deal", "title": "Silver plan"})
    assert made.status_code == 201, made.text
    deal = made.json()
    assert deal["kind"] == "deal" and deal["label"] == "Silver plan" and deal["status"] == "open"
    assert [m["id"] for thread in deal["threads"] for m in thread] == [inquiry]
    assert deal["threads"][0][0]["direction"] == "incoming"
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json()["label"] == "Silver plan"
    listed_deals = api.get("/api/v1/records", params={"kind": "deal", "status": "open", "q": "silver"}).json()
    assert [r["id"] for r in listed_deals["records"]] == [deal["id"]]
    assert api.get("/api/v1/records", params={"q": "silver"}).json()["records"] == [  # records to link
        {"kind": "deal", "id": deal["id"], "label": "Silver plan"}]
    bad = api.post(f"/api/v1/messages/{inquiry}/save-to-crm", json={"kind": "person", "email": "nonsense"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    # a colleague without edit rights on deals cannot save one; another company does not see the message
    admin(site, "messages", "share", str(inquiry))
    admin(site, "permission", "set", "cy@acme.example", "deal", "--edit", "none")
    colleague = site.sign_in("cy@acme.example")
    page = colleague.get(f"/messages/{inquiry}").text
    assert 'id="save-kind-deal"' not in page and 'id="save-kind-person"' in page
    assert save(colleague, inquiry, kind="deal", title="Not allowed").status_code == 400
    assert "Not allowed" not in site.sign_in().get("/records", params={"kind": "deal"}).text
    stranger = site.sign_in("gus@globex.example")
    token = csrf_of(stranger.get("/mailbox").text)
    response = stranger.post(f"/messages/{inquiry}/save", data={"csrf": token, "kind": "deal", "title": "x"})
    assert response.status_code == 404


def test_record_lists_page_newest_first_with_an_older_link_and_the_apis_next_before(site, monkeypatch):
    from gateway.services import record_pages

    monkeypatch.setattr(record_pages, "LIST_LIMIT", 2)        # pages of two, in the web server of this test
    for n in range(1, 5):
        add_deal(site, f"Deal {n}")
    client = site.sign_in()
    pages, url = [], "/records?kind=deal&q=deal+"
    while url:
        page = client.get(url.replace("&amp;", "&")).text
        pages.append(listed_in(page))
        older = re.search(r'id="older-records" rel="next" href="([^"]+)"', page)
        url = older.group(1) if older else ""
    assert pages == [["Deal 4", "Deal 3"], ["Deal 2", "Deal 1"]]      # the search holds across pages
    assert client.get("/records", params={"kind": "deal", "before": "x"}).status_code == 400
    api = site.client(headers={"Authorization": f"Bearer {token_for(site, 'ada@acme.example')}"})
    first = api.get("/api/v1/records", params={"kind": "deal", "q": "deal "}).json()
    assert [r["label"] for r in first["records"]] == ["Deal 4", "Deal 3"] and first["more"]
    second = api.get("/api/v1/records", params={"kind": "deal", "q": "deal ", "before": first["next_before"]}).json()
    assert [r["label"] for r in second["records"]] == ["Deal 2", "Deal 1"]
