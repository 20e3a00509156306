"""One MAIL ... DATA transaction at the SMTP edge, as one typed record.

:class:`GatewaySMTP` (gateway.handlers.protocol) opens it when a MAIL command comes with no transaction
under way, keeps it on the session the hooks receive (``session.transaction``), notes what the dialogue
shows (recipients, refusals, the data's end and size, the spool file of a large message) and hands it to
the journal (gateway.handlers.journal) when the transaction ends. The hooks (gateway.handlers.smtp) note
what they establish on the same record: the sender, the company, the addressed records, what DATA came to.
Nothing of ours is set on aiosmtpd's envelope.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.routing.links import RecordRef


@dataclass
class Transaction:
    """What one transaction has shown and established so far."""

    # the dialogue, as the protocol sees it (for the transaction log)
    sender: str = ""                       # the MAIL path as the client wrote it
    started: float = field(default_factory=time.monotonic)
    recipients: list[str] = field(default_factory=list)   # accepted at RCPT, as written
    refused: list[str] = field(default_factory=list)      # recipients refused at RCPT
    last_refusal: str = ""                 # the reply to the last of them
    data_ended: float | None = None        # when the final dot arrived
    size: int = 0                          # bytes of the message data
    spool: str | None = None               # the spool file holding a large message, for the parser
    # what the hooks established
    envelope_from: str = ""                # the MAIL address, normalized ("" for <>)
    company_id: int | None = None
    company_slug: str = ""
    addressed: list[RecordRef] = field(default_factory=list)
    slugs: set[str] = field(default_factory=set)   # the slugs the accepted recipients were written with
    verify_alias_id: int | None = None     # a reply that confirms this alternate address
    bounce_id: int | None = None           # a bounce of this sent message (outbound_mail row)
    antispoof: tuple[str, str] = ("", "")  # the company's own anti-spoofing (mode, policy), "" = default
    # what DATA came to (the hook's outcome, for the transaction log)
    message_id: str = ""
    kept: str = ""                         # filed, seen_before, quarantined, confirmation or bounce
    message_pk: int | None = None
    links_added: int | None = None
    contacts_created: int | None = None
    detail: str = ""                       # why it was refused or deferred
