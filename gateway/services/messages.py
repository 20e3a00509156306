"""Stored messages: list (pages, search), show (every parsed field, attachments, links), export the raw
bytes, delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, column, delete, false, func, literal, or_, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.kinds import Direction
from gateway.services.bounces import BounceView, bounces_of, delivery_status
from gateway.services.errors import NotFound, ServiceError, company_by_slug
from gateway.services.records import NOUNS
from gateway.store import raw
from gateway.store.database import Database
from gateway.store.models import (
    RECORD_MODELS, Attachment, Company, Link, MailboxEntry, MailFolder, Message, MessageRaw, ReviewItem, User,
)

_OWN_COLUMNS = ("id", "company_id", "owner_user_id")
LIST_LIMIT = 100          # messages a list shows unless asked for more or fewer
MAX_LIST_LIMIT = 10_000


@dataclass(frozen=True)
class MessageSummary:
    id: int
    company: str
    received_at: datetime
    from_email: str
    from_name: str
    subject: str
    owner: str            # the owning user's login address
    links: int
    message_id: str = ""  # the Message-ID header
    direction: str = ""   # outgoing (the user's own mail) or incoming (a customer's, forwarded or synced)
    visibility: str = ""  # private (its owner only) or shared
    folder: str = ""      # where its owner has it: inbox, sent, spam, trash, or the name of a folder of theirs


@dataclass(frozen=True)
class AttachmentView:
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class LinkView:
    kind: str
    id: int               # the record's id
    rule: str
    created_at: datetime


@dataclass(frozen=True)
class MessageDetails:
    id: int
    company: str
    owner: str
    fields: dict[str, Any]        # every other column of the Message model, by name
    attachments: tuple[AttachmentView, ...]
    links: tuple[LinkView, ...]
    review: tuple[dict[str, Any], ...]   # open questions for the review queue (kind, person_id, candidates)
    delivery: str = ""            # "bounced" when a report came back saying delivery failed (mail sent from a record)
    bounces: tuple[BounceView, ...] = ()    # the reports that came back to its envelope sender


async def _message(session: AsyncSession, message_pk: int) -> Message:
    message = await session.get(Message, message_pk)
    if message is None:
        raise NotFound(f"no message with id {message_pk} (see `smartbcc messages list`)")
    return message


def _matching(db: Database, words: list[str]) -> Any:
    """The messages whose subject, participants or body hold every word (the last one as a prefix on
    SQLite), from the full-text index the web mailbox searches (gateway.services.mailbox)."""
    if db.engine.dialect.name == "postgresql":
        return Message.id.in_(text(
            "SELECT message_pk FROM message_search WHERE document @@ websearch_to_tsquery('simple', :q)"
        ).bindparams(q=" ".join(words)))
    phrases = ['"' + word.replace('"', '""') + '"' for word in words]
    phrases[-1] += "*"
    index = table("message_search", column("rowid"))
    return Message.id.in_(select(index.c.rowid).where(
        text("message_search MATCH :q").bindparams(q=" ".join(phrases))))


async def list_messages(db: Database, company_slug: str | None = None, record: tuple[str, int] | None = None,
                        *, limit: int = LIST_LIMIT, before: int | None = None,
                        search: str = "") -> list[MessageSummary]:
    """Messages newest first, ``limit`` of them; of one company, and/or those linked to one record,
    and/or matching ``search``. ``before`` (the last id of the previous page) turns to the next page."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ServiceError(f"the limit is a number of messages from 1 to {MAX_LIST_LIMIT}, not {limit}")
    links = (select(func.count()).where(Link.message_pk == Message.id).correlate(Message).scalar_subquery())
    entry = and_(MailboxEntry.user_id == Message.owner_user_id, MailboxEntry.message_pk == Message.id)
    default = case((Message.direction == Direction.OUTGOING, literal("sent")), else_=literal("inbox"))
    folder = func.coalesce(MailFolder.name, MailboxEntry.folder, default)
    query = (select(Message.id, Company.slug, Message.received_at, Message.from_email, Message.from_name,
                    Message.subject, User.email, links, Message.message_id, Message.direction,
                    Message.visibility, folder)
             .join(Company, Message.company_id == Company.id).join(User, Message.owner_user_id == User.id)
             .outerjoin(MailboxEntry, entry).outerjoin(MailFolder, MailFolder.id == MailboxEntry.folder_id)
             .order_by(Message.received_at.desc(), Message.id.desc()).limit(limit))
    if search.strip():
        from gateway.services.mailbox import search_terms

        words = search_terms(search)
        # a search of nothing but punctuation finds nothing, as in the web mailbox
        query = query.where(_matching(db, words) if words else false())
    async with db.sessions() as session:
        if before is not None:
            at = await session.scalar(select(Message.received_at).where(Message.id == before))
            if at is None:
                raise NotFound(f"no message with id {before}: --before takes the last id of the previous page")
            query = query.where(Message.received_at <= at,
                                or_(Message.received_at < at, and_(Message.received_at == at, Message.id < before)))
        company = None
        if company_slug is not None:
            company = await company_by_slug(session, company_slug)
            query = query.where(Message.company_id == company.id)
        if record is not None:
            kind, record_id = record
            found = await session.get(RECORD_MODELS[kind], record_id)
            if found is None:
                raise NotFound(f"no {NOUNS[kind]} with id {record_id} (see `smartbcc {kind} list`)")
            if company is not None and found.company_id != company.id:
                raise ServiceError(f"{NOUNS[kind]} {record_id} belongs to another company, not {company.slug!r}")
            query = query.where(Message.id.in_(
                select(Link.message_pk).where(Link.kind == kind, Link.record_id == record_id)))
        return [MessageSummary(*row) for row in await session.execute(query)]


