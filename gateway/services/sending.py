"""Sending mail from a CRM record: who may receive it, and the send itself.

The rules are the pure decision of :mod:`gateway.crm.recipients`; this module gathers what it needs (the
record, its contact and company, their addresses, the sender's rights), then sends through the
smarthost and stores the message with :func:`gateway.store.filing.store_message`, so that it is linked
like a Bcc'd message (the record by its address, the recipient's contact and company as participants).
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass, replace
from email import policy as email_policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.headerregistry import Address
from email.utils import format_datetime, make_msgid
from html import unescape
from typing import Any

import nh3
from aiosmtplib.email import flatten_message
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.mail.address import validate_mailbox
from gateway.config import Settings
from gateway.mail.parsing import parse_message
from gateway.services.smarthost import send
from gateway.crm.kinds import Kind, Status
from gateway.crm.recipients import (
    NOUNS, SENDING_KINDS, AddressCheck, Party, RecipientList, SendingContext, check_address, permitted,
    recipients,
)
from gateway.routing.links import RecordRef
from gateway.auth.senders import Authorization
from gateway.services import webhooks
from gateway.services.bounces import bounce_address, new_token
from gateway.services.errors import NotFound, ServiceError, record_by_id, user_by_email
from gateway.services.permissions import rights_of
from gateway.services.record_emails import extra_addresses, last_used, mark_used, primary_address
from gateway.store.database import Database
from gateway.store.filing import Delivery, store_message
from gateway.store.models import (
    Company, Lead, Link, Organization, OutboundMail, Person, RecordEmail, User, utcnow,
)


@dataclass(frozen=True)
class SentMessage:
    message_pk: int                 # the stored message (`smartbcc messages show ID`)
    message_id: str
    kind: str
    record_id: int
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    envelope_sender: str            # its own (gateway.services.bounces): its bounces come back there
    smarthost_reply: str
    created: tuple[tuple[str, int], ...]    # ("lead", id) or ("person", id): an address was new to the CRM
    links: tuple[tuple[str, int, str], ...]     # (kind, record id, rule)


def _kind(kind: str) -> str:
    if kind not in SENDING_KINDS:
        raise ServiceError(f"mail is sent from a {', '.join(SENDING_KINDS)}; not from {kind!r}")
    return kind


async def _sender(session: AsyncSession, email: str) -> User:
    user = await user_by_email(session, email)
    if not user.active:
        raise ServiceError(f"{user.email} is deactivated and cannot send mail")
    return user


@dataclass(frozen=True)
class _Rows:
    """The record mail is sent from and the rows whose addresses may receive it."""

    own: Any = None                     # a lead, contact or organization itself
    contact: Person | None = None       # the linked contact
    company: Organization | None = None     # the linked organization (a contact's own)
    members: tuple[Person, ...] = ()    # an organization's contacts


async def _rows(session: AsyncSession, kind: str, record: Any) -> _Rows:
    if kind == Kind.ORG:
        members = await session.scalars(select(Person).where(
            Person.company_id == record.company_id, Person.org_id == record.id).order_by(Person.id))
        return _Rows(own=record, members=tuple(members))
    company = await session.get(Organization, record.org_id) if record.org_id else None
    if kind == Kind.PERSON:
        return _Rows(own=record, company=company)
    contact = await session.get(Person, record.person_id) if record.person_id else None
    return _Rows(own=record if kind == Kind.LEAD else None, contact=contact, company=company)


async def sending_context(session: AsyncSession, user: User, kind: str, record_id: int) -> SendingContext:
    """What :func:`gateway.crm.recipients.recipients` needs to know about the record and the sender."""
    record = await record_by_id(session, _kind(kind), record_id, user.company_id)
    company = await session.get_one(Company, user.company_id)
    rights = await rights_of(session, user.id)
    rows = await _rows(session, kind, record)
    kinds = [(kind, rows.own), (Kind.PERSON, rows.contact), (Kind.ORG, rows.company), *((Kind.PERSON, m) for m in rows.members)]
    extras = await extra_addresses(session, user.company_id, [(k, row.id) for k, row in kinds if row is not None])

    def party(party_kind: str, row: Any) -> Party | None:
        if row is None:
            return None
        primary = primary_address(party_kind, row)
        addresses = tuple(dict.fromkeys([*([primary] if primary else []), *extras.get((party_kind, row.id), [])]))
        visible = permitted(rights[party_kind].view, row.owner_user_id, user.id)
        return Party(party_kind, row.id, row.name, addresses, visible, row.org_id if party_kind == Kind.PERSON else None)

    own, contact, org = party(kind, rows.own), party(Kind.PERSON, rows.contact), party(Kind.ORG, rows.company)
    members = tuple(p for p in (party(Kind.PERSON, m) for m in rows.members) if p is not None)
    used = await last_used(session, user.company_id,
                           [e for p in (own, contact, org, *members) if p is not None for e in p.addresses])
    return SendingContext(kind, record.id, permitted(rights[kind].edit, record.owner_user_id, user.id),
                          own, contact, org, members, tuple(used.items()), company.allow_any_address)


async def list_recipients(db: Database, kind: str, record_id: int, user_email: str) -> RecipientList:
    """Who ``user_email`` may mail from this record, most recently used first; a clear error when nobody."""
    async with db.sessions() as session:
        user = await _sender(session, user_email)
        listing = recipients(await sending_context(session, user, kind, record_id))
    if listing.problem:
        raise ServiceError(listing.problem)
    return listing


async def _holder(session: AsyncSession, company_id: int, email: str) -> tuple[str, int] | None:
    """The contact, lead or record that has this address in the CRM, if any."""
    person = await session.scalar(select(Person.id).where(Person.company_id == company_id, Person.email == email))
    if person is not None:
        return Kind.PERSON, person
    lead = await session.scalar(select(Lead.id).where(Lead.company_id == company_id, Lead.email == email)
                                .order_by(Lead.status != Status.OPEN, Lead.id.desc()))
    if lead is not None:
        return Kind.LEAD, lead
    row = (await session.execute(select(RecordEmail.kind, RecordEmail.record_id).where(
        RecordEmail.company_id == company_id, RecordEmail.email == email).order_by(RecordEmail.id))).first()
    return (row.kind, row.record_id) if row is not None else None


@dataclass(frozen=True)
class Upload:
    """A file to attach."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Draft:
    """What the user wrote: recipients, subject, a text and/or a formatted body, attachments.

    ``html`` must already be sanitized (gateway.web.sanitize, which the web form and the CLI apply): this
    layer cannot reach the web's allow-list, and what is sent is what is stored."""

    to: tuple[str, ...] = ()
    subject: str = ""
    text: str = ""
    html: str = ""
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    attachments: tuple[Upload, ...] = ()


