"""`smartbcc recipients|send`, `record-email`, `permission`, `invoice|quote|smart`: sending from a record."""

from __future__ import annotations

import json

import pytest
from tests.support.clitest import run_db
from sqlalchemy import func, select
from tests.support.gwtest import free_port
from tests.support.smarthost import Capture

from gateway.services import users
from gateway.store.models import Lead, Message, Person, RecordEmail

ADA = "ada@acme.example"


@pytest.fixture
def smarthost(smarthost: Capture, monkeypatch: pytest.MonkeyPatch) -> Capture:
    """The shared capturing smarthost, named to the commands by their environment."""
    monkeypatch.setenv("SMARTBCC_SMARTHOST", smarthost.address)
    monkeypatch.setenv("SMARTBCC_SMARTHOST_STARTTLS", "false")
    return smarthost


def emails(listing) -> list[str]:
    return [r["email"] for r in listing["recipients"]]


def count(settings, model) -> int:
    async def work(db):
        async with db.sessions() as session:
            return await session.scalar(select(func.count()).select_from(model))
    return run_db(settings, work)


def test_invoice_quote_smart_add_list_show(seeded, smartbcc):
    for kind, noun in (("invoice", "invoice"), ("quote", "quote"), ("smart", "smart process")):
        added = smartbcc.json(kind, "add", "--company", "acme", "--title", f"First {noun}",
                              "--person", seeded.person["id"], "--org", seeded.org["id"])
        assert (added["kind"], added["title"], added["status"], added["person_id"], added["org_id"]) == (
            kind, f"First {noun}", "open", seeded.person["id"], seeded.org["id"])
        assert [d["id"] for d in smartbcc.json(kind, "list", "--company", "acme")] == [added["id"]]
        assert smartbcc.json(kind, "list", "--company", "globex") == []
        shown = smartbcc.json(kind, "show", added["id"])
        assert shown["messages"] == [] and shown["activities"] == []
        assert f"First {noun}" in smartbcc.ok(kind, "list", "--company", "acme")
        assert "No messages linked." in smartbcc.ok(kind, "show", str(added["id"]))
        assert f"no {noun} with id 999" in smartbcc.fails(kind, "show", "999")
    assert "no contact with id 999" in smartbcc.fails("invoice", "add", "--company", "acme", "--title", "x",
                                                      "--person", "999")
    assert "title cannot be empty" in smartbcc.fails("quote", "add", "--company", "acme", "--title", " ")


def test_permissions_default_set_and_list(seeded, smartbcc):
    rights = smartbcc.json("permission", "list", ADA)["rights"]
    assert {(r["kind"], r["view"], r["edit"], r["default"]) for r in rights} >= {
        ("deal", "all", "all", True), ("person", "all", "all", True), ("smart", "all", "all", True)}
    changed = smartbcc.json("permission", "set", ADA, "person", "--view", "own")["rights"]
    assert [(r["view"], r["edit"], r["default"]) for r in changed if r["kind"] == "person"] == [("own", "all", False)]
    smartbcc.ok("permission", "set", ADA, "all", "--edit", "none")
    after = {r["kind"]: (r["view"], r["edit"]) for r in smartbcc.json("permission", "list", ADA)["rights"]}
    assert after["person"] == ("own", "none") and after["deal"] == ("all", "none")
    assert "(default)" not in smartbcc.ok("permission", "list", ADA)
    assert "--view and/or --edit" in smartbcc.fails("permission", "set", ADA, "deal", code=2)
    assert "no user with address" in smartbcc.fails("permission", "set", "nobody@acme.example", "deal",
                                                    "--view", "all")
    assert "Invalid value" in smartbcc.fails("permission", "set", ADA, "deal", "--view", "some", code=2)


