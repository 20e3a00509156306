"""Which records a message is filed on, and why: a pure decision over plain data.

The store gathers a :class:`FilingContext` (what the company already knows about the message's
participants), :func:`plan_filing` decides, and the store carries the :class:`FilingPlan` out in one
transaction. Every link carries the rule that made it, for the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from gateway.crm.kinds import DEALISH_KINDS, Direction, LinkRule
from gateway.mail.address import split_email
from gateway.mail.free_mail import is_free_mail
from gateway.mail.message import Mailbox, ParsedMessage


# Link rules, as stored on each link (the one vocabulary: gateway.crm.kinds.LinkRule).
RULE_RECORD_ADDRESS = LinkRule.RECORD_ADDRESS
RULE_THREAD = LinkRule.THREAD
RULE_PARTICIPANT = LinkRule.PARTICIPANT
RULE_NEW_PARTICIPANT = LinkRule.NEW_PARTICIPANT
RULE_ORGANIZATION = LinkRule.ORGANIZATION
RULE_ORG_ADDRESS = LinkRule.ORG_ADDRESS
RULE_NEW_ORG = LinkRule.NEW_ORG
RULE_CONVERTED_LEAD = LinkRule.CONVERTED_LEAD
RULE_PARTICIPANT_LEAD = LinkRule.PARTICIPANT_LEAD
RULE_NEW_LEAD = LinkRule.NEW_LEAD
RULE_NEW_INQUIRY = LinkRule.NEW_INQUIRY
RULE_REVIEW = LinkRule.REVIEW
RULE_ONLY_OPEN = {kind: LinkRule(f"only-open-{kind}") for kind in DEALISH_KINDS}

OUTGOING = Direction.OUTGOING   # written by the user (Bcc'd, or the user's own mail forwarded)
INCOMING = Direction.INCOMING   # a customer's mail the user forwarded


@dataclass(frozen=True)
class KnownPerson:
    id: int
    email: str
    org_id: int | None = None


@dataclass(frozen=True)
class OpenRecord:
    """An open deal, lead or project of a contact, with what ranks it as a review candidate."""

    kind: str
    id: int
    person_id: int
    in_thread: bool = False                 # linked on an earlier message of this thread
    last_activity: datetime | None = None   # newest message linked to it, else its creation


@dataclass(frozen=True)
class KnownLead:
    """An open lead that carries an address of its own (classic mode)."""

    id: int
    email: str


@dataclass(frozen=True)
class RecordRef:
    kind: str
    id: int


@dataclass(frozen=True)
class FilingContext:
    company_id: int
    mail_domain: str
    own_addresses: frozenset[str]                 # users' logins and all their alternates
    addressed: tuple[RecordRef, ...] = ()         # records named by a per-record RCPT address
    persons: tuple[KnownPerson, ...] = ()         # existing contacts among the participants
    open_records: tuple[OpenRecord, ...] = ()     # open deals/leads/projects of those contacts
    thread_records: tuple[RecordRef, ...] = ()    # records linked to stored messages of the thread
    org_by_domain: tuple[tuple[str, int], ...] = ()
    auto_link: bool = True                        # the owner's setting
    excluded_addresses: frozenset[str] = frozenset()
    excluded_domains: frozenset[str] = frozenset()
    max_new_contacts: int = 20
    crm_mode: str = "simple"                      # "simple" (no leads) or "classic"
    classic_creates: str = "lead"                 # classic: an unknown address becomes a lead or a contact
    deal_for_new_inquiry: bool = False            # simple: an unknown customer's inquiry opens a deal
    leads: tuple[KnownLead, ...] = ()             # open leads whose address is a participant's
    sent_folder: bool = False                     # synced from a mailbox's Sent folder: outgoing
    org_addresses: tuple[tuple[str, int], ...] = ()    # participants' addresses that are organizations' own
    converted: tuple[tuple[str, int], ...] = ()        # converted leads' addresses -> the deal each became
    own_domains: frozenset[str] = frozenset()          # colleagues' domains: no contact for their addresses
    create_orgs: bool = False                          # an unknown company domain makes an organization


@dataclass(frozen=True)
class NewContact:
    email: str
    name: str
    org_id: int | None
    org_domain: str = ""      # of the organization the plan makes for this contact's domain (NewOrg)


@dataclass(frozen=True)
class NewOrg:
    """An organization made for a company domain the CRM does not know (``create_orgs``)."""

    domain: str
    name: str


@dataclass(frozen=True)
class NewLead:
    email: str
    name: str
    title: str


@dataclass(frozen=True)
class NewDeal:
    """A deal opened for a new inquiry, for the contact with ``email`` (existing or created)."""

    title: str
    email: str


@dataclass(frozen=True)
class Review:
    """A contact with several open records of one kind: nothing linked, candidates best first."""

    kind: str
    person_id: int
    candidates: tuple[int, ...]


@dataclass(frozen=True)
class PlannedLink:
    """A link to an existing record (``record_id``) or to one the plan creates for ``new_email``."""

    kind: str
    rule: str
    record_id: int = 0
    new_email: str = ""


@dataclass(frozen=True)
class FilingPlan:
    participants: tuple[Mailbox, ...]
    new_contacts: tuple[NewContact, ...]
    links: tuple[PlannedLink, ...]
    skipped: tuple[str, ...] = field(default=())   # why some participants got no record
    direction: str = OUTGOING
    new_leads: tuple[NewLead, ...] = ()
    new_deals: tuple[NewDeal, ...] = ()
    reviews: tuple[Review, ...] = ()
    new_orgs: tuple[NewOrg, ...] = ()


def participants(message: ParsedMessage, context: FilingContext) -> tuple[Mailbox, ...]:
    """Everyone on the message who is a customer: From/To/Cc and the forwarded original's, in order."""
    boxes: list[Mailbox] = [*message.from_, *message.to, *message.cc]
    if message.forwarded is not None:
        original = message.forwarded
        boxes.extend(([original.sender] if original.sender else []) + [*original.to, *original.cc])
    seen: set[str] = set()
    out: list[Mailbox] = []
    mail_domain = context.mail_domain.lower()
    for box in boxes:
        _, domain = split_email(box.email)
        if (box.email in seen or box.email in context.own_addresses or domain == mail_domain
                or box.email in context.excluded_addresses or domain in context.excluded_domains):
            continue
        seen.add(box.email)
        out.append(box)
    return tuple(out)


