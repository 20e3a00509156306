"""The review queue and links an admin makes by hand: messages the gateway could not file alone.

A message waits in review when one of its contacts has several open deals (or leads, projects):
nothing of that kind was linked, and the candidates are kept best first. Resolving links the one
chosen (rule ``review``); ``link`` / ``unlink`` change a message's records directly (rule ``manual``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.kinds import DEALISH_KINDS, LinkRule
from gateway.services.errors import NotFound, ServiceError, company_by_slug
from gateway.services.records import NOUNS, _get
from gateway.store.database import Database, rows_matched
from gateway.store.models import DEALISH_MODELS, Company, Link, Message, Person, ReviewItem, utcnow


@dataclass(frozen=True)
class Candidate:
    id: int
    title: str


@dataclass(frozen=True)
class ReviewView:
    id: int
    company: str
    message_id: int
    subject: str
    kind: str
    person_id: int
    person_email: str
    candidates: tuple[Candidate, ...]
    status: str
    resolved_record_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class LinkChange:
    message_id: int
    kind: str
    record_id: int
    rule: str
    changed: bool          # False: it was already so


async def _message(session: AsyncSession, message_pk: int) -> Message:
    message = await session.get(Message, message_pk)
    if message is None:
        raise NotFound(f"no message with id {message_pk} (see `smartbcc messages list`)")
    return message


async def _view(session: AsyncSession, item: ReviewItem) -> ReviewView:
    message = await session.get_one(Message, item.message_pk)
    company = await session.get_one(Company, item.company_id)
    person = await session.get(Person, item.person_id)
    candidates = []
    for record_id in item.candidates:
        record = await session.get(DEALISH_MODELS[item.kind], record_id)
        candidates.append(Candidate(record_id, record.title if record is not None else "(deleted)"))
    return ReviewView(item.id, company.slug, item.message_pk, message.subject, item.kind, item.person_id,
                      person.email if person else "", tuple(candidates), item.status,
                      item.resolved_record_id, item.created_at)


async def list_reviews(db: Database, company_slug: str | None = None, include_resolved: bool = False) -> list[ReviewView]:
    async with db.sessions() as session:
        query = select(ReviewItem).order_by(ReviewItem.id)
        if company_slug:
            company = await company_by_slug(session, company_slug)
            query = query.where(ReviewItem.company_id == company.id)
        if not include_resolved:
            query = query.where(ReviewItem.status == "open")
        return [await _view(session, item) for item in await session.scalars(query)]


async def _add_link(session: AsyncSession, message: Message, kind: str, record_id: int, rule: str) -> bool:
    await _get(session, kind, record_id, await session.get(Company, message.company_id))
    existing = await session.scalar(select(Link).where(
        Link.message_pk == message.id, Link.kind == kind, Link.record_id == record_id))
    if existing is not None:
        return False
    session.add(Link(message_pk=message.id, kind=kind, record_id=record_id, rule=rule))
    return True


async def resolve_review(db: Database, message_pk: int, kind: str, record_id: int | None) -> list[ReviewView]:
    """Link the chosen record to the message and close its open review items of that kind.

    ``record_id`` None dismisses them (nothing linked). The record need not be a candidate: an admin
    may know better, but it must belong to the message's company.
    """
    if kind not in DEALISH_KINDS:
        raise ServiceError(f"review items are about deals, leads or projects, not {kind!r}")
    async with db.sessions() as session, session.begin():
        message = await _message(session, message_pk)
        items = (await session.scalars(select(ReviewItem).where(
            ReviewItem.message_pk == message.id, ReviewItem.kind == kind, ReviewItem.status == "open"))).all()
        if not items:
            raise NotFound(f"message {message_pk} has no open review item for a {kind} "
                           "(see `smartbcc review list`); use `messages link` to link by hand")
        if record_id is not None:
            await _add_link(session, message, kind, record_id, LinkRule.REVIEW)
        for item in items:
            item.status = "resolved" if record_id is not None else "dismissed"
            item.resolved_record_id = record_id
            item.resolved_at = utcnow()
        await session.flush()
        return [await _view(session, item) for item in items]


async def link_message(db: Database, message_pk: int, kind: str, record_id: int) -> LinkChange:
    async with db.sessions() as session, session.begin():
        message = await _message(session, message_pk)
        changed = await _add_link(session, message, kind, record_id, LinkRule.MANUAL)
        return LinkChange(message.id, kind, record_id, LinkRule.MANUAL, changed)


async def unlink_message(db: Database, message_pk: int, kind: str, record_id: int) -> LinkChange:
    async with db.sessions() as session, session.begin():
        message = await _message(session, message_pk)
        result = await session.execute(delete(Link).where(
            Link.message_pk == message.id, Link.kind == kind, Link.record_id == record_id))
        if rows_matched(result) == 0:
            raise NotFound(f"message {message_pk} is not linked to {NOUNS[kind]} {record_id} "
                           f"(see `smartbcc messages show {message_pk}`)")
        return LinkChange(message.id, kind, record_id, "", True)


async def set_visibility(db: Database, message_pk: int, visibility: str) -> str:
    """Share a message within the company, or make it private to its owner again."""
    if visibility not in ("private", "shared"):
        raise ServiceError("visibility is private or shared")
    async with db.sessions() as session, session.begin():
        message = await _message(session, message_pk)
        message.visibility = visibility
        return message.visibility
