"""The CRM's vocabulary, in one place: record kinds and their nouns, the statuses of a lead, deal or
project, why a message is linked to a record, and which way a message went.

Each is a StrEnum: a member is the very string stored in the database, written in an address or an
option and printed in JSON (``Kind.DEAL == "deal"``), so a plain string read from any of those finds it.
Kinds are the short names (``person``, ``org``...); nouns are what a person reads (contact, organization...).
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """A kind of CRM record."""

    DEAL = "deal"
    LEAD = "lead"
    PROJECT = "project"
    PERSON = "person"
    ORG = "org"
    INVOICE = "invoice"
    QUOTE = "quote"
    SMART = "smart"


# records with a Bcc address of their own (a per-record address names one: slug+<kind>-<id>-<token>@)
RECORD_KINDS = (Kind.DEAL, Kind.LEAD, Kind.PROJECT, Kind.PERSON, Kind.ORG)
# the records a contact may have several of open at once: filing picks one, or asks for review
DEALISH_KINDS = (Kind.DEAL, Kind.LEAD, Kind.PROJECT)
# documents: a title, a contact and a company, no Bcc address (mail is sent from them)
DOCUMENT_KINDS = (Kind.INVOICE, Kind.QUOTE, Kind.SMART)

# sending from a record (gateway.crm.recipients)
OWN_ADDRESS_KINDS = (Kind.LEAD, Kind.PERSON, Kind.ORG)          # records with addresses of their own
THROUGH_LINKS = (Kind.DEAL, Kind.PROJECT, *DOCUMENT_KINDS)     # mail goes to the linked contact/company
SENDING_KINDS = (*OWN_ADDRESS_KINDS, *THROUGH_LINKS)

# keyed by str: a kind read as a plain string (from an option, a row) finds its noun as well
NOUNS: dict[str, str] = {
    Kind.LEAD: "lead", Kind.PERSON: "contact", Kind.ORG: "organization", Kind.DEAL: "deal", Kind.PROJECT: "project",
    Kind.INVOICE: "invoice", Kind.QUOTE: "quote", Kind.SMART: "smart process"}
# the records with a Bcc address, in the order the CLI lists their groups
RECORD_NOUNS: dict[str, str] = {
    kind: NOUNS[kind] for kind in (Kind.PERSON, Kind.ORG, Kind.LEAD, Kind.DEAL, Kind.PROJECT)}


class Status(StrEnum):
    """Where a lead, deal or project (or a document) stands."""

    OPEN = "open"
    CONVERTED = "converted"      # a lead turned into a deal
    WON = "won"
    LOST = "lost"
    DONE = "done"
    CANCELLED = "cancelled"


# how a lead, a deal, a project can end
CLOSED_STATUSES: dict[str, tuple[Status, ...]] = {
    Kind.LEAD: (Status.CONVERTED, Status.LOST), Kind.DEAL: (Status.WON, Status.LOST),
    Kind.PROJECT: (Status.DONE, Status.CANCELLED)}


class LinkRule(StrEnum):
    """Why a message is linked to a record (the ``rule`` of a link): filing's rules
    (gateway.routing.links), a review resolved, an admin's link, a lead converted into a deal."""

    RECORD_ADDRESS = "record-address"                  # Bcc'd to the record's own address
    THREAD = "thread"                                  # a reply in a thread already linked to it
    PARTICIPANT = "participant"                        # a known contact took part
    NEW_PARTICIPANT = "participant-created"            # a contact made for an unknown participant
    ORGANIZATION = "participant-organization"          # the organization of a participant's contact
    ORG_ADDRESS = "organization-address"               # an organization's own address took part
    NEW_ORG = "organization-created"                   # an organization made for a new company domain
    CONVERTED_LEAD = "converted-lead-deal"             # a converted lead's address: the deal it became
    PARTICIPANT_LEAD = "participant-lead"              # classic mode: the lead of a known address
    NEW_LEAD = "lead-created"                          # classic mode: a lead made for an unknown address
    NEW_INQUIRY = "inquiry-deal-created"               # a deal made for a forwarded inquiry
    ONLY_OPEN_DEAL = "only-open-deal"                  # the participant's one open deal (lead, project)
    ONLY_OPEN_LEAD = "only-open-lead"
    ONLY_OPEN_PROJECT = "only-open-project"
    REVIEW = "review"                                  # a review item resolved to this record
    MANUAL = "manual"                                  # an admin linked it (messages link)
    CONVERTED = "converted-from-lead"                  # moved from a lead converted into this deal



class Direction(StrEnum):
    """Which way a stored message went, as the user sees it."""

    OUTGOING = "outgoing"    # written by the user (Bcc'd, or the user's own mail forwarded)
    INCOMING = "incoming"    # a customer's mail the user forwarded


class NotificationKind(StrEnum):
    """What a notification tells its user of (gateway.services.notifications)."""

    REVIEW = "review"        # a message of theirs waits for a record to be chosen
    BOUNCE = "bounce"        # mail they sent from the gateway came back undelivered
    MENTION = "mention"      # a colleague mentioned them in a discussion
    OVERDUE = "overdue"      # a task of theirs is past its due date
    TASK = "task"            # a colleague planned a task for them
    MAILBOX = "mailbox"      # a connected mailbox of theirs stopped syncing (its credentials stopped working)


# the values a company's and a user's settings take (gateway.services.preferences, .users, .activities
# check them; the CLI offers them as choices without importing those services)
CRM_MODES = ("simple", "classic")              # simple has no leads
CLASSIC_CREATES = ("lead", "contact")          # classic mode: what an unknown participant becomes
VISIBILITIES = ("private", "shared")           # a message seen by its owner only, or by colleagues
ROLES = ("member", "admin")                    # a user's role in their company
ACTIVITY_STATUSES = ("planned", "completed")
