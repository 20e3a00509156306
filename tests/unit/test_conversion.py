"""How an active lead becomes a deal on a switch from classic to simple CRM mode (seed 004): a table."""

from __future__ import annotations

import pytest

from gateway.crm.conversion import ConversionOptions, LeadFacts, LeadPlan, plan_conversion

EVE = dict(email="eve@prospect.example", name="Eve")

# (rule, lead, leads_to, plan: person_id, new_person, org_id, new_org)
TABLE = [
    ("contact: made from the lead's address and name",
     LeadFacts(1, "Inquiry", **EVE), "contact", (None, ("eve@prospect.example", "Eve"), None, "")),
    ("contact: an existing contact with the lead's address is reused",
     LeadFacts(1, "Inquiry", **EVE, person_for_email=4), "contact", (4, None, None, "")),
    ("contact: the lead's linked contact comes first",
     LeadFacts(1, "Inquiry", **EVE, person_id=3, person_for_email=4), "contact", (3, None, None, "")),
    ("contact: the lead's linked organization comes along",
     LeadFacts(1, "Inquiry", **EVE, org_id=8), "contact", (None, ("eve@prospect.example", "Eve"), 8, "")),
    ("company: made from the lead's company name",
     LeadFacts(1, "Inquiry", **EVE, company_name="Prospect Srl"), "company", (None, None, None, "Prospect Srl")),
    ("company: an existing organization of that name is reused",
     LeadFacts(1, "Inquiry", **EVE, company_name="Prospect Srl", org_for_name=9), "company", (None, None, 9, "")),
    ("company: the lead's linked organization comes first",
     LeadFacts(1, "Inquiry", company_name="Prospect Srl", org_id=8, org_for_name=9), "company", (None, None, 8, "")),
    ("company: without a company name, the linked contact's organization",
     LeadFacts(1, "Inquiry", person_id=3, person_org_id=6), "company", (3, None, 6, "")),
    ("company: a lead that names no company gets a contact instead",
     LeadFacts(1, "Inquiry", **EVE), "company", (None, ("eve@prospect.example", "Eve"), None, "")),
    ("contact: a lead without an address gets its company instead",
     LeadFacts(1, "Inquiry", company_name="Prospect Srl"), "contact", (None, None, None, "Prospect Srl")),
    ("both: contact and company",
     LeadFacts(1, "Inquiry", **EVE, company_name="Prospect Srl"), "both",
     (None, ("eve@prospect.example", "Eve"), None, "Prospect Srl")),
    ("both: what exists is reused",
     LeadFacts(1, "Inquiry", **EVE, company_name="Prospect Srl", person_for_email=4, org_for_name=9), "both",
     (4, None, 9, "")),
    ("nothing to make a client from: a deal without one",
     LeadFacts(1, "Inquiry"), "both", (None, None, None, "")),
]


@pytest.mark.parametrize("rule, lead, leads_to, expected", TABLE, ids=[row[0] for row in TABLE])
def test_conversion_plans(rule, lead, leads_to, expected):
    plan = plan_conversion(lead, ConversionOptions(leads_to=leads_to))
    assert plan == LeadPlan(lead.id, lead.title, *expected)


def test_the_deal_takes_the_lead_title():
    assert plan_conversion(LeadFacts(5, "Website inquiry", **EVE), ConversionOptions()).title == "Website inquiry"
