"""The CRM's record kinds and their nouns, in one place (gathered from where each was first written).

Kinds are the short names used in addresses, options and the database (``person``, ``org``...); nouns
are what a person reads (contact, organization...).
"""

from __future__ import annotations

# records with a Bcc address of their own (a per-record address names one: slug+<kind>-<id>-<token>@)
RECORD_KINDS = ("deal", "lead", "project", "person", "org")
# the records a contact may have several of open at once: filing picks one, or asks for review
DEALISH_KINDS = ("deal", "lead", "project")
# documents: a title, a contact and a company, no Bcc address (mail is sent from them)
DOCUMENT_KINDS = ("invoice", "quote", "smart")

# sending from a record (gateway.crm.recipients)
OWN_ADDRESS_KINDS = ("lead", "person", "org")                        # records with addresses of their own
THROUGH_LINKS = ("deal", "project", "invoice", "quote", "smart")     # mail goes to the linked contact/company
SENDING_KINDS = (*OWN_ADDRESS_KINDS, *THROUGH_LINKS)

NOUNS = {"lead": "lead", "person": "contact", "org": "organization", "deal": "deal", "project": "project",
         "invoice": "invoice", "quote": "quote", "smart": "smart process"}
# the records with a Bcc address, in the order the CLI lists their groups
RECORD_NOUNS = {"person": "contact", "org": "organization", "lead": "lead", "deal": "deal", "project": "project"}
# how a lead, a deal, a project can end
CLOSED_STATUSES = {"lead": ("converted", "lost"), "deal": ("won", "lost"), "project": ("done", "cancelled")}
