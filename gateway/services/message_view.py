"""One message as its user sees it in the web mailbox: headers, participants, bodies, attachments, links;
linking it to records and unlinking; finding records to link to.

Everything here first asks gateway.services.visibility whether the user may see the message: a message
they may not see is "not found", exactly like one that does not exist. Records they may not view are
left out (a participant whose contact is hidden shows as a bare address, a link to a hidden record is
counted, not named).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from email import message_from_bytes, policy
from email.message import Message as EmailPart
from typing import Any, Iterable

from sqlalchemy import func, or_, select

from gateway.crm.kinds import Kind, LinkRule
from gateway.services.bounces import BounceView, bounces_of, delivery_status
from gateway.services.errors import NotFound, ServiceError, record_by_id
from gateway.mail.parsing import TEXT_CUT
from gateway.services.mailbox import _COLUMNS, _E, Row, _entries, _entry_join, _row, visible
from gateway.services.records import NOUNS
from gateway.services.review import resolve_by_link
from gateway.services.visibility import Sight, Viewer, sight
from gateway.store import raw as stored_raw
from gateway.store.database import Database
from gateway.store.models import (
    RECORD_MODELS, Attachment, Lead, Link, Message, Person, User,
)

LINKABLE = (Kind.DEAL, Kind.LEAD, Kind.PERSON, Kind.ORG, Kind.PROJECT, Kind.INVOICE, Kind.QUOTE, Kind.SMART)


@dataclass(frozen=True)
class Participant:
    role: str                 # from, to, cc, forwarded
    email: str
    name: str
    contact_id: int | None    # None: no contact, or one the user may not view


@dataclass(frozen=True)
class LinkedRecord:
    kind: str
    id: int
    label: str
    rule: str


@dataclass(frozen=True)
class AttachmentInfo:
    number: int               # 1-based, in the order of the message
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageView:
    row: Row
    owner: str
    date: datetime | None
    participants: tuple[Participant, ...]
    text_body: str
    html_body: str
    forwarded: dict[str, Any] | None
    attachments: tuple[AttachmentInfo, ...]
    links: tuple[LinkedRecord, ...]
    hidden_links: int
    auto_generated: str
    delivery: str = ""                      # "bounced": a report came back saying delivery failed
    bounces: tuple[BounceView, ...] = ()    # the reports that came back for mail sent from a record
    clipped: bool = False                   # the body's text is its beginning only (the parser's budget)


def label(kind: str, record: Any) -> str:
    if kind == Kind.PERSON:
        return f"{record.name} <{record.email}>" if record.name else record.email
    if kind == Kind.ORG:
        return record.name
    return record.title


async def _message_row(session: Any, who: Sight, message_pk: int) -> tuple[Message, Row]:
    await visible(session, who, [message_pk])
    found = (await session.execute(select(*_COLUMNS).select_from(Message).outerjoin(_E, _entry_join(who))
                                   .where(Message.id == message_pk))).one()
    return await session.get(Message, message_pk), _row(who, found)


async def open_message(db: Database, viewer: Viewer, message_pk: int, mark_read: bool = True) -> MessageView:
    """The message for reading; marks it read for this user unless ``mark_read`` is False."""
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        message, row = await _message_row(session, who, message_pk)
        if mark_read and not row.read:
            (await _entries(session, who, {message.id: message}))[message.id].read = True
            row = replace(row, read=True)
        owner = await session.get(User, message.owner_user_id)
        boxes = [("from", {"email": message.from_email, "name": message.from_name})]
        boxes += [("to", box) for box in message.to_addrs or []] + [("cc", box) for box in message.cc_addrs or []]
        sender = (message.forwarded or {}).get("sender") if isinstance(message.forwarded, dict) else None
        if isinstance(sender, dict) and sender.get("email"):
            boxes.append(("forwarded", sender))
        emails = {str(box.get("email", "")).lower() for _, box in boxes}
        contacts = {p.email: p for p in await session.scalars(select(Person).where(
            Person.company_id == message.company_id, Person.email.in_(emails)))}
        participants = []
        for role, box in boxes:
            email = str(box.get("email", ""))
            contact = contacts.get(email.lower())
            seen = contact is not None and who.may_view(Kind.PERSON, contact.owner_user_id)
            participants.append(Participant(role, email, str(box.get("name", "")), contact.id if seen and contact is not None else None))
        links, hidden = [], 0
        for link in await session.scalars(select(Link).where(Link.message_pk == message.id).order_by(Link.id)):
            record = await session.get(RECORD_MODELS[link.kind], link.record_id)
            if record is None or not who.may_view(link.kind, record.owner_user_id):
                hidden += 1
                continue
            links.append(LinkedRecord(link.kind, link.record_id, label(link.kind, record), link.rule))
        attachments = tuple(AttachmentInfo(n, a.filename, a.content_type, a.size) for n, a in enumerate(
            await session.scalars(select(Attachment).where(Attachment.message_pk == message.id)
                                  .order_by(Attachment.id)), 1))
        return MessageView(row, owner.email if owner else "", message.date, tuple(participants), message.text_body,
                           message.html_body, message.forwarded if isinstance(message.forwarded, dict) else None,
                           attachments, tuple(links), hidden, message.auto_generated,
                           delivery_status(bounces := await bounces_of(session, message.id)), bounces,
                           clipped=TEXT_CUT in message.parse_degraded)


async def raw_message(db: Database, viewer: Viewer, message_pk: int) -> bytes:
    async with db.sessions() as session:
        who = await sight(session, viewer)
        await visible(session, who, [message_pk])
        kept = await stored_raw.read(session, message_pk)
    if kept is None:
        raise NotFound(f"message {message_pk} has no stored raw bytes")
    return kept


def _leaf_bytes(part: EmailPart) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):
        return b"".join(item.as_bytes() for item in payload if isinstance(item, EmailPart))
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _find_part(raw: bytes, sha256: str, number: int) -> bytes | None:
    """The decoded bytes of an attachment: the part whose sha256 is the stored one, else the n-th part
    that is not a body."""
    parsed = message_from_bytes(raw, policy=policy.compat32)
    candidates: list[bytes] = []
    bodies_seen: set[str] = set()
    for part in parsed.walk():
        kind = part.get_content_type()
        if part.is_multipart() and not kind.startswith("message/"):
            continue
        if part is parsed and not kind.startswith("message/"):
            if kind in ("text/plain", "text/html"):
                continue
        named = bool(part.get_filename()) or part.get_content_disposition() == "attachment"
        if kind in ("text/plain", "text/html") and not named and kind not in bodies_seen:
            bodies_seen.add(kind)
            continue
        if kind.startswith("text/") and not named:
            continue
        data = _leaf_bytes(part)
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
        candidates.append(data)
    return candidates[number - 1] if 0 < number <= len(candidates) else None


async def attachment(db: Database, viewer: Viewer, message_pk: int, number: int) -> tuple[AttachmentInfo, bytes]:
    async with db.sessions() as session:
        who = await sight(session, viewer)
        await visible(session, who, [message_pk])
        rows = (await session.scalars(select(Attachment).where(Attachment.message_pk == message_pk)
                                      .order_by(Attachment.id))).all()
        if not 0 < number <= len(rows):
            raise NotFound(f"message {message_pk} has no attachment {number}")
        kept = await stored_raw.read(session, message_pk)
    found = rows[number - 1]
    data = await asyncio.to_thread(_find_part, kept or b"", found.sha256, number)
    if data is None:
        raise NotFound(f"attachment {number} of message {message_pk} cannot be found in its raw bytes")
    return AttachmentInfo(number, found.filename, found.content_type, found.size), data


async def _record_to_link(session: Any, who: Sight, kind: str, record_id: int) -> Any:
    if kind not in LINKABLE:
        raise ServiceError(f"the kind of record is one of {', '.join(LINKABLE)}, not {kind!r}")
    try:
        record = await record_by_id(session, kind, record_id, who.company_id)
    except NotFound:
        raise NotFound(f"no {NOUNS.get(kind, kind)} with id {record_id}") from None
    if not who.may_view(kind, record.owner_user_id):
        raise NotFound(f"no {NOUNS.get(kind, kind)} with id {record_id}")
    if not who.may_edit(kind, record.owner_user_id):
        raise ServiceError(f"you may not change {NOUNS.get(kind, kind)} {record_id} (no edit right)")
    return record


async def link(db: Database, viewer: Viewer, ids: Iterable[int], kind: str, record_id: int) -> int:
    """Link messages to a record the user may edit (rule ``manual``); returns how many links are new.
    A deal, lead or project resolves the messages' open review items of its kind."""
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        found = await visible(session, who, ids)
        await _record_to_link(session, who, kind, record_id)
        have = set(await session.scalars(select(Link.message_pk).where(
            Link.message_pk.in_(found), Link.kind == kind, Link.record_id == record_id)))
        new = [pk for pk in found if pk not in have]
        session.add_all([Link(message_pk=pk, kind=kind, record_id=record_id, rule=LinkRule.MANUAL) for pk in new])
        for pk in found:
            await resolve_by_link(session, pk, kind, record_id)
        return len(new)