_BLOCK_END = re.compile(r"<\s*(br\s*/?|/p|/div|/li|/tr|/h[1-6]|/blockquote|/pre)\s*>", re.I)


def text_of_html(html: str) -> str:
    """A plain-text alternative for a formatted body: the text, one line per block."""
    text = nh3.clean(_BLOCK_END.sub("\n", html), tags=set(), clean_content_tags={"style", "script"})
    lines = [" ".join(line.split()) for line in unescape(text).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _seven_bit(text: str) -> str:
    return "7bit" if text.isascii() and all(len(line) <= 998 for line in text.splitlines()) else "quoted-printable"


def compose(user: User, to: str | list[tuple[str, str]], to_name: str, subject: str, body: str, mail_domain: str,
            *, cc: list[tuple[str, str]] | None = None, bcc: list[tuple[str, str]] | None = None, html: str = "",
            attachments: tuple[Upload, ...] = ()) -> EmailMessage:
    """From the user's login address (with their name) to the recipients ((address, name) pairs, or one
    address and its name); a text body, a formatted one beside it, attachments."""
    message = EmailMessage()
    message["From"] = Address(user.name, addr_spec=user.email)
    boxes = [(to, to_name)] if isinstance(to, str) else to
    for header, pairs in (("To", boxes), ("Cc", cc or []), ("Bcc", bcc or [])):
        if pairs:
            message[header] = [Address(name, addr_spec=email) for email, name in pairs]
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=mail_domain)
    # 7-bit bodies (quoted-printable or base64 if need be): the bytes stored are the bytes the smarthost
    # gets, whether or not it offers 8BITMIME
    body = body if body or not html else text_of_html(html)
    message.set_content(body, cte=_seven_bit(body))
    if html:
        message.add_alternative(html, subtype="html", cte=_seven_bit(html))
    for upload in attachments:
        maintype, _, subtype = upload.content_type.partition("/")
        if not (maintype and subtype) or not _TYPE.match(upload.content_type.lower()):
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(upload.data, maintype=maintype.lower(), subtype=subtype.lower(),
                               filename=upload.filename or "attachment")
    for part in message.walk():         # fixed boundaries: the stored copy and the sent one agree
        if part.is_multipart() and part.get_boundary() is None:
            part.set_boundary(f"=_smartbcc_{secrets.token_hex(12)}")
    return message


