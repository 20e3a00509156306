"""Invoices, quotes and smart-process items: a title, a linked contact and a linked company.

They have no Bcc address of their own; mail sent from one goes to its contact and company
(gateway.crm.recipients) and is linked to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gateway.crm.kinds import DOCUMENT_KINDS, Kind
from gateway.services.activities import ActivityView, activity_view
from gateway.services.errors import ServiceError, company_by_slug, record_by_id
from gateway.services.records import LinkedMessage, linked_messages
from gateway.store.database import Database
from gateway.store.models import RECORD_MODELS, Activity, Company, User

FIELDS = ("title", "status", "person_id", "org_id", "closed_at")


@dataclass(frozen=True)
class DocumentView:
    kind: str
    id: int
    company: str                      # the company's slug
    fields: dict[str, Any]
    created_at: datetime
    messages: tuple[LinkedMessage, ...] = ()
    activities: tuple[ActivityView, ...] = ()

    @property
    def label(self) -> str:
        return str(self.fields["title"])


def _view(company: Company, kind: str, record: Any, messages: tuple[LinkedMessage, ...] = (),
          activities: tuple[ActivityView, ...] = ()) -> DocumentView:
    return DocumentView(kind, record.id, company.slug, {name: getattr(record, name) for name in FIELDS},
                        record.created_at, messages, activities)


def _kind(kind: str) -> str:
    if kind not in DOCUMENT_KINDS:
        raise ValueError(f"documents are {', '.join(DOCUMENT_KINDS)}, not {kind!r}")
    return kind


async def add_document(db: Database, kind: str, company_slug: str, title: str, person_id: int | None = None,
                       org_id: int | None = None) -> DocumentView:
    title = title.strip()
    if not title:
        raise ServiceError("the title cannot be empty")
    async with db.writing() as session, session.begin():
        company = await company_by_slug(session, company_slug)
        if person_id is not None:
            await record_by_id(session, Kind.PERSON, person_id, company.id)
        if org_id is not None:
            await record_by_id(session, Kind.ORG, org_id, company.id)
        record = RECORD_MODELS[_kind(kind)](company_id=company.id, title=title[:300], person_id=person_id,
                                            org_id=org_id)
        session.add(record)
        await session.flush()
        return _view(company, kind, record)


async def list_documents(db: Database, kind: str, company_slug: str) -> list[DocumentView]:
    model: Any = RECORD_MODELS[_kind(kind)]
    async with db.sessions() as session:
        company = await company_by_slug(session, company_slug)
        rows = await session.scalars(select(model).where(model.company_id == company.id).order_by(model.id))
        return [_view(company, kind, record) for record in rows]


async def show_document(db: Database, kind: str, record_id: int) -> DocumentView:
    """One document with the messages linked to it (sent from it) and its activities."""
    async with db.sessions() as session:
        record = await record_by_id(session, _kind(kind), record_id)
        company = await session.get_one(Company, record.company_id)
        messages = await linked_messages(session, kind, record.id)
        activities = (await session.execute(
            select(Activity, User).outerjoin(User, User.id == Activity.owner_user_id)
            .where(Activity.company_id == record.company_id, Activity.kind == kind, Activity.record_id == record.id)
            .order_by(Activity.id))).all()
        return _view(company, kind, record, messages, tuple(activity_view(a, u) for a, u in activities))