async def unlink(db: Database, viewer: Viewer, message_pk: int, kind: str, record_id: int) -> None:
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        await visible(session, who, [message_pk])
        await _record_to_link(session, who, kind, record_id)
        found = await session.scalar(select(Link).where(
            Link.message_pk == message_pk, Link.kind == kind, Link.record_id == record_id))
        if found is None:
            raise NotFound(f"message {message_pk} is not linked to {NOUNS.get(kind, kind)} {record_id}")
        await session.delete(found)


@dataclass(frozen=True)
class RecordHit:
    kind: str
    id: int
    label: str


async def find_records(db: Database, viewer: Viewer, q: str, limit: int = 20) -> list[RecordHit]:
    """Records of the user's company they may view, by name, title or address (contains, any case)."""
    words = q.strip().lower()
    if not words:
        return []
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    hits: list[RecordHit] = []
    async with db.sessions() as session:
        who = await sight(session, viewer)
        for kind in LINKABLE:
            model: Any = RECORD_MODELS[kind]
            columns = [model.name, model.email] if kind == Kind.PERSON else (
                [model.name, model.domain] if kind == Kind.ORG else
                [model.title, model.email, model.name] if model is Lead else [model.title])
            query = (select(model).where(model.company_id == who.company_id,
                                         or_(*(func.lower(c).like(pattern, escape="\\") for c in columns)))
                     .order_by(model.id.desc()).limit(limit))
            for record in await session.scalars(query):
                if who.may_view(kind, record.owner_user_id):
                    hits.append(RecordHit(kind, record.id, label(kind, record)))
    return hits[:limit]


async def contact_known(db: Database, viewer: Viewer, kind: str, record_id: int) -> str:
    """The label of a record the user may view (for the "mail of this record" filter), else NotFound."""
    async with db.sessions() as session:
        who = await sight(session, viewer)
        if kind not in LINKABLE:
            raise NotFound(f"no record {kind} {record_id}")
        record = await session.get(RECORD_MODELS[kind], record_id)
        if record is None or record.company_id != who.company_id or not who.may_view(kind, record.owner_user_id):
            raise NotFound(f"no {NOUNS.get(kind, kind)} with id {record_id}")
        return label(kind, record)

