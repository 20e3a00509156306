"""The four decisions plan_filing composes, each a pure function with its own table:
explicit_links, participant_records, inquiry_deal, only_open_records."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from gateway.mail.message import ForwardedOriginal, Mailbox
from gateway.routing.links import (
    INCOMING, OUTGOING, FilingContext, KnownLead, KnownPerson, NewContact, NewDeal, OpenRecord, PlannedLink,
    RecordRef, Review, direction, explicit_links, inquiry_deal, only_open_records, participant_records, plan_filing,
)
from tests.support.messages import parsed_message as message


CONTEXT = FilingContext(company_id=1, mail_domain="bcc.example.net", own_addresses=frozenset({"ada@acme.example"}))
BOB, CY, DEE = Mailbox("bob@customer.example", "Bob"), Mailbox("cy@other.example"), Mailbox("dee@newco.example", "Dee")
FORWARDED = ForwardedOriginal(sender=DEE, subject="Need 40 chairs", source="inline-gmail")


@pytest.mark.parametrize(("addressed", "thread", "expected"), [
    ((), (), ()),
    ((RecordRef("deal", 1),), (), (PlannedLink("deal", "record-address", 1),)),
    ((), (RecordRef("lead", 2), RecordRef("person", 3)),
     (PlannedLink("lead", "thread", 2), PlannedLink("person", "thread", 3))),
    # record addresses come first; a record both addressed and in the thread is kept by plan_filing once
    ((RecordRef("deal", 1),), (RecordRef("deal", 1),),
     (PlannedLink("deal", "record-address", 1), PlannedLink("deal", "thread", 1))),
])
def test_explicit_links(addressed, thread, expected):
    assert explicit_links(replace(CONTEXT, addressed=addressed, thread_records=thread)) == expected


KNOWN = replace(CONTEXT, persons=(KnownPerson(10, BOB.email, org_id=50),), leads=(KnownLead(20, CY.email),),
                org_by_domain=(("newco.example", 60),))


@pytest.mark.parametrize(("found", "changes", "auto", "links", "contacts", "leads", "skipped"), [
    # a known contact and its organization; an open lead by its address
    ((BOB, CY), {}, "", [("person", 10, "", "participant"), ("org", 50, "", "participant-organization"),
                         ("lead", 20, "", "participant-lead")], [], [], 0),
    # an unknown address: a new contact, with the organization of its domain
    ((DEE,), {}, "", [("person", 0, DEE.email, "participant-created"), ("org", 60, "", "participant-organization")],
     [NewContact(DEE.email, "Dee", 60)], [], 0),
    # classic mode making leads: a new lead instead
    ((DEE,), {"crm_mode": "classic"}, "", [("lead", 0, DEE.email, "lead-created")], [], [DEE.email], 0),
    # classic mode making contacts
    ((DEE,), {"crm_mode": "classic", "classic_creates": "contact"}, "",
     [("person", 0, DEE.email, "participant-created"), ("org", 60, "", "participant-organization")],
     [NewContact(DEE.email, "Dee", 60)], [], 0),
    # machine-made mail makes nothing, but known records are still linked
    ((BOB, DEE), {}, "auto-replied", [("person", 10, "", "participant"), ("org", 50, "", "participant-organization")],
     [], [], 1),
    # the bound of new records a message
    ((DEE, Mailbox("eve@y.example")), {"max_new_contacts": 1}, "",
     [("person", 0, DEE.email, "participant-created"), ("org", 60, "", "participant-organization")],
     [NewContact(DEE.email, "Dee", 60)], [], 1),
    ((DEE,), {"max_new_contacts": 0}, "", [], [], [], 1),
])
def test_participant_records(found, changes, auto, links, contacts, leads, skipped):
    records = participant_records(message(auto_generated=auto), replace(KNOWN, **changes), found)
    assert [(link.kind, link.record_id, link.new_email, link.rule) for link in records.links] == links
    assert list(records.new_contacts) == contacts
    assert [lead.email for lead in records.new_leads] == leads
    assert len(records.skipped) == skipped


INQUIRY = replace(CONTEXT, deal_for_new_inquiry=True)
DEE_NEW = (NewContact(DEE.email, "Dee", None),)


@pytest.mark.parametrize(("fields", "context", "way", "new", "expected"), [
    ({"forwarded": FORWARDED}, INQUIRY, INCOMING, DEE_NEW, NewDeal("Need 40 chairs", DEE.email)),
    # the original's subject, else the message's, else the address
    ({"forwarded": replace(FORWARDED, subject="")}, INQUIRY, INCOMING, DEE_NEW, NewDeal("Quote", DEE.email)),
    ({"forwarded": replace(FORWARDED, subject=""), "subject": ""}, INQUIRY, INCOMING, DEE_NEW,
     NewDeal(DEE.email, DEE.email)),
    # no deal: the setting off, classic mode, outgoing, a known sender, a reply in a thread, nothing forwarded
    ({"forwarded": FORWARDED}, CONTEXT, INCOMING, DEE_NEW, None),
    ({"forwarded": FORWARDED}, replace(INQUIRY, crm_mode="classic"), INCOMING, DEE_NEW, None),
    ({"forwarded": FORWARDED}, INQUIRY, OUTGOING, DEE_NEW, None),
    ({"forwarded": FORWARDED}, INQUIRY, INCOMING, (), None),
    ({"forwarded": FORWARDED}, replace(INQUIRY, thread_records=(RecordRef("person", 3),)), INCOMING, DEE_NEW, None),
    ({}, INQUIRY, INCOMING, DEE_NEW, None),
    ({"forwarded": replace(FORWARDED, sender=None)}, INQUIRY, INCOMING, DEE_NEW, None),
])
def test_inquiry_deal(fields, context, way, new, expected):
    assert inquiry_deal(message(**fields), context, way, new) == expected


OPEN = replace(CONTEXT, open_records=(
    OpenRecord("deal", 100, 10), OpenRecord("lead", 200, 11),
    OpenRecord("lead", 201, 11, last_activity=datetime(2024, 5, 1)), OpenRecord("project", 300, 11),
    OpenRecord("deal", 101, 12), OpenRecord("deal", 102, 12, in_thread=True),
))


@pytest.mark.parametrize(("context", "people", "explicit", "links", "reviews"), [
    (OPEN, (10,), False, [PlannedLink("deal", "only-open-deal", 100)], []),
    # by kind, then by contact; several open ones of a kind: a review, the thread's first, then the latest
    (OPEN, (11, 10, 12), False,
     [PlannedLink("deal", "only-open-deal", 100), PlannedLink("project", "only-open-project", 300)],
     [Review("deal", 12, (102, 101)), Review("lead", 11, (201, 200))]),
    (OPEN, (13,), False, [], []),
    (OPEN, (10,), True, [], []),
    (replace(OPEN, auto_link=False), (10, 11), False, [], []),
])
def test_only_open_records(context, people, explicit, links, reviews):
    assert only_open_records(context, people, explicit) == (tuple(links), tuple(reviews))


def test_plan_filing_links_a_record_once_by_its_first_rule_and_opens_no_review_beside_a_new_deal():
    context = replace(INQUIRY, addressed=(RecordRef("person", 10),), persons=(KnownPerson(10, BOB.email),),
                      open_records=(OpenRecord("deal", 100, 10),))
    plan = plan_filing(message(to=(BOB,)), context)
    assert plan.links == (PlannedLink("person", "record-address", 10), PlannedLink("deal", "only-open-deal", 100))
    plan = plan_filing(message(to=(BOB,), forwarded=FORWARDED), context)
    assert plan.new_deals == (NewDeal("Need 40 chairs", DEE.email),)
    assert [link.rule for link in plan.links] == ["record-address", "participant-created", "inquiry-deal-created"]
    assert plan.reviews == ()


@pytest.mark.parametrize("fields, sent_folder, expected", [
    ({}, False, "outgoing"),                                     # Ada's own mail, Bcc'd or synced
    ({"from_": (BOB,)}, False, "incoming"),                      # a customer's, in INBOX
    ({"from_": (BOB,)}, True, "outgoing"),                          # in the Sent folder: sent, whatever its From
    ({"from_": (Mailbox("ada.private@home.example", "Ada"),)}, True, "outgoing"),   # an address not on file
])
def test_direction_of_synced_mail_follows_the_sent_folder_then_the_from(fields, sent_folder, expected):
    assert direction(message(**fields), replace(CONTEXT, sent_folder=sent_folder)) == expected
