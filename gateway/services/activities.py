"""Activities on CRM records (calls, meetings, tasks): planned until someone completes them.

A CRM mode switch moves a lead's planned activities to its new deal, or completes them
(gateway.services.crm_mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from gateway.crm.recipients import NOUNS
from gateway.crm.kinds import ACTIVITY_STATUSES as STATUSES  # noqa: F401 (re-exported)
from gateway.services.errors import NotFound, ServiceError, record_by_id, user_by_email
from gateway.store.database import Database
from gateway.store.models import Activity, Link, User, utcnow


@dataclass(frozen=True)
class ActivityView:
    id: int
    kind: str
    record_id: int
    subject: str
    status: str
    due_at: datetime | None
    completed_at: datetime | None
    owner: str | None           # the owner's login address
    created_at: datetime
    message_pk: int | None = None   # the message a task was made from


def activity_view(activity: Activity, owner: User | None) -> ActivityView:
    return ActivityView(activity.id, activity.kind, activity.record_id, activity.subject, activity.status,
                        activity.due_at, activity.completed_at, owner.email if owner else None, activity.created_at,
                        activity.message_pk)


def aware(moment: datetime | None) -> datetime | None:
    """A date typed without a zone is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


async def add_activity(db: Database, kind: str, record_id: int, subject: str, due_at: datetime | None = None,
                       owner_email: str | None = None, message_pk: int | None = None) -> ActivityView:
    """Plan an activity on a record; ``message_pk``: a task made from a message linked to that record."""
    subject = subject.strip()
    if not subject:
        raise ServiceError("the activity's subject cannot be empty")
    async with db.writing() as session, session.begin():
        record = await record_by_id(session, kind, record_id)
        owner = await user_by_email(session, owner_email) if owner_email else None
        if owner is not None and owner.company_id != record.company_id:
            raise ServiceError(f"{owner.email} works for another company than {NOUNS[kind]} {record_id}")
        if message_pk is not None and await session.scalar(select(Link.id).where(
                Link.message_pk == message_pk, Link.kind == kind, Link.record_id == record_id)) is None:
            raise ServiceError(f"message {message_pk} is not linked to {NOUNS[kind]} {record_id}")
        activity = Activity(company_id=record.company_id, kind=kind, record_id=record_id, subject=subject[:300],
                            due_at=aware(due_at), owner_user_id=owner.id if owner else None, created_at=utcnow(),
                            message_pk=message_pk)
        session.add(activity)
        await session.flush()
        return activity_view(activity, owner)


async def list_activities(db: Database, kind: str, record_id: int,
                          status: str | None = None) -> list[ActivityView]:
    """A record's activities, planned ones by due date first, then completed ones."""
    if status is not None and status not in STATUSES:
        raise ServiceError(f"status is one of {', '.join(STATUSES)}")
    async with db.sessions() as session:
        record = await record_by_id(session, kind, record_id)
        query = select(Activity, User).outerjoin(User, User.id == Activity.owner_user_id).where(
            Activity.company_id == record.company_id, Activity.kind == kind, Activity.record_id == record_id)
        if status is not None:
            query = query.where(Activity.status == status)
        rows = (await session.execute(query.order_by(Activity.id))).all()
    views = [activity_view(activity, owner) for activity, owner in rows]
    far = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(views, key=lambda v: (v.status != "planned", v.due_at or far, v.id))


async def complete_activity(db: Database, activity_id: int) -> ActivityView:
    async with db.writing() as session, session.begin():
        activity = await session.get(Activity, activity_id)
        if activity is None:
            raise NotFound(f"no activity with id {activity_id} (see `smartbcc activity list KIND ID`)")
        if activity.status == "completed":
            raise ServiceError(f"activity {activity_id} was completed already")
        activity.status, activity.completed_at = "completed", utcnow()
        owner = await session.get(User, activity.owner_user_id) if activity.owner_user_id else None
        return activity_view(activity, owner)


async def tasks_of(db: Database, owner_email: str, status: str = "planned") -> list[ActivityView]:
    """A user's tasks: planned ones by due date (the overdue ones first, undated last), or completed ones."""
    if status not in STATUSES:
        raise ServiceError(f"status is one of {', '.join(STATUSES)}")
    async with db.sessions() as session:
        owner = await user_by_email(session, owner_email)
        rows = await session.scalars(select(Activity).where(Activity.owner_user_id == owner.id,
                                                            Activity.status == status).order_by(Activity.id))
        views = [activity_view(activity, owner) for activity in rows]
    far = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(views, key=lambda v: (v.due_at or far, v.id))
