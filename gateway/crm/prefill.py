"""What "Save to CRM" proposes for a message: the customer it is about and a title, from plain data.

The customer is the original sender of a forwarded message; else the first participant who is not the
company's own (its users and their addresses, the gateway's mail domain): the author of a customer's
mail, the first recipient of the user's own. The title is the subject without its reply and forward
prefixes (Re:, Fwd:, and the localized AW:, WG:, SV:, TR:, RIF:...), however many are stacked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from gateway.mail.forwards import bare_subject

@dataclass(frozen=True)
class Party:
    email: str
    name: str = ""


@dataclass(frozen=True)
class Proposal:
    title: str
    email: str                  # "" when the message names no customer
    name: str
    organization: str           # a name for the customer's organization: their mail domain
    domain: str


def clean_subject(subject: str) -> str:
    """``Fwd: RE: Quote`` -> ``Quote``."""
    return bare_subject(subject)


def customer(forwarded_sender: Party | None, boxes: Iterable[Party], own: set[str], mail_domain: str) -> Party | None:
    """The customer a message is about: a forward's original sender, else the first outside participant."""
    def outside(party: Party) -> bool:
        email = party.email.strip().lower()
        return bool(email) and email not in own and email.rpartition("@")[2] != mail_domain.lower()

    if forwarded_sender is not None and outside(forwarded_sender):
        return forwarded_sender
    return next((party for party in boxes if outside(party)), None)


def propose(subject: str, party: Party | None) -> Proposal:
    title = clean_subject(subject)
    if party is None:
        return Proposal(title or "New inquiry", "", "", "", "")
    email = party.email.strip().lower()
    domain = email.rpartition("@")[2]
    return Proposal(title or f"Inquiry from {party.name or email}", email, party.name.strip(), domain, domain)
