"""Who may receive mail sent from a CRM record (Bitrix24's rules): a pure decision over plain data.

SPEC "Sending from a record"; seeds 000 (it) and 001 (de):

- a lead: its own addresses, and those of its linked contact and company; when the lead's contact
  belongs to that company (or only the contact is linked), only the contact's;
- a contact: its own and its company's; a company: its own and its contacts';
- a deal, invoice, quote, smart process (and a project): through the linked contact and company, only the
  contact's when the contact belongs to the company; without a linked contact or company nothing can be sent;
- the most recently used address comes first;
- the sender needs edit rights on the record, and view rights on the linked contacts and companies:
  those it may not view are listed as hidden and cannot be mailed;
- no address to send to: a clear error. "Allow sending to any address" (a company setting) lifts the
  restriction, and an address the CRM does not know yet then becomes a lead or a contact.

Where the seeds are silent: when the contact belongs to the linked company but has no address at all,
the company's addresses are offered (the seeds refuse only when neither has one); a contact hidden from
the sender still takes its company's place, so hiding a contact never widens the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.crm.kinds import NOUNS, Kind, OWN_ADDRESS_KINDS, SENDING_KINDS, THROUGH_LINKS  # noqa: F401 (re-exported)

LEVELS = ("none", "own", "all")


def permitted(level: str, owner_user_id: int | None, user_id: int) -> bool:
    """A view or edit right: "all" records, only the user's "own", or "none"."""
    return level == "all" or (level == "own" and owner_user_id == user_id)


@dataclass(frozen=True)
class Party:
    """A record whose addresses may receive the mail: the record itself, a contact or a company."""

    kind: str                           # "lead", "person" or "org"
    id: int
    name: str = ""
    addresses: tuple[str, ...] = ()     # normalized, the record's own field first
    visible: bool = True                # the sender has view rights on it
    org_id: int | None = None           # a contact's company


@dataclass(frozen=True)
class SendingContext:
    """What the store knows about the record mail is sent from, and about the sender's rights."""

    kind: str
    id: int
    may_edit: bool
    own: Party | None = None            # a lead, contact or company: the record itself
    contact: Party | None = None        # the linked contact (lead, deal...)
    company: Party | None = None        # the linked company; a contact's own company
    members: tuple[Party, ...] = ()     # a company's contacts
    last_used: tuple[tuple[str, datetime], ...] = ()    # address -> when mail last went to it
    allow_any_address: bool = False


@dataclass(frozen=True)
class Recipient:
    email: str
    kind: str                   # the record the address belongs to
    record_id: int
    name: str
    via: str                    # "own", "contact", "company" or "company-contact"
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class Hidden:
    """A linked contact or company the sender may not view: shown, never mailed."""

    kind: str
    record_id: int
    via: str


@dataclass(frozen=True)
class RecipientList:
    kind: str
    record_id: int
    recipients: tuple[Recipient, ...]       # most recently used first
    hidden: tuple[Hidden, ...] = ()
    any_address: bool = False               # the company allows sending to any address
    problem: str = ""                       # why nothing can be sent; "" when something can


@dataclass(frozen=True)
class AddressCheck:
    allowed: bool
    recipient: Recipient | None = None      # the listed recipient the address is
    creates: str = ""                       # "lead" or "contact": new to the CRM, becomes one
    reason: str = ""                        # why not


def _linked(context: SendingContext) -> list[tuple[str, Party]]:
    """A record's contact and company; only the contact when it belongs to that company."""
    contact, company = context.contact, context.company
    out: list[tuple[str, Party]] = []
    if contact is not None:
        out.append(("contact", contact))
    if company is not None and not (contact is not None and contact.org_id == company.id and contact.addresses):
        out.append(("company", company))
    return out


def parties(context: SendingContext) -> list[tuple[str, Party]]:
    """Whose addresses may be mailed from this record, each with how it relates to the record."""
    own = [("own", context.own)] if context.own is not None else []
    if context.kind == Kind.PERSON:
        return own + ([("company", context.company)] if context.company is not None else [])
    if context.kind == Kind.ORG:
        return own + [("company-contact", member) for member in context.members]
    return own + _linked(context)


def _when(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else float("-inf")


def _what(context: SendingContext) -> str:
    return f"{NOUNS[context.kind]} {context.id}"


def _nothing_to_send(context: SendingContext) -> str:
    what = _what(context)
    if context.kind == Kind.LEAD:
        return f"{what} has no e-mail address, and no linked contact or company with one"
    if context.kind == Kind.PERSON:
        return f"{what} has no e-mail address, and neither has its company"
    if context.kind == Kind.ORG:
        return f"{what} has no e-mail address, and neither have its contacts"
    return f"no e-mail address on the contact or company linked to {what}"


def recipients(context: SendingContext) -> RecipientList:
    """The addresses the sender may choose from, most recently used first, and why none when none."""
    last_used = dict(context.last_used)
    found: list[tuple[int, Recipient]] = []
    hidden: list[Hidden] = []
    seen: set[str] = set()
    for via, party in parties(context):
        if not party.visible:
            hidden.append(Hidden(party.kind, party.id, via))
            continue
        for email in party.addresses:
            if email not in seen:
                seen.add(email)
                found.append((len(found), Recipient(email, party.kind, party.id, party.name, via,
                                                    last_used.get(email))))
    ordered = tuple(r for _, r in sorted(found, key=lambda item: (-_when(item[1].last_used_at), item[0])))
    problem = ""
    if not context.may_edit:
        problem = f"you need edit rights on {_what(context)} to send mail from it"
    elif context.allow_any_address or ordered:
        problem = ""
    elif context.kind in THROUGH_LINKS and context.contact is None and context.company is None:
        problem = f"{_what(context)} has no linked contact or company: link one to send mail from it"
    elif hidden:
        names = ", ".join(f"{NOUNS[h.kind]} {h.record_id}" for h in hidden)
        problem = f"the recipients of {_what(context)} are hidden from you: you need view rights on {names}"
    else:
        problem = _nothing_to_send(context)
    if not context.may_edit:
        ordered, hidden = (), []
    return RecipientList(context.kind, context.id, ordered, tuple(hidden), context.allow_any_address, problem)


def check_address(context: SendingContext, address: str, *, known_to_crm: bool,
                  any_address_creates: str = "lead") -> AddressCheck:
    """May mail from this record go to ``address`` (normalized)? ``known_to_crm``: some contact, lead or
    company of the company has it already (else, sending to any address creates one)."""
    listing = recipients(context)
    if not context.may_edit:
        return AddressCheck(False, reason=listing.problem)
    for recipient in listing.recipients:
        if recipient.email == address:
            return AddressCheck(True, recipient)
    for via, party in parties(context):
        if not party.visible and address in party.addresses:
            return AddressCheck(False, reason=f"{address} belongs to {NOUNS[party.kind]} {party.id}, which is "
                                              "hidden from you: you need view rights on it")
    if context.allow_any_address:
        return AddressCheck(True, creates="" if known_to_crm else any_address_creates)
    if listing.problem:
        return AddressCheck(False, reason=listing.problem)
    allowed = ", ".join(r.email for r in listing.recipients)
    return AddressCheck(False, reason=(
        f"{address} is not a recipient of {_what(context)}; it may receive mail from it: {allowed} "
        "(or the company allows sending to any address: `smartbcc company set SLUG --allow-any-address`)"))