def test_record_email_add_list_remove(seeded, smartbcc):
    org = seeded.org["id"]
    assert smartbcc.json("record-email", "list", "org", org)["addresses"] == []
    added = smartbcc.json("record-email", "add", "org", org, "Info@Customer.example")["addresses"]
    assert added == [{"email": "info@customer.example", "primary": False, "last_used_at": None}]
    assert "already an address" in smartbcc.fails("record-email", "add", "org", org, "info@customer.example")
    person = smartbcc.json("record-email", "add", "person", seeded.person["id"], "bob@home.example")
    assert [(a["email"], a["primary"]) for a in person["addresses"]] == [
        ("bob@customer.example", True), ("bob@home.example", False)]
    assert "already an address" in smartbcc.fails("record-email", "add", "person", seeded.person["id"],
                                                  "bob@customer.example")
    assert "own address field" in smartbcc.fails("record-email", "remove", "person", seeded.person["id"],
                                                 "bob@customer.example")
    smartbcc.ok("record-email", "remove", "org", org, "info@customer.example")
    assert "has no address" in smartbcc.ok("record-email", "list", "org", str(org))
    assert "is not an address" in smartbcc.fails("record-email", "remove", "org", org, "info@customer.example")
    assert "Invalid value" in smartbcc.fails("record-email", "add", "deal", seeded.deal["id"], "x@y.example",
                                             code=2)
    assert "not a valid address" in smartbcc.fails("record-email", "add", "org", org, "not-an-address")


def test_recipients_by_kind(seeded, smartbcc):
    org, bob = seeded.org["id"], seeded.person["id"]
    smartbcc.ok("record-email", "add", "org", org, "info@customer.example")
    # a deal linked to a contact whose company is not on the deal: only the contact
    assert emails(smartbcc.json("recipients", "deal", seeded.deal["id"], "--as", ADA)) == ["bob@customer.example"]
    # a contact and its company
    assert emails(smartbcc.json("recipients", "person", bob, "--as", ADA)) == [
        "bob@customer.example", "info@customer.example"]
    # a company and its contacts
    assert emails(smartbcc.json("recipients", "org", org, "--as", ADA)) == [
        "info@customer.example", "bob@customer.example"]
    # a quote with the contact and its own company: only the contact
    quote = smartbcc.json("quote", "add", "--company", "acme", "--title", "Offer", "--person", bob, "--org", org)
    assert emails(smartbcc.json("recipients", "quote", quote["id"], "--as", ADA)) == ["bob@customer.example"]
    # an invoice with only the company: the company's
    invoice = smartbcc.json("invoice", "add", "--company", "acme", "--title", "Bill", "--org", org)
    assert emails(smartbcc.json("recipients", "invoice", invoice["id"], "--as", ADA)) == ["info@customer.example"]
    # a lead: its own address and its contact's
    smartbcc.ok("company", "set", "acme", "--crm-mode", "classic")     # simple mode has no leads
    lead = smartbcc.json("lead", "add", "--company", "acme", "--title", "Inquiry", "--email", "eve@prospect.example",
                         "--person", bob)
    listing = smartbcc.json("recipients", "lead", lead["id"], "--as", ADA)
    assert [(r["email"], r["kind"], r["via"]) for r in listing["recipients"]] == [
        ("eve@prospect.example", "lead", "own"), ("bob@customer.example", "person", "contact")]
    text = smartbcc.ok("recipients", "lead", str(lead["id"]), "--as", ADA)
    assert "most recently used first" in text and f"contact {bob}" in text and f"lead {lead['id']}" in text


def test_recipients_errors(seeded, smartbcc):
    smart = smartbcc.json("smart", "add", "--company", "acme", "--title", "Onboarding")
    assert "smart process" in smartbcc.fails("recipients", "smart", smart["id"], "--as", ADA)
    assert "has no linked contact or company: link one" in smartbcc.fails(
        "recipients", "smart", smart["id"], "--as", ADA)
    smartbcc.ok("company", "set", "acme", "--crm-mode", "classic")     # simple mode has no leads
    lead = smartbcc.json("lead", "add", "--company", "acme", "--title", "Walk-in")
    assert "no e-mail address, and no linked contact or company" in smartbcc.fails(
        "recipients", "lead", lead["id"], "--as", ADA)
    assert "no deal with id 999" in smartbcc.fails("recipients", "deal", "999", "--as", ADA)
    assert "no user with address" in smartbcc.fails("recipients", "deal", seeded.deal["id"], "--as", "x@acme.example")
    run_db(smartbcc.settings, lambda db: users.add_user(db, "gus@globex.example", "globex", "Gus"))
    assert "no deal with id" in smartbcc.fails("recipients", "deal", seeded.deal["id"], "--as", "gus@globex.example")