async def message_details(db: Database, message_pk: int) -> MessageDetails:
    async with db.sessions() as session:
        message = await _message(session, message_pk)
        company = await session.get_one(Company, message.company_id)
        owner = await session.get(User, message.owner_user_id)
        fields = {column.key: getattr(message, column.key)
                  for column in Message.__mapper__.column_attrs if column.key not in _OWN_COLUMNS}
        attachments = await session.scalars(
            select(Attachment).where(Attachment.message_pk == message.id).order_by(Attachment.id))
        links = await session.scalars(select(Link).where(Link.message_pk == message.id).order_by(Link.id))
        review = await session.scalars(
            select(ReviewItem).where(ReviewItem.message_pk == message.id).order_by(ReviewItem.id))
        bounces = await bounces_of(session, message.id)
        return MessageDetails(
            message.id, company.slug, owner.email if owner else "", fields,
            tuple(AttachmentView(a.filename, a.content_type, a.size, a.sha256) for a in attachments),
            tuple(LinkView(link.kind, link.record_id, link.rule, link.created_at) for link in links),
            tuple({"kind": item.kind, "person_id": item.person_id, "candidates": item.candidates,
                   "status": item.status} for item in review),
            delivery_status(bounces), bounces,
        )


async def message_raw(db: Database, message_pk: int) -> bytes:
    """The message exactly as it was received."""
    async with db.sessions() as session:
        await _message(session, message_pk)
        kept = await raw.read(session, message_pk)
    if kept is None:
        raise NotFound(f"message {message_pk} has no stored raw bytes")
    return kept


async def delete_message(db: Database, message_pk: int) -> MessageSummary:
    """Delete a message with its links, raw bytes, attachments and review items: no record shows it."""
    async with db.writing() as session, session.begin():
        message = await _message(session, message_pk)
        company = await session.get_one(Company, message.company_id)
        owner = await session.get(User, message.owner_user_id)
        count = (await session.execute(select(func.count()).where(Link.message_pk == message.id))).scalar_one()
        summary = MessageSummary(message.id, company.slug, message.received_at, message.from_email,
                                 message.from_name, message.subject, owner.email if owner else "", count,
                                 message.message_id, message.direction, message.visibility)
        upload = await session.scalar(select(MessageRaw.upload).where(MessageRaw.message_pk == message.id))
        if upload is not None:
            await session.run_sync(raw.drop, upload)
        for model in (Link, Attachment, MessageRaw, ReviewItem):
            await session.execute(delete(model).where(model.message_pk == message.id))
        await session.execute(delete(Message).where(Message.id == message.id))
    return summary
