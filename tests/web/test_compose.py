"""Sending from a record on the web (GET/POST /records/{kind}/{id}/send), over HTTP against the real web
server, the real SMTP gateway and a real SMTP sink as smarthost: the recipients by the CRM's rules (hidden
ones shown as hidden), To, Cc, Bcc, a formatted body made safe, attachments and their size limit, edit
rights, CSRF."""

from __future__ import annotations

import re
from typing import Iterator

import pytest

from gateway.config import Settings
from tests.support.smarthost import Capture
from tests.support.webtest import Site, admin, csrf_of, site_for


@pytest.fixture
def site(settings: Settings, smarthost: Capture, request: pytest.FixtureRequest) -> Iterator[Site]:
    """The web site whose outbound mail goes to the test's capturing smarthost."""
    yield from site_for(settings, smarthost=smarthost.address, smarthost_starttls=False,
                        **getattr(request, "param", {}))


def post(client, path: str, data: dict, files: list | None = None):  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf": csrf_of(page.text), **data}, files=files or [])


def test_compose_lists_the_recipients_and_sends_with_cc_bcc_a_safe_formatted_body_and_an_attachment(site, smarthost):
    admin(site, "record-email", "add", "org", str(site.seed.org_id), "info@customer.example")
    ada = site.sign_in()
    deal = f"/records/deal/{site.seed.deal_id}/send"
    page = ada.get(deal)
    assert page.status_code == 200 and "Send mail from deal Bob&#39;s big order" in page.text
    # a deal's contact belongs to its organization: only the contact is offered, and checked
    assert re.findall(r'name="to" value="([^"]+)"[^>]*?(checked)?>', page.text) == [("bob@customer.example", "checked")]
    # a contact's organization the user may not view is shown as hidden, never offered
    admin(site, "permission", "set", "ada@acme.example", "org", "--view", "none")
    person = ada.get(f"/records/person/{site.seed.person_id}/send").text
    assert "Hidden organization: you may not view it" in person and "info@customer.example" not in person
    admin(site, "permission", "set", "ada@acme.example", "org", "--view", "all")

    refused = post(ada, deal, {"to": "bob@customer.example", "cc": "stranger@else.example", "subject": "Quote",
                               "body": "Hi", "format": "plain"})
    assert refused.status_code == 400 and smarthost.messages == []
    assert "stranger@else.example is not a recipient of deal" in refused.text
    assert 'value="stranger@else.example"' in refused.text           # what was typed stays

    org = f"/records/org/{site.seed.org_id}/send"       # an organization: its own addresses and its contacts'
    sent = post(ada, org, {"to": "info@customer.example", "bcc": "bob@customer.example", "subject": "Quote 17",
                            "format": "html", "body": '<p onmouseover="x()">Dear Bob, the <b>quote</b>.</p>'
                                                      '<img src="javascript:alert(1)"><script>alert(1)</script>'},
                files=[("attachments", ("quote.pdf", b"%PDF-1.4 q", "application/pdf")),
                       ("attachments", ("terms.txt", b"pay in 30 days", "text/plain"))])
    assert sent.status_code == 303, sent.text
    pk = int(re.search(r"/messages/(\d+)", sent.headers["location"]).group(1))
    [(envelope_from, rcpts)] = smarthost.envelopes
    assert envelope_from.startswith("acme+bounce-") and sorted(rcpts) == ["bob@customer.example",
                                                                           "info@customer.example"]
    [message] = smarthost.messages
    html = message.get_body(("html",)).get_content()
    assert "<b>quote</b>" in html and not re.search(r"onmouseover|javascript|script", html)
    assert [a.get_filename() for a in message.iter_attachments()] == ["quote.pdf", "terms.txt"]
    shown = ada.get(f"/messages/{pk}").text
    assert "Quote 17" in shown and "quote.pdf" in shown and "Customer Inc" in shown
    assert "Quote 17" in ada.get("/mailbox", params={"folder": "sent"}).text
    assert "Quote 17" in ada.get("/mailbox", params={"record": f"org:{site.seed.org_id}", "folder": "all"}).text
    body = ada.get(f"/messages/{pk}/body").text                      # stored as sanitized as it was sent
    assert "<b>quote</b>" in body and "onmouseover" not in body
    # sending needs edit rights on the record (the page says so), and the form's CSRF token
    admin(site, "permission", "set", "cy@acme.example", "deal", "--edit", "none")
    cy = site.sign_in("cy@acme.example")
    assert "you need edit rights on deal" in cy.get(deal).text
    denied = post(cy, deal, {"to": "bob@customer.example", "subject": "x", "body": "Hi", "format": "plain"})
    assert denied.status_code == 400 and "you need edit rights on deal" in denied.text
    forged = ada.post(deal, data={"to": "bob@customer.example", "subject": "x", "body": "Hi"})
    assert forged.status_code == 403 and len(smarthost.messages) == 1


@pytest.mark.parametrize("backend", ["sqlite"])      # the web form's limit: the same on PostgreSQL
@pytest.mark.parametrize("site", [{"max_message_size": 64 * 1024}], indirect=True)
def test_attachments_over_the_size_limit_are_refused_with_the_limit_in_words(site, smarthost):
    ada = site.sign_in()
    path = f"/records/deal/{site.seed.deal_id}/send"
    form = {"to": "bob@customer.example", "subject": "Big", "body": "Hi", "format": "plain"}
    over = post(ada, path, form, [("attachments", ("big.bin", b"x" * 80 * 1024, "application/octet-stream"))])
    assert over.status_code == 400 and "the limit is 0.1 MiB" in over.text and "leave out an attachment" in over.text
    huge = post(ada, path, form, [("attachments", ("huge.bin", b"x" * 2 * 1024 * 1024, "application/octet-stream"))])
    assert huge.status_code == 413 and "a message may carry 0.1 MiB in all" in huge.text
    assert "Too large to send" in huge.text and smarthost.messages == []
