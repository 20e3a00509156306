"""Filing on the right records, end to end (issue #20, points 3 to 6): organizations' own addresses and
domains, colleagues at the company's own domains, a converted lead's deal, and what a message's filing
left out, shown by `smartbcc messages show`."""

from __future__ import annotations

from sqlalchemy import select, update

from gateway.store.models import Company, Lead, Message, Organization, Person, RecordEmail, utcnow
from tests.e2e.test_filing_rules import change, compose, deliver, fetch, links_of
from tests.support.clitest import Smartbcc


def test_organizations_own_addresses_known_domains_and_new_company_domains(gateway, settings):
    seed = gateway.seed
    change(settings, RecordEmail.__table__.insert().values(
               company_id=seed.company_id, kind="org", record_id=seed.org_id, email="sales@customer-group.example",
               created_at=utcnow()),
           update(Company).where(Company.id == seed.company_id).values(create_orgs=True))
    message_pk = deliver(gateway, compose(
        to="Customer Sales <sales@customer-group.example>, Carol <carol@customer.example>, "
           "Dave <dave@newco.example>, Erin <erin@gmail.com>", message_id="<orgs@acme.example>"))
    made = dict(fetch(settings, select(Person.email, Person.org_id).where(Person.company_id == seed.company_id)))
    # the organization's own address links it and makes no contact
    assert "sales@customer-group.example" not in made
    new_org = fetch(settings, select(Organization.id, Organization.name).where(Organization.domain == "newco.example"))
    assert [row.name for row in new_org] == ["newco.example"]
    assert made["carol@customer.example"] == seed.org_id        # a known organization's domain
    assert made["dave@newco.example"] == new_org[0].id          # an unknown company domain: a new organization
    assert made["erin@gmail.com"] is None                       # a free-mail provider's is nobody's company
    links = links_of(settings, message_pk)
    # the known organization is linked once, by the first rule that names it
    assert {("org", seed.org_id, "organization-address"), ("org", new_org[0].id, "organization-created")} <= links
    assert ("person", "participant-created") in {(kind, rule) for kind, _, rule in links}


def test_colleagues_and_addresses_over_the_bound_are_named_on_the_message(gateway, settings):
    seed = gateway.seed
    change(settings, update(Company).where(Company.id == seed.company_id).values(
        max_new_contacts=1, own_domains=["acme.example", "acme-labs.example"]))
    message_pk = deliver(gateway, compose(
        to="Zoe <zoe@acme.example>, Lab <lab@acme-labs.example>, One <one@first.example>, Two <two@second.example>",
        message_id="<bound@acme.example>"))
    made = {row.email for row in fetch(settings, select(Person.email))}
    assert "one@first.example" in made
    assert not made & {"zoe@acme.example", "lab@acme-labs.example", "two@second.example"}
    notes = fetch(settings, select(Message.filing_notes).where(Message.id == message_pk))[0][0].splitlines()
    assert notes == [
        "zoe@acme.example: a colleague at acme.example, one of the company's own domains, not a user",
        "lab@acme-labs.example: a colleague at acme-labs.example, one of the company's own domains, not a user",
        "two@second.example: over the bound of 1 new records a message"]
    shown = Smartbcc(gateway.settings).ok("messages", "show", str(message_pk))
    assert "no record made for:\n  zoe@acme.example: a colleague" in shown
    assert "  two@second.example: over the bound of 1 new records a message" in shown


def test_a_converted_leads_address_files_on_the_deal_it_became(gateway, settings):
    seed = gateway.seed
    change(settings, Lead.__table__.insert().values(
        company_id=seed.company_id, title="Lena's inquiry", email="lena@prospect.example", status="converted",
        converted_deal_id=seed.deal_id, token_version=1, created_at=utcnow()))
    [(lead_id,)] = fetch(settings, select(Lead.id).where(Lead.email == "lena@prospect.example"))
    change(settings, RecordEmail.__table__.insert().values(      # one of the lead's other addresses
        company_id=seed.company_id, kind="lead", record_id=lead_id, email="lena@home.example", created_at=utcnow()))
    message_pk = deliver(gateway, compose(to="Lena <lena@prospect.example>, Lena <lena@home.example>",
                                          message_id="<lena@acme.example>"))
    assert links_of(settings, message_pk) == {("deal", seed.deal_id, "converted-lead-deal")}
    assert fetch(settings, select(Person.id).where(Person.email.like("lena@%"))) == []