def direction(message: ParsedMessage, context: FilingContext) -> str:
    """Incoming for a customer's mail (forwarded, or redirected with its From kept); else outgoing.
    Mail synced from a mailbox's Sent folder is outgoing whatever its From."""
    if context.sent_folder:
        return OUTGOING
    original = message.forwarded
    if original is not None and original.sender is not None:
        return OUTGOING if original.sender.email in context.own_addresses else INCOMING
    author = message.author
    if author is not None and author.email not in context.own_addresses:
        return INCOMING
    return OUTGOING


def _rank(candidates: list[OpenRecord]) -> tuple[int, ...]:
    oldest = datetime.min
    ordered = sorted(candidates, key=lambda r: (r.in_thread, _naive(r.last_activity) or oldest, r.id),
                     reverse=True)
    return tuple(r.id for r in ordered)


def _naive(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=None) if moment is not None and moment.tzinfo is not None else moment


def explicit_links(context: FilingContext) -> tuple[PlannedLink, ...]:
    """The records the message names itself: those of its per-record RCPT addresses, then those of the
    stored messages of its thread."""
    return (*(PlannedLink(ref.kind, RULE_RECORD_ADDRESS, ref.id) for ref in context.addressed),
            *(PlannedLink(ref.kind, RULE_THREAD, ref.id) for ref in context.thread_records))


@dataclass(frozen=True)
class ParticipantRecords:
    """The record of each participant: one that exists, one to make, or why none (``skipped``)."""

    links: tuple[PlannedLink, ...] = ()
    new_contacts: tuple[NewContact, ...] = ()
    new_leads: tuple[NewLead, ...] = ()
    skipped: tuple[str, ...] = ()
    new_orgs: tuple[NewOrg, ...] = ()


def _known_record(email: str, context: FilingContext) -> tuple[PlannedLink, ...]:
    """The existing records an address files on, first match wins: a contact (and its organization),
    an organization's own address, an open lead, the deal a converted lead became."""
    for person in context.persons:
        if person.email == email:
            org = (PlannedLink("org", RULE_ORGANIZATION, person.org_id),) if person.org_id is not None else ()
            return (PlannedLink("person", RULE_PARTICIPANT, person.id), *org)
    for address, org_id in context.org_addresses:
        if address == email:
            return (PlannedLink("org", RULE_ORG_ADDRESS, org_id),)
    for lead in context.leads:
        if lead.email == email:
            return (PlannedLink("lead", RULE_PARTICIPANT_LEAD, lead.id),)
    for address, deal_id in context.converted:
        if address == email:
            return (PlannedLink("deal", RULE_CONVERTED_LEAD, deal_id),)
    return ()


