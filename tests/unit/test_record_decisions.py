"""Which record each participant files on (issue #20, points 3 to 6): pure decisions, no I/O."""

from dataclasses import replace

import pytest

from gateway.mail.free_mail import free_mail_domains, is_free_mail
from gateway.mail.message import Mailbox
from gateway.routing.links import FilingContext, KnownLead, KnownPerson, NewOrg, plan_filing
from tests.support.messages import parsed_message as message

CONTEXT = FilingContext(
    company_id=1, mail_domain="bcc.example.net", own_addresses=frozenset({"ada@acme.example"}),
    persons=(KnownPerson(10, "bob@customer.example", org_id=50),),
    org_by_domain=(("customer.example", 50),),
    org_addresses=(("sales@customer-group.example", 50),),
    converted=(("lena@prospect.example", 700),),
    own_domains=frozenset({"acme.example"}),
)


def to(*emails: str):
    return message(to=tuple(Mailbox(email) for email in emails))


def links(plan):
    return {(l.kind, l.record_id or l.new_email, l.rule) for l in plan.links}


def test_an_organizations_own_address_links_it_and_makes_no_contact():
    plan = plan_filing(to("sales@customer-group.example"), CONTEXT)
    assert links(plan) == {("org", 50, "organization-address")}
    assert plan.new_contacts == ()


def test_a_new_contact_at_a_known_organizations_domain_belongs_to_it():
    plan = plan_filing(to("carol@customer.example"), CONTEXT)
    assert [(c.email, c.org_id) for c in plan.new_contacts] == [("carol@customer.example", 50)]
    assert ("org", 50, "participant-organization") in links(plan)


@pytest.mark.parametrize("create_orgs, email, org", [
    (True, "dave@newco.example", "newco.example"),      # an unknown company domain makes an organization
    (True, "erin@gmail.com", ""),                       # a free-mail provider's does not
    (True, "fay@mail.yahoo.com", ""),                   # nor one of its subdomains
    (False, "dave@newco.example", ""),                  # nor anything, with the setting off
])
def test_unknown_company_domains_make_organizations_with_the_setting(create_orgs, email, org):
    plan = plan_filing(to(email), replace(CONTEXT, create_orgs=create_orgs))
    assert [c.org_domain for c in plan.new_contacts] == [org]
    assert plan.new_orgs == ((NewOrg(org, org),) if org else ())
    assert (("org", org, "organization-created") in links(plan)) == bool(org)


def test_two_contacts_at_one_new_domain_make_one_organization():
    plan = plan_filing(to("a@newco.example", "b@newco.example"), replace(CONTEXT, create_orgs=True))
    assert plan.new_orgs == (NewOrg("newco.example", "newco.example"),)


def test_colleagues_at_the_companys_own_domains_make_no_contact_and_say_why():
    ctx = replace(CONTEXT, own_domains=frozenset({"acme.example", "acme-labs.example"}))
    plan = plan_filing(to("zoe@acme.example", "lab@acme-labs.example", "ada@acme.example"), ctx)
    assert plan.new_contacts == () and plan.links == ()
    assert [note.split(":")[0] for note in plan.skipped] == ["zoe@acme.example", "lab@acme-labs.example"]


def test_a_converted_leads_address_files_on_its_deal_and_an_open_lead_comes_first():
    assert links(plan_filing(to("lena@prospect.example"), CONTEXT)) == {("deal", 700, "converted-lead-deal")}
    ctx = replace(CONTEXT, leads=(KnownLead(800, "lena@prospect.example"),))
    assert links(plan_filing(to("lena@prospect.example"), ctx)) == {("lead", 800, "participant-lead")}


def test_addresses_over_the_bound_are_named_with_the_reason():
    plan = plan_filing(to("a@x.example", "b@y.example", "c@z.example"), replace(CONTEXT, max_new_contacts=1))
    assert [c.email for c in plan.new_contacts] == ["a@x.example"]
    assert plan.skipped == ("b@y.example: over the bound of 1 new records a message",
                            "c@z.example: over the bound of 1 new records a message")


def test_the_free_mail_list_is_loaded_once_and_holds_the_big_providers():
    assert free_mail_domains() is free_mail_domains()
    assert {"gmail.com", "outlook.com", "yahoo.com", "gmx.de"} <= free_mail_domains()
    assert not is_free_mail("acme.example") and not is_free_mail("customer.example")
