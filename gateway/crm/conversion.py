"""How an active lead becomes a deal when a company switches from classic to simple CRM mode: pure.

SPEC "CRM mode switch", seed 004: every active lead becomes a deal in the chosen pipeline, with a
contact, a company or both (``leads_to``); the lead's messages move to the deal, and its planned
activities move too ("keep") or are completed ("complete").

What the lead already links (its contact, its organization) always comes along; ``leads_to`` says which
client the conversion makes from the lead's own fields: a contact from its address and name, an
organization from its company name (or its contact's organization). A lead that cannot give the chosen
kind of client gets the other kind, so that no deal is left without a client when the lead names one.
"""

from __future__ import annotations

from dataclasses import dataclass

LEADS_TO = ("contact", "company", "both")
ACTIVITIES = ("keep", "complete")


@dataclass(frozen=True)
class ConversionOptions:
    leads_to: str = "contact"
    pipeline: str = "default"
    activities: str = "keep"


@dataclass(frozen=True)
class LeadFacts:
    id: int
    title: str
    email: str | None = None
    name: str = ""
    company_name: str = ""
    person_id: int | None = None            # its linked contact
    org_id: int | None = None               # its linked organization
    person_org_id: int | None = None        # the linked contact's organization
    person_for_email: int | None = None     # an existing contact with the lead's address
    org_for_name: int | None = None         # an existing organization with the lead's company name


@dataclass(frozen=True)
class LeadPlan:
    lead_id: int
    title: str
    person_id: int | None = None            # an existing contact for the deal
    new_person: tuple[str, str] | None = None   # (email, name) of a contact to create
    org_id: int | None = None
    new_org: str = ""                       # name of an organization to create

    @property
    def has_client(self) -> bool:
        return bool(self.person_id or self.new_person or self.org_id or self.new_org)


def _contact(lead: LeadFacts) -> tuple[int | None, tuple[str, str] | None]:
    if lead.person_id is not None:
        return lead.person_id, None
    if lead.person_for_email is not None:
        return lead.person_for_email, None
    if lead.email:
        return None, (lead.email, lead.name)
    return None, None


def _company(lead: LeadFacts) -> tuple[int | None, str]:
    if lead.org_id is not None:
        return lead.org_id, ""
    if lead.company_name.strip():
        return (lead.org_for_name, "") if lead.org_for_name is not None else (None, lead.company_name.strip())
    return lead.person_org_id, ""


def plan_conversion(lead: LeadFacts, options: ConversionOptions) -> LeadPlan:
    wants_contact = options.leads_to in ("contact", "both")
    wants_company = options.leads_to in ("company", "both")
    person_id, new_person = _contact(lead) if wants_contact else (lead.person_id, None)
    org_id, new_org = _company(lead) if wants_company else (lead.org_id, "")
    plan = LeadPlan(lead.id, lead.title, person_id, new_person, org_id, new_org)
    if plan.has_client:
        return plan
    if not wants_contact:
        person_id, new_person = _contact(lead)
    if not wants_company:
        org_id, new_org = _company(lead)
    return LeadPlan(lead.id, lead.title, person_id, new_person, org_id, new_org)