_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*\Z")


def wire_bytes(message: EmailMessage, envelope_sender: str, to: str | list[str]) -> bytes:
    """The message as aiosmtplib puts it on the wire (SMTPUTF8 only for a non-ASCII address); no Bcc."""
    rcpts = [to] if isinstance(to, str) else to
    return flatten_message(message, utf8=not all(a.isascii() for a in [envelope_sender, *rcpts]), cte_type="7bit")


def kept_bytes(message: EmailMessage, envelope_sender: str, rcpts: list[str]) -> bytes:
    """The sender's own copy, as stored: the bytes sent, with the Bcc header they were sent to."""
    utf8 = not all(a.isascii() for a in [envelope_sender, *rcpts])
    out = io.BytesIO()
    BytesGenerator(out, policy=(email_policy.SMTPUTF8 if utf8 else email_policy.SMTP).clone(cte_type="7bit")
                   ).flatten(message)
    return out.getvalue()


@dataclass(frozen=True)
class _Checked:
    user: User
    company: Company
    fields: dict[str, list[tuple[str, AddressCheck, tuple[str, int] | None]]]   # To, Cc, Bcc


async def _check(db: Database, user_email: str, kind: str, record_id: int, draft: Draft) -> _Checked:
    async with db.sessions() as session:
        user = await _sender(session, user_email)
        company = await session.get_one(Company, user.company_id)
        context = await sending_context(session, user, kind, record_id)
        to = draft.to
        if not to:
            listing = recipients(context)
            if listing.problem or not listing.recipients:
                raise ServiceError(listing.problem or "say who gets the message: --to ADDRESS")
            to = (listing.recipients[0].email,)
        fields: dict[str, list[tuple[str, AddressCheck, tuple[str, int] | None]]] = {}
        seen: set[str] = set()
        for name, addresses in (("To", to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
            fields[name] = []
            for address in addresses:
                if address in seen:
                    continue
                seen.add(address)
                holder = await _holder(session, company.id, address)
                verdict = check_address(context, address, known_to_crm=holder is not None,
                                        any_address_creates=("contact" if company.crm_mode == "simple"  # no leads
                                                             else company.any_address_creates))
                if not verdict.allowed:
                    raise ServiceError(verdict.reason)
                fields[name].append((address, verdict, holder))
    return _Checked(user, company, fields)


def _addresses(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Addresses typed by the user, normalized; a field may hold several, separated by commas."""
    out = []
    for value in values:
        for piece in re.split(r"[,;\s]+", value):
            if piece.strip():
                out.append(validate_mailbox(piece.strip()))
    return tuple(out)


async def send_from_record(db: Database, kind: str, record_id: int, user_email: str, to: str | None | Draft,
                           subject: str = "", body: str = "", settings: Settings | None = None) -> SentMessage:
    """Send from a record through the smarthost, then store and link it like a Bcc'd message.

    ``to`` is one address (None: the first recipient), or a whole :class:`Draft`. The message leaves with
    an envelope sender of its own (gateway.services.bounces), so that its bounces find it. Nothing is
    stored or created when the smarthost does not take the message.
    """
    settings = settings or db.settings
    draft = to if isinstance(to, Draft) else Draft(to=(to,) if to else (), subject=subject, text=body)
    draft = replace(draft, to=_addresses(draft.to), cc=_addresses(draft.cc), bcc=_addresses(draft.bcc))
    if not draft.text.strip() and not draft.html.strip():
        raise ServiceError("write something: the message has no body")
    checked = await _check(db, user_email, kind, record_id, draft)
    user, company = checked.user, checked.company
    names = {field: [(a, v.recipient.name if v.recipient else "") for a, v, _ in rows]
             for field, rows in checked.fields.items()}
    rcpts = [a for rows in checked.fields.values() for a, _, _ in rows]
    message = compose(user, names["To"], "", draft.subject, draft.text, db.mail_domain, cc=names["Cc"],
                      bcc=names["Bcc"], html=draft.html, attachments=draft.attachments)
    token = new_token()
    envelope_sender = bounce_address(company.slug, token, db.mail_domain)
    raw = kept_bytes(message, envelope_sender, rcpts)
    if len(raw) > settings.max_message_size:
        raise ServiceError(f"the message is {_mib(len(raw))} with its attachments; the limit is "
                           f"{_mib(settings.max_message_size)}: leave out an attachment, or send a link to it")
    async with db.writing() as session, session.begin():    # before it leaves: no bounce can come first
        outbound = OutboundMail(company_id=company.id, user_id=user.id, token=token, record_kind=kind,
                                record_id=record_id)
        session.add(outbound)
        await session.flush()
        outbound_id = outbound.id
    try:
        reply = await send(settings, message, sender=envelope_sender)
    except BaseException:
        async with db.writing() as session, session.begin():
            await session.execute(delete(OutboundMail).where(OutboundMail.id == outbound_id))
        raise
    created: list[tuple[str, int]] = []
    async with db.writing() as session, session.begin():
        for address, verdict, holder in (row for rows in checked.fields.values() for row in rows):
            if verdict.creates:     # an address new to the CRM, sent to under "allow sending to any address"
                made = dict(company_id=company.id, email=address, owner_user_id=user.id)
                row: Any = Person(**made) if verdict.creates == "contact" else Lead(title=address, **made)
                session.add(row)
                await session.flush()
                if verdict.creates == "contact":
                    await webhooks.contact_created(session, row)
                holder = (Kind.PERSON if verdict.creates == "contact" else Kind.LEAD, row.id)
                created.append(holder)
            used_by = (verdict.recipient.kind, verdict.recipient.record_id) if verdict.recipient else holder
            if used_by is not None:
                await mark_used(session, company.id, *used_by, address, utcnow())
    stored = await store_message(db, Delivery(
        company_id=company.id, raw=raw, parsed=parse_message(raw, mail_domain=db.mail_domain),
        authorization=Authorization(True, user.id, user.email, "header-from",
                                    f"sent by {user.email} from {NOUNS[kind]} {record_id} (smartbcc send)"),
        envelope_from=envelope_sender, envelope_rcpts=tuple(rcpts), addressed=(RecordRef(kind, record_id),)))
    async with db.writing() as session, session.begin():
        await session.execute(update(OutboundMail).where(OutboundMail.id == outbound_id)
                              .values(message_pk=stored.message_pk))
        links = tuple((row.kind, row.record_id, row.rule) for row in await session.execute(
            select(Link.kind, Link.record_id, Link.rule).where(Link.message_pk == stored.message_pk)
            .order_by(Link.id)))
    return SentMessage(stored.message_pk, str(message["Message-ID"]), kind, record_id,
                       tuple(a for a, _ in names["To"]), tuple(a for a, _ in names["Cc"]),
                       tuple(a for a, _ in names["Bcc"]), envelope_sender, reply, tuple(created), links)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


@dataclass(frozen=True)
class ComposeView:
    """What the compose page of a record shows: the record, and whom its mail may go to."""

    kind: str
    record_id: int
    label: str
    listing: RecipientList
    max_size: int                   # bytes, the whole message with its attachments


async def compose_view(db: Database, viewer: Any, kind: str, record_id: int) -> ComposeView:
    """The compose page's facts for ``viewer`` (a user_id and company_id): a record of another company, or
    one they may not view, is not found; the recipients' problem (no edit right, no address) is kept in
    the listing for the page to say."""
    if kind not in SENDING_KINDS:
        raise NotFound(f"mail is not sent from a {kind!r}")
    async with db.sessions() as session:
        user = await session.get(User, viewer.user_id)
        if user is None or not user.active or user.company_id != viewer.company_id:
            raise NotFound("no such user")
        record = await record_by_id(session, kind, record_id, user.company_id)
        rights = await rights_of(session, user.id)
        if not permitted(rights[kind].view, record.owner_user_id, user.id):
            raise NotFound(f"no {NOUNS[kind]} with id {record_id}")
        listing = recipients(await sending_context(session, user, kind, record_id))
    label = getattr(record, "title", None) or getattr(record, "name", None) or getattr(record, "email", "")
    return ComposeView(kind, record_id, str(label), listing, db.settings.max_message_size)