def test_rights_decide_what_the_sender_sees(seeded, smartbcc):
    deal = seeded.deal["id"]
    smartbcc.ok("permission", "set", ADA, "person", "--view", "none")
    assert "hidden from you: you need view rights on contact" in smartbcc.fails(
        "recipients", "deal", deal, "--as", ADA)
    smartbcc.ok("permission", "set", ADA, "person", "--view", "all")
    smartbcc.ok("permission", "set", ADA, "deal", "--edit", "own")     # the seeded deal has no owner
    assert f"you need edit rights on deal {deal}" in smartbcc.fails("recipients", "deal", deal, "--as", ADA)
    smartbcc.ok("permission", "set", ADA, "deal", "--edit", "all")
    org = seeded.org["id"]
    smartbcc.ok("record-email", "add", "org", org, "info@customer.example")
    smartbcc.ok("permission", "set", ADA, "org", "--view", "none")
    listing = smartbcc.json("recipients", "person", seeded.person["id"], "--as", ADA)
    assert emails(listing) == ["bob@customer.example"]
    assert listing["hidden"] == [{"kind": "org", "record_id": org, "via": "company"}]
    assert f"Hidden organization {org} (company)" in smartbcc.ok("recipients", "person", str(seeded.person["id"]),
                                                          "--as", ADA)


