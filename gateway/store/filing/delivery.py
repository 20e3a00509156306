"""The contract of filing: what the SMTP side hands over (:class:`Delivery`), what it gets back
(:class:`Stored`), the user a message is filed for (:class:`Owner`), and the Message-ID a message is
stored under (:func:`stored_message_id`), with :func:`clean_text`, what every column accepts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from gateway.auth.senders import Authorization
from gateway.auth.verdicts import Judgement
from gateway.mail.message import ParsedMessage
from gateway.routing.links import RecordRef


@dataclass(frozen=True)
class Delivery:
    """What the SMTP transaction established before the message is stored."""

    company_id: int
    raw: bytes
    parsed: ParsedMessage
    authorization: Authorization
    envelope_from: str
    envelope_rcpts: tuple[str, ...]
    addressed: tuple[RecordRef, ...]
    client_address: str = ""
    antispoof: Judgement | None = None     # the anti-spoofing verdict (gateway.auth); None: not judged
    upload: int | None = None              # ``raw`` already written as this upload's pieces (gateway.store.raw)
    # a message synced from a connected mailbox (gateway.sync) rather than Bcc'd:
    sent_folder: bool = False              # it came from the Sent folder: outgoing, whatever its From says
    create_records: bool = True            # False: links to known contacts only, no record is created
    link_records: bool = True              # False: stored for the mailbox, filed when the user saves it to CRM
    by_message_id: bool = False            # the same Message-ID is the same message, whatever its bytes (a
                                           # client's Sent copy keeps the Bcc header the Bcc'd copy lacks)


@dataclass(frozen=True)
class Stored:
    message_pk: int
    created: bool           # False: the same message was stored before; only links were added
    links_added: int
    contacts_created: int


@dataclass(frozen=True)
class Owner:
    """The user a message is filed for: what filing needs of them."""

    id: int
    default_visibility: str
    auto_link: bool


def clean_text(value: str | None, limit: int | None = None) -> str:
    """Text every backend accepts: no NUL, no lone surrogates, at most ``limit`` characters."""
    if not value:
        return ""
    value = value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return value[:limit] if limit else value


def stored_message_id(parsed: ParsedMessage, mail_domain: str) -> str:
    """The Message-ID the message is stored (and found again) under: one longer than 900 characters
    is replaced by a hash of itself at ``mail_domain``."""
    message_id = clean_text(parsed.message_id)
    if len(message_id) > 900:
        message_id = f"<{hashlib.sha256(message_id.encode()).hexdigest()}@{mail_domain}>"
    return message_id
