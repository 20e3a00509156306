"""Who may receive mail sent from a record: every rule of the seeds' recipient articles as a table.

seeds/000 (Bitrix24, it) "Seleziona i destinatari delle e-mail nel CRM" and seeds/001 (de), SPEC
"Sending from a record". Each row names the rule it checks.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from gateway.crm.recipients import (
    THROUGH_LINKS, Hidden, Party, SendingContext, check_address, parties, permitted, recipients,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)

LEAD = Party("lead", 7, "Lia", ("lia@prospect.example",))
LEAD_TWO = Party("lead", 7, "Lia", ("lia@prospect.example", "lia.private@home.example"))
LEAD_NONE = Party("lead", 7, "Lia", ())
CONTACT = Party("person", 1, "Carla", ("carla@client.example",))
CONTACT_TWO = Party("person", 1, "Carla", ("carla@client.example", "carla@gmail.example"))
CONTACT_AT_ORG = replace(CONTACT, org_id=10)
CONTACT_AT_OTHER_ORG = replace(CONTACT, org_id=99)
CONTACT_NONE = Party("person", 1, "Carla", ())
ORG = Party("org", 10, "Client Srl", ("info@client.example",))
ORG_TWO = Party("org", 10, "Client Srl", ("info@client.example", "sales@client.example"))
ORG_NONE = Party("org", 10, "Client Srl", ())
MEMBER = Party("person", 2, "Marco", ("marco@client.example",), org_id=10)
MEMBER_TWO = Party("person", 3, "Mia", ("mia@client.example",), org_id=10)


def hide(party: Party) -> Party:
    return replace(party, visible=False)


def ctx(kind: str, *, own: Party | None = None, contact: Party | None = None, company: Party | None = None,
        members: tuple[Party, ...] = (), may_edit: bool = True, used: dict[str, datetime] | None = None,
        any_address: bool = False, record_id: int = 5) -> SendingContext:
    return SendingContext(kind, record_id, may_edit, own, contact, company, members,
                          tuple((used or {}).items()), any_address)


# (rule, context, recipients in order, hidden, problem: a substring, "" when mail can be sent)
TABLE = [
    # -- leads (000 "Seleziona i destinatari nei lead", 001 "Empfänger im Lead auswählen")
    ("lead: its own address is the recipient",
     ctx("lead", own=LEAD), ["lia@prospect.example"], [], ""),
    ("lead: several addresses, the sender chooses",
     ctx("lead", own=LEAD_TWO), ["lia@prospect.example", "lia.private@home.example"], [], ""),
    ("lead: no address, no contact or company linked: error",
     ctx("lead", own=LEAD_NONE), [], [], "lead 5 has no e-mail address, and no linked contact or company"),
    ("lead: contact and company linked: either address",
     ctx("lead", own=LEAD_NONE, contact=CONTACT, company=ORG), ["carla@client.example", "info@client.example"],
     [], ""),
    ("lead: own address and the linked contact's and company's",
     ctx("lead", own=LEAD, contact=CONTACT, company=ORG),
     ["lia@prospect.example", "carla@client.example", "info@client.example"], [], ""),
    ("lead: its contact belongs to the linked company: only the contact's",
     ctx("lead", own=LEAD_NONE, contact=CONTACT_AT_ORG, company=ORG), ["carla@client.example"], [], ""),
    ("lead: only a contact linked, which belongs to a company: only the contact's",
     ctx("lead", own=LEAD_NONE, contact=CONTACT_AT_OTHER_ORG), ["carla@client.example"], [], ""),
    ("lead: contact of another company than the linked one: both",
     ctx("lead", own=LEAD_NONE, contact=CONTACT_AT_OTHER_ORG, company=ORG),
     ["carla@client.example", "info@client.example"], [], ""),
    ("lead: only a company linked: the company's",
     ctx("lead", own=LEAD_NONE, company=ORG_TWO), ["info@client.example", "sales@client.example"], [], ""),
    ("lead: the company's contact has no address: the company's are offered",
     ctx("lead", own=LEAD_NONE, contact=replace(CONTACT_NONE, org_id=10), company=ORG),
     ["info@client.example"], [], ""),
    ("lead: linked contact and company without address: error",
     ctx("lead", own=LEAD_NONE, contact=CONTACT_NONE, company=ORG_NONE), [], [], "lead 5 has no e-mail address"),
    # -- contacts (000/001 "Contatti" / "Kontakt")
    ("contact: its own address is the recipient",
     ctx("person", own=CONTACT), ["carla@client.example"], [], ""),
    ("contact: several addresses, the sender chooses",
     ctx("person", own=CONTACT_TWO), ["carla@client.example", "carla@gmail.example"], [], ""),
    ("contact: it and its company have addresses: either",
     ctx("person", own=CONTACT_AT_ORG, company=ORG), ["carla@client.example", "info@client.example"], [], ""),
    ("contact: no address of its own: its company's",
     ctx("person", own=replace(CONTACT_NONE, org_id=10), company=ORG), ["info@client.example"], [], ""),
    ("contact: no address anywhere: error",
     ctx("person", own=CONTACT_NONE), [], [], "contact 5 has no e-mail address, and neither has its company"),
    # -- companies (000/001 "Azienda" / "Unternehmen")
    ("company: its own address is the recipient",
     ctx("org", own=ORG), ["info@client.example"], [], ""),
    ("company: several addresses, the sender chooses",
     ctx("org", own=ORG_TWO), ["info@client.example", "sales@client.example"], [], ""),
    ("company: it and its contacts have addresses: any of them",
     ctx("org", own=ORG, members=(MEMBER, MEMBER_TWO)),
     ["info@client.example", "marco@client.example", "mia@client.example"], [], ""),
    ("company: no address of its own: its contacts'",
     ctx("org", own=ORG_NONE, members=(MEMBER,)), ["marco@client.example"], [], ""),
    ("company: no address anywhere: error",
     ctx("org", own=ORG_NONE), [], [], "organization 5 has no e-mail address, and neither have its contacts"),
    # -- deals (000 "Seleziona i destinatari in affari...", 001 "Empfänger im Auftrag...")
    ("deal: contact and company linked: either",
     ctx("deal", contact=CONTACT, company=ORG), ["carla@client.example", "info@client.example"], [], ""),
    ("deal: linked to a contact that belongs to the linked company: only the contact's",
     ctx("deal", contact=CONTACT_AT_ORG, company=ORG), ["carla@client.example"], [], ""),
    ("deal: only a contact, which belongs to a company: only the contact's",
     ctx("deal", contact=CONTACT_AT_OTHER_ORG), ["carla@client.example"], [], ""),
    ("deal: only a company: the company's",
     ctx("deal", company=ORG), ["info@client.example"], [], ""),
    ("deal: a contact or a company must be linked",
     ctx("deal"), [], [], "deal 5 has no linked contact or company: link one"),
    ("deal: no linked contact or company with an address: error",
     ctx("deal", contact=CONTACT_NONE, company=ORG_NONE), [], [],
     "no e-mail address on the contact or company linked to deal 5"),
    # -- the most recently used address comes first (001 "Die Adresse, an die zuletzt...")
    ("most recently used first, never used last, ties in the record's order",
     ctx("lead", own=LEAD_TWO, contact=CONTACT, company=ORG,
         used={"info@client.example": T0, "lia.private@home.example": T0 + timedelta(days=1)}),
     ["lia.private@home.example", "info@client.example", "lia@prospect.example", "carla@client.example"], [], ""),
    ("most recently used first on a company's contacts",
     ctx("org", own=ORG, members=(MEMBER, MEMBER_TWO), used={"mia@client.example": T0}),
     ["mia@client.example", "info@client.example", "marco@client.example"], [], ""),
    # -- rights (000 "Chi può inviare e-mail dalla scheda CRM", 001 "Wer kann E-Mails ... senden?")
    ("no edit rights on the record: error",
     ctx("deal", contact=CONTACT, may_edit=False), [], [], "you need edit rights on deal 5"),
    ("no edit rights on a lead, even with addresses: error",
     ctx("lead", own=LEAD, may_edit=False), [], [], "you need edit rights on lead 5"),
    ("a contact the sender may not view is hidden; the company stays",
     ctx("deal", contact=hide(CONTACT), company=ORG), ["info@client.example"], [("person", 1, "contact")], ""),
    ("a company the sender may not view is hidden; the contact stays",
     ctx("deal", contact=CONTACT, company=hide(ORG)), ["carla@client.example"], [("org", 10, "company")], ""),
    ("everything linked hidden: error that names what to view",
     ctx("deal", contact=hide(CONTACT), company=hide(ORG)), [], [("person", 1, "contact"), ("org", 10, "company")],
     "hidden from you: you need view rights on contact 1, organization 10"),
    ("a contact's company hidden",
     ctx("person", own=CONTACT_AT_ORG, company=hide(ORG)), ["carla@client.example"], [("org", 10, "company")], ""),
    ("a company's hidden contact",
     ctx("org", own=ORG, members=(hide(MEMBER), MEMBER_TWO)), ["info@client.example", "mia@client.example"],
     [("person", 2, "company-contact")], ""),
    ("a hidden contact of the linked company still takes the company's place",
     ctx("deal", contact=hide(CONTACT_AT_ORG), company=ORG), [], [("person", 1, "contact")], "hidden from you"),
    # -- "allow sending to any address" lifts the restriction
    ("any address allowed: nothing linked is no error",
     ctx("deal", any_address=True), [], [], ""),
    ("any address allowed: a lead without address is no error",
     ctx("lead", own=LEAD_NONE, any_address=True), [], [], ""),
    ("any address allowed: edit rights are still needed",
     ctx("deal", contact=CONTACT, any_address=True, may_edit=False), [], [], "you need edit rights"),
]


@pytest.mark.parametrize("rule, context, expected, hidden, problem", TABLE, ids=[row[0] for row in TABLE])
def test_recipient_rules(rule, context, expected, hidden, problem):
    listing = recipients(context)
    assert [r.email for r in listing.recipients] == expected
    assert listing.hidden == tuple(Hidden(*h) for h in hidden)
    if problem:
        assert problem in listing.problem
    else:
        assert listing.problem == ""
    assert listing.any_address is context.allow_any_address


@pytest.mark.parametrize("kind", THROUGH_LINKS)
def test_invoices_quotes_smart_processes_follow_the_deal_rules(kind):
    """000: "affari, fatture, preventivi e smart process"; 001: "Auftrag, Rechnung, Angebot, Smartprozess"."""
    assert [r.email for r in recipients(ctx(kind, contact=CONTACT, company=ORG)).recipients] == [
        "carla@client.example", "info@client.example"]
    assert [r.email for r in recipients(ctx(kind, contact=CONTACT_AT_ORG, company=ORG)).recipients] == [
        "carla@client.example"]
    assert "no linked contact or company" in recipients(ctx(kind)).problem
    assert "no e-mail address" in recipients(ctx(kind, contact=CONTACT_NONE)).problem


def test_recipients_say_whose_address_it_is_and_when_it_was_used():
    listing = recipients(ctx("lead", own=LEAD, contact=CONTACT, company=ORG, used={"carla@client.example": T0}))
    first, *rest = listing.recipients
    assert (first.email, first.kind, first.record_id, first.name, first.via, first.last_used_at) == (
        "carla@client.example", "person", 1, "Carla", "contact", T0)
    assert [(r.kind, r.via, r.last_used_at) for r in rest] == [("lead", "own", None), ("org", "company", None)]


def test_an_address_on_two_records_is_listed_once():
    shared = replace(MEMBER, addresses=("info@client.example",))
    listing = recipients(ctx("org", own=ORG, members=(shared,)))
    assert [(r.email, r.kind) for r in listing.recipients] == [("info@client.example", "org")]


# (rule, context, address, known to the CRM, company creates, allowed, creates, reason substring)
CHECKS = [
    ("a listed address may be mailed",
     ctx("deal", contact=CONTACT, company=ORG), "info@client.example", True, "lead", True, "", ""),
    ("restriction on: an address not listed is refused, with the allowed ones",
     ctx("deal", contact=CONTACT), "someone@else.example", False, "lead", False, "",
     "someone@else.example is not a recipient of deal 5; it may receive mail from it: carla@client.example"),
    ("restriction on: another contact's address is refused too",
     ctx("deal", contact=CONTACT), "marco@client.example", True, "lead", False, "", "is not a recipient"),
    ("the company's address when its contact takes its place: refused",
     ctx("deal", contact=CONTACT_AT_ORG, company=ORG), "info@client.example", True, "lead", False, "",
     "is not a recipient"),
    ("any address: a new one becomes a lead",
     ctx("deal", contact=CONTACT, any_address=True), "new@supplier.example", False, "lead", True, "lead", ""),
    ("any address: a new one becomes a contact, as the company sets",
     ctx("deal", contact=CONTACT, any_address=True), "new@supplier.example", False, "contact", True, "contact", ""),
    ("any address: an address the CRM knows creates nothing",
     ctx("deal", contact=CONTACT, any_address=True), "marco@client.example", True, "lead", True, "", ""),
    ("any address: from a record with nothing linked",
     ctx("deal", any_address=True), "new@supplier.example", False, "lead", True, "lead", ""),
    ("a hidden contact cannot be mailed",
     ctx("deal", contact=hide(CONTACT), company=ORG), "carla@client.example", True, "lead", False, "",
     "belongs to contact 1, which is hidden from you"),
    ("a hidden contact cannot be mailed even when any address is allowed",
     ctx("deal", contact=hide(CONTACT), any_address=True), "carla@client.example", True, "lead", False, "",
     "hidden from you"),
    ("no edit rights: nothing may be mailed",
     ctx("deal", contact=CONTACT, may_edit=False), "carla@client.example", True, "lead", False, "",
     "you need edit rights on deal 5"),
    ("no edit rights: not even any address",
     ctx("deal", any_address=True, may_edit=False), "new@supplier.example", False, "lead", False, "",
     "edit rights"),
    ("nothing linked and no any-address: the record's problem",
     ctx("invoice"), "carla@client.example", True, "lead", False, "", "invoice 5 has no linked contact or company"),
]


@pytest.mark.parametrize("rule, context, address, known, creates_kind, allowed, creates, reason", CHECKS,
                         ids=[row[0] for row in CHECKS])
def test_address_checks(rule, context, address, known, creates_kind, allowed, creates, reason):
    check = check_address(context, address, known_to_crm=known, any_address_creates=creates_kind)
    assert (check.allowed, check.creates) == (allowed, creates)
    assert reason in check.reason
    if allowed and not creates and address in [r.email for r in recipients(context).recipients]:
        assert check.recipient is not None and check.recipient.email == address


@pytest.mark.parametrize("level, owner, user, expected", [
    ("all", None, 1, True), ("all", 2, 1, True),
    ("own", 1, 1, True), ("own", 2, 1, False), ("own", None, 1, False),
    ("none", 1, 1, False), ("none", None, 1, False),
])
def test_rights_levels(level, owner, user, expected):
    assert permitted(level, owner, user) is expected


def test_parties_of_each_kind():
    assert [(via, p.id) for via, p in parties(ctx("person", own=CONTACT_AT_ORG, company=ORG))] == [
        ("own", 1), ("company", 10)]
    assert [(via, p.id) for via, p in parties(ctx("org", own=ORG, members=(MEMBER,)))] == [
        ("own", 10), ("company-contact", 2)]
    assert [(via, p.id) for via, p in parties(ctx("quote", contact=CONTACT, company=ORG))] == [
        ("contact", 1), ("company", 10)]