def participant_records(message: ParsedMessage, context: FilingContext,
                        found: tuple[Mailbox, ...]) -> ParticipantRecords:
    """Each participant's existing record (:func:`_known_record`); an unknown one becomes a new contact
    (with its domain's organization, known or made with ``create_orgs``), or in classic mode a new lead,
    unless the address is a colleague's (one of ``own_domains``), the mail is machine-made or the message
    has made ``max_new_contacts`` records already: each of those is named in ``skipped`` with why."""
    orgs = dict(context.org_by_domain)
    links: list[PlannedLink] = []
    new_contacts: list[NewContact] = []
    new_leads: list[NewLead] = []
    new_orgs: dict[str, NewOrg] = {}
    skipped: list[str] = []
    creates_leads = context.crm_mode == "classic" and context.classic_creates == "lead"
    for box in found:
        known = _known_record(box.email, context)
        if known:
            links.extend(known)
            continue
        domain = split_email(box.email)[1]
        if domain in context.own_domains:
            skipped.append(f"{box.email}: a colleague at {domain}, one of the company's own domains, not a user")
            continue
        if message.auto_generated:
            skipped.append(f"{box.email}: nothing made from machine-made mail ({message.auto_generated})")
            continue
        if len(new_contacts) + len(new_leads) >= context.max_new_contacts:
            skipped.append(f"{box.email}: over the bound of {context.max_new_contacts} new records a message")
            continue
        if creates_leads:
            new_leads.append(NewLead(box.email, box.name, box.name or box.email))
            links.append(PlannedLink("lead", RULE_NEW_LEAD, new_email=box.email))
            continue
        org_id = orgs.get(domain)
        new_org = ""
        if org_id is None and context.create_orgs and not is_free_mail(domain):
            new_orgs.setdefault(domain, NewOrg(domain, domain))
            new_org = domain
        new_contacts.append(NewContact(box.email, box.name, org_id, new_org))
        links.append(PlannedLink("person", RULE_NEW_PARTICIPANT, new_email=box.email))
        if org_id is not None:
            links.append(PlannedLink("org", RULE_ORGANIZATION, org_id))
        elif new_org:
            links.append(PlannedLink("org", RULE_NEW_ORG, new_email=new_org))
    return ParticipantRecords(tuple(links), tuple(new_contacts), tuple(new_leads), tuple(skipped),
                              tuple(new_orgs.values()))


def inquiry_deal(message: ParsedMessage, context: FilingContext, way: str,
                 new_contacts: tuple[NewContact, ...]) -> NewDeal | None:
    """A deal for a new customer's inquiry: in simple mode with ``deal_for_new_inquiry`` on, for a
    forwarded customer's mail that starts a thread, when its sender became a new contact."""
    original = message.forwarded
    inquirer = original.sender if original is not None else None
    if (original is None or inquirer is None or context.crm_mode != "simple" or not context.deal_for_new_inquiry
            or way != INCOMING or context.thread_records
            or not any(c.email == inquirer.email for c in new_contacts)):
        return None
    return NewDeal(original.subject or message.subject or inquirer.email, inquirer.email)


def only_open_records(context: FilingContext, person_ids: tuple[int, ...],
                      explicit: bool) -> tuple[tuple[PlannedLink, ...], tuple[Review, ...]]:
    """For each kind of deal, lead and project, each linked contact's only open record of that kind is
    linked; several open ones are a review item, candidates best first. Nothing when the owner turned
    auto-link off or the message already names a record of such a kind (``explicit``)."""
    links: list[PlannedLink] = []
    reviews: list[Review] = []
    if not context.auto_link or explicit:
        return (), ()
    for kind in DEALISH_KINDS:
        for person_id in person_ids:
            open_ones = [r for r in context.open_records if r.kind == kind and r.person_id == person_id]
            if len(open_ones) == 1:
                links.append(PlannedLink(kind, RULE_ONLY_OPEN[kind], open_ones[0].id))
            elif len(open_ones) > 1:
                reviews.append(Review(kind, person_id, _rank(open_ones)))
    return tuple(links), tuple(reviews)


def _first_of_each(links: Iterable[PlannedLink]) -> tuple[PlannedLink, ...]:
    """The links without repeats: a record (or a record to make) is linked once, by the first rule."""
    kept: dict[tuple[str, int, str], PlannedLink] = {}
    for link in links:
        kept.setdefault((link.kind, link.record_id, link.new_email), link)
    return tuple(kept.values())


def plan_filing(message: ParsedMessage, context: FilingContext) -> FilingPlan:
    """The message's plan, from four decisions in turn: the records it names itself
    (:func:`explicit_links`), its participants' records (:func:`participant_records`), a deal for a new
    inquiry (:func:`inquiry_deal`), then its contacts' only open records (:func:`only_open_records`)."""
    found = participants(message, context)
    way = direction(message, context)
    named = explicit_links(context)
    people = participant_records(message, context, found)
    deal = inquiry_deal(message, context, way, people.new_contacts)
    deal_links = (PlannedLink("deal", RULE_NEW_INQUIRY, new_email=deal.email),) if deal is not None else ()
    links = _first_of_each((*named, *people.links, *deal_links))
    reviews: tuple[Review, ...] = ()
    if deal is None:    # a new inquiry's deal is the record it is filed on
        linked_people = tuple(dict.fromkeys(link.record_id for link in links
                                            if link.kind == "person" and link.record_id))
        explicit = any(ref.kind in DEALISH_KINDS for ref in (*context.addressed, *context.thread_records))
        open_links, reviews = only_open_records(context, linked_people, explicit)
        links = _first_of_each((*links, *open_links))
    return FilingPlan(found, people.new_contacts, links, people.skipped, way,
                      people.new_leads, (deal,) if deal is not None else (), reviews, people.new_orgs)
