"""Which records a message is filed on, and by which rule (SPEC 'What happens', steps 2-4)."""

from dataclasses import replace

import pytest

from gateway.mail.message import ForwardedOriginal, Mailbox
from gateway.routing.links import FilingContext, KnownPerson, OpenRecord, RecordRef, participants, plan_filing
from tests.support.messages import parsed_message as message


CONTEXT = FilingContext(
    company_id=1, mail_domain="bcc.example.net",
    own_addresses=frozenset({"ada@acme.example", "ada@home.example", "bea@acme.example"}),
    persons=(KnownPerson(10, "bob@customer.example", org_id=50), KnownPerson(11, "cy@other.example")),
    open_records=(OpenRecord("deal", 100, 10), OpenRecord("lead", 200, 11), OpenRecord("lead", 201, 11),
                  OpenRecord("project", 300, 11)),
    org_by_domain=(("newco.example", 60),),
)


def links(plan):
    return {(l.kind, l.record_id or l.new_email, l.rule) for l in plan.links}


def test_participants_exclude_users_alternates_gateway_and_duplicates():
    msg = message(to=(Mailbox("bob@customer.example"), Mailbox("acme@bcc.example.net"),
                      Mailbox("ada@home.example"), Mailbox("bea@acme.example")),
                  cc=(Mailbox("bob@customer.example", "Bob again"), Mailbox("dee@x.example")))
    assert [b.email for b in participants(msg, CONTEXT)] == ["bob@customer.example", "dee@x.example"]


def test_excluded_addresses_and_domains_are_not_participants():
    ctx = replace(CONTEXT, excluded_addresses=frozenset({"bob@customer.example"}),
                  excluded_domains=frozenset({"x.example"}))
    msg = message(cc=(Mailbox("dee@x.example"), Mailbox("eve@y.example")))
    assert [b.email for b in participants(msg, ctx)] == ["eve@y.example"]


def test_forwarded_original_sender_is_a_participant():
    msg = message(to=(), forwarded=ForwardedOriginal(sender=Mailbox("bob@customer.example"),
                                                      to=(Mailbox("ada@acme.example"),), source="inline-gmail"))
    assert [b.email for b in participants(msg, CONTEXT)] == ["bob@customer.example"]


def test_known_contact_its_org_and_its_only_open_deal():
    plan = plan_filing(message(), CONTEXT)
    assert links(plan) == {("person", 10, "participant"), ("org", 50, "participant-organization"),
                           ("deal", 100, "only-open-deal")}
    assert plan.new_contacts == ()


def test_several_open_records_link_none_of_that_kind():
    plan = plan_filing(message(to=(Mailbox("cy@other.example"),)), CONTEXT)
    assert links(plan) == {("person", 11, "participant"), ("project", 300, "only-open-project")}


def test_auto_link_off_links_no_deal():
    plan = plan_filing(message(), replace(CONTEXT, auto_link=False))
    assert ("deal", 100, "only-open-deal") not in links(plan)


def test_record_address_links_that_record_and_suppresses_auto_link():
    plan = plan_filing(message(), replace(CONTEXT, addressed=(RecordRef("deal", 999),)))
    assert ("deal", 999, "record-address") in links(plan)
    assert ("deal", 100, "only-open-deal") not in links(plan)


def test_thread_records_are_joined():
    plan = plan_filing(message(), replace(CONTEXT, thread_records=(RecordRef("deal", 7), RecordRef("person", 10))))
    assert {("deal", 7, "thread"), ("person", 10, "thread")} <= links(plan)


def test_unknown_participants_become_contacts_with_org_by_domain():
    msg = message(to=(Mailbox("new@newco.example", "New Person"), Mailbox("solo@solo.example")))
    plan = plan_filing(msg, CONTEXT)
    assert [(c.email, c.name, c.org_id) for c in plan.new_contacts] == [
        ("new@newco.example", "New Person", 60), ("solo@solo.example", "", None)]
    assert {("person", "new@newco.example", "participant-created"),
            ("org", 60, "participant-organization")} <= links(plan)


def test_machine_made_mail_creates_no_contacts():
    plan = plan_filing(message(to=(Mailbox("new@newco.example"),), auto_generated="Auto-Submitted: auto-replied"),
                       CONTEXT)
    assert plan.new_contacts == () and plan.skipped


@pytest.mark.parametrize("bound", [0, 1, 3])
def test_bound_on_new_contacts(bound):
    msg = message(to=tuple(Mailbox(f"p{i}@many.example") for i in range(5)))
    plan = plan_filing(msg, replace(CONTEXT, max_new_contacts=bound))
    assert len(plan.new_contacts) == bound and len(plan.skipped) == 5 - bound