def test_send_from_a_deal(seeded, smartbcc, smarthost, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("Hello Bob,\nthe offer is attached in spirit.\nCiao, Ada\n", encoding="utf-8")
    sent = smartbcc.json("send", "deal", seeded.deal["id"], "--as", ADA, "--to", "Bob@Customer.example",
                         "--subject", "Your offer", "--body-file", str(body))
    assert sent["to"] == ["bob@customer.example"] and sent["created"] == []
    assert "queued as CAPTURED" in sent["smarthost_reply"]
    assert {(kind, rule) for kind, _, rule in sent["links"]} == {
        ("deal", "record-address"), ("person", "participant"), ("org", "participant-organization")}
    [message] = smarthost.messages
    assert (message["From"], message["To"], message["Subject"]) == (
        "Ada <ada@acme.example>", "Bob <bob@customer.example>", "Your offer")
    shown = smartbcc.json("messages", "show", sent["message_pk"])
    assert (shown["direction"], shown["subject"], shown["owner"], shown["message_id"]) == (
        "outgoing", "Your offer", ADA, sent["message_id"])
    assert shown["text_body"].startswith("Hello Bob,")
    deal = smartbcc.json("deal", "show", seeded.deal["id"])
    assert [(m["id"], m["rule"]) for m in deal["messages"]] == [(sent["message_pk"], "record-address")]
    used = smartbcc.json("record-email", "list", "person", seeded.person["id"])["addresses"]
    assert used[0]["email"] == "bob@customer.example" and used[0]["last_used_at"]
    text = smartbcc.ok("send", "deal", str(seeded.deal["id"]), "--as", ADA, "--subject", "Again",
                       "--body-file", str(body))      # no --to: the first recipient
    assert "Sent to bob@customer.example from deal" in text and "record-address" in text
    assert len(smarthost.messages) == 2


def test_most_recently_used_address_comes_first(seeded, smartbcc, smarthost, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("Hi\n")
    org = seeded.org["id"]
    smartbcc.ok("record-email", "add", "org", org, "info@customer.example")
    assert emails(smartbcc.json("recipients", "person", seeded.person["id"], "--as", ADA)) == [
        "bob@customer.example", "info@customer.example"]
    smartbcc.ok("send", "org", str(org), "--as", ADA, "--to", "info@customer.example", "--subject", "Hi",
                "--body-file", str(body))
    listing = smartbcc.json("recipients", "person", seeded.person["id"], "--as", ADA)
    assert emails(listing) == ["info@customer.example", "bob@customer.example"]
    assert listing["recipients"][0]["last_used_at"] and listing["recipients"][1]["last_used_at"] is None


def test_send_refuses_what_the_rules_refuse(seeded, smartbcc, smarthost, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("Hi\n")
    args = ("--as", ADA, "--subject", "Hi", "--body-file", str(body))
    error = smartbcc.fails("send", "deal", seeded.deal["id"], "--to", "stranger@else.example", *args)
    assert "stranger@else.example is not a recipient of deal" in error and "bob@customer.example" in error
    assert "--allow-any-address" in error
    smartbcc.ok("permission", "set", ADA, "deal", "--edit", "none")
    assert "edit rights" in smartbcc.fails("send", "deal", seeded.deal["id"], "--to", "bob@customer.example", *args)
    assert smarthost.messages == [] and count(smartbcc.settings, Message) == 0
    assert "not a valid address" in smartbcc.fails("send", "deal", seeded.deal["id"], "--to", "bob", *args)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9\n")
    assert "not UTF-8" in smartbcc.fails("send", "deal", seeded.deal["id"], "--as", ADA, "--subject", "x",
                                         "--body-file", str(bad))


@pytest.mark.parametrize("creates, model", [("lead", Lead), ("contact", Person)])
def test_any_address_creates_a_lead_or_a_contact(seeded, smartbcc, smarthost, tmp_path, creates, model):
    body = tmp_path / "body.txt"
    body.write_text("Could you quote 100 pieces?\n")
    smartbcc.ok("company", "set", "acme", "--allow-any-address", "--any-address-creates", creates,
                "--crm-mode", "classic" if creates == "lead" else "simple")     # simple mode has no leads
    settings = smartbcc.json("company", "set", "acme")
    assert (settings["allow_any_address"], settings["any_address_creates"]) == (True, creates)
    before = count(smartbcc.settings, model)
    sent = smartbcc.json("send", "deal", seeded.deal["id"], "--as", ADA, "--to", "supplier@parts.example",
                         "--subject", "Parts", "--body-file", str(body))
    kind = "lead" if creates == "lead" else "person"
    [(created_kind, created_id)] = sent["created"]
    assert created_kind == kind and count(smartbcc.settings, model) == before + 1
    assert (kind, created_id, "participant-lead" if kind == "lead" else "participant") in [
        tuple(link) for link in sent["links"]]
    assert ("deal", seeded.deal["id"], "record-address") in [tuple(link) for link in sent["links"]]
    # a second message to the same address creates nothing more
    again = smartbcc.json("send", "deal", seeded.deal["id"], "--as", ADA, "--to", "supplier@parts.example",
                          "--subject", "Parts 2", "--body-file", str(body))
    assert again["created"] == [] and count(smartbcc.settings, model) == before + 1
    assert "new to the CRM" not in smartbcc.ok(
        "send", "deal", str(seeded.deal["id"]), "--as", ADA, "--to", "supplier@parts.example", "--subject", "3",
        "--body-file", str(body))

    async def used(db):
        async with db.sessions() as session:
            return await session.scalar(select(RecordEmail.last_used_at).where(
                RecordEmail.email == "supplier@parts.example"))
    assert run_db(smartbcc.settings, used) is not None
    smartbcc.ok("company", "set", "acme", "--no-allow-any-address")
    assert "is not a recipient" in smartbcc.fails("send", "deal", seeded.deal["id"], "--as", ADA, "--to",
                                                  "supplier@parts.example", "--subject", "x", "--body-file", str(body))


def test_no_smarthost_is_a_clear_error_and_nothing_is_stored(seeded, smartbcc, tmp_path, monkeypatch):
    body = tmp_path / "body.txt"
    body.write_text("Hi\n")
    smartbcc.ok("company", "set", "acme", "--allow-any-address")
    args = ("send", "deal", seeded.deal["id"], "--as", ADA, "--to", "new@else.example", "--subject", "Hi",
            "--body-file", str(body))
    assert "SMARTBCC_SMARTHOST" in smartbcc.fails(*args)
    monkeypatch.setenv("SMARTBCC_SMARTHOST", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("SMARTBCC_SMARTHOST_STARTTLS", "false")
    assert "cannot reach smarthost" in smartbcc.fails(*args)
    assert count(smartbcc.settings, Message) == 0 and count(smartbcc.settings, Lead) == 0
    assert count(smartbcc.settings, RecordEmail) == 0


def test_body_from_standard_input(seeded, smartbcc, smarthost):
    result = smartbcc("send", "deal", seeded.deal["id"], "--as", ADA, "--subject", "stdin", "--body-file", "-",
                      "--json", input="Grüße aus Mailand\n".encode())
    assert result.exit_code == 0, result.stderr
    [message] = smarthost.messages
    assert message.get_content().replace("\r\n", "\n") == "Grüße aus Mailand\n"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"     # 7-bit: stored as sent
    stored = smartbcc.json("messages", "show", json.loads(result.stdout)["message_pk"])
    assert stored["text_body"].strip() == "Grüße aus Mailand"


def test_send_with_cc_bcc_attachments_and_a_formatted_body(seeded, smartbcc, smarthost, tmp_path):
    smartbcc.ok("record-email", "add", "org", seeded.org["id"], "info@customer.example")
    smartbcc.ok("record-email", "add", "org", seeded.org["id"], "books@customer.example")
    html = tmp_path / "quote.html"
    html.write_text('<p onclick="steal()">Dear Bob,<br>the <b>quote</b> is attached.</p><script>evil()</script>',
                    encoding="utf-8")
    pdf = tmp_path / "Quote 17.pdf"
    pdf.write_bytes(b"%PDF-1.4 quote\n")
    sent = smartbcc.json("send", "org", seeded.org["id"], "--as", ADA, "--to", "bob@customer.example",
                         "--cc", "info@customer.example", "--bcc", "books@customer.example", "--subject", "Quote 17",
                         "--html-file", str(html), "--attach", str(pdf))
    assert (sent["to"], sent["cc"], sent["bcc"]) == (
        ["bob@customer.example"], ["info@customer.example"], ["books@customer.example"])
    [(envelope_from, rcpts)] = smarthost.envelopes
    assert envelope_from == sent["envelope_sender"] and envelope_from.startswith("acme+bounce-")
    assert sorted(rcpts) == ["bob@customer.example", "books@customer.example", "info@customer.example"]
    [message] = smarthost.messages
    assert message["Bcc"] is None and message["Cc"] == "Customer Inc <info@customer.example>"
    formatted = message.get_body(("html",)).get_content()
    assert "<b>quote</b>" in formatted and "onclick" not in formatted and "evil" not in formatted
    assert "the quote is attached." in message.get_body(("plain",)).get_content()
    [attached] = list(message.iter_attachments())
    assert (attached.get_filename(), attached.get_content_type(), attached.get_content()) == (
        "Quote 17.pdf", "application/pdf", b"%PDF-1.4 quote\n")
    shown = smartbcc.json("messages", "show", sent["message_pk"])     # the sender's copy keeps its Bcc
    assert shown["envelope_from"] == envelope_from and "books@customer.example" in shown["envelope_rcpts"]
    assert [a["filename"] for a in shown["attachments"]] == ["Quote 17.pdf"] and shown["bounces"] == []
    error = smartbcc.fails("send", "org", seeded.org["id"], "--as", ADA, "--subject", "x", code=2)
    assert "--body-file FILE, --html-file FILE" in error
    error = smartbcc.fails("send", "org", seeded.org["id"], "--as", ADA, "--cc", "stranger@else.example",
                           "--subject", "x", "--html-file", str(html))
    assert "stranger@else.example is not a recipient of organization" in error and len(smarthost.messages) == 1
