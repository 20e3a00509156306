"""Tasks: activities with a due date and an owner, made from a message or on a record ("Create task").

A task is an activity (table ``activities``) on one record, with the message it was made from when there
is one. Whoever may change a record plans tasks on it, for any active colleague; each user has a list of
the tasks they own, planned ones first with the overdue ones on top; a task planned for a colleague notifies them. A task is
seen by its owner and by
whoever may change its record; to anyone else it does not exist. Its owner hears once that it is overdue
(:func:`notify_overdue`, run by the gateway now and then and by ``smartbcc notifications check``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import select

from gateway.crm.kinds import NotificationKind
from gateway.crm.recipients import NOUNS
from gateway.services.activities import aware
from gateway.services.errors import NotFound, ServiceError
from gateway.services.mailbox import visible
from gateway.services.message_view import label
from gateway.services.notifications import notify
from gateway.services.visibility import Sight, Viewer, seen_by, sight
from gateway.store.database import Database
from gateway.store.models import RECORD_MODELS, Activity, Link, Message, User, utcnow

SUBJECT_LIMIT = 300


@dataclass(frozen=True)
class Colleague:
    id: int
    email: str
    name: str


@dataclass(frozen=True)
class RecordChoice:
    kind: str
    id: int
    label: str


@dataclass(frozen=True)
class TaskForm:
    """What the "New task" form offers: the records it may go on, the colleagues who may own it."""

    subject: str
    records: tuple[RecordChoice, ...]
    colleagues: tuple[Colleague, ...]
    message_pk: int | None = None


@dataclass(frozen=True)
class TaskView:
    id: int
    subject: str
    status: str
    due_at: datetime | None
    overdue: bool
    owner: str
    record_kind: str
    record_id: int
    record_label: str          # empty when the viewer may not see the record
    message_pk: int | None     # None when there is none or the viewer may not see it
    completed_at: datetime | None


def due_moment(value: str) -> datetime | None:
    """A due date as typed in a form: YYYY-MM-DD (the end of that day, UTC) or YYYY-MM-DDTHH:MM (UTC)."""
    value = value.strip()
    if not value:
        return None
    try:
        if "T" in value or " " in value:
            return aware(datetime.fromisoformat(value.replace(" ", "T")))
        return datetime.combine(date.fromisoformat(value), time(23, 59), tzinfo=timezone.utc)
    except ValueError:
        raise ServiceError(f"a due date is written YYYY-MM-DD or YYYY-MM-DDTHH:MM, not {value!r}") from None


async def _colleagues(session: Any, company_id: int) -> tuple[Colleague, ...]:
    users = await session.scalars(select(User).where(User.company_id == company_id, User.active.is_(True))
                                  .order_by(User.email))
    return tuple(Colleague(u.id, u.email, u.name) for u in users)


async def _editable_record(session: Any, who: Sight, kind: str, record_id: int) -> Any:
    model = RECORD_MODELS.get(kind)
    record = await session.get(model, record_id) if model is not None else None
    if record is None or record.company_id != who.company_id or not who.may_view(kind, record.owner_user_id):
        raise NotFound(f"no {NOUNS.get(kind, kind)} with id {record_id}")
    if not who.may_edit(kind, record.owner_user_id):
        raise ServiceError(f"you may not change {NOUNS[kind]} {record_id}, so you cannot plan tasks on it")
    return record


async def _message_records(session: Any, who: Sight, message_pk: int) -> tuple[Message, list[RecordChoice]]:
    """The message (NotFound unless the user may see it) and its records the user may change."""
    await visible(session, who, [message_pk])
    message = await session.get_one(Message, message_pk)
    choices = []
    for link in await session.scalars(select(Link).where(Link.message_pk == message_pk).order_by(Link.id)):
        record = await session.get(RECORD_MODELS[link.kind], link.record_id)
        if record is not None and who.may_edit(link.kind, record.owner_user_id):
            choices.append(RecordChoice(link.kind, link.record_id, f"{NOUNS[link.kind]}: {label(link.kind, record)}"))
    return message, choices


async def task_form(db: Database, viewer: Viewer, *, message_pk: int | None = None,
                    record: tuple[str, int] | None = None) -> TaskForm:
    """The form for a task from a message (on one of its records) or on a record."""
    async with db.sessions() as session:
        who = await sight(session, viewer)
        colleagues = await _colleagues(session, who.company_id)
        if message_pk is not None:
            message, choices = await _message_records(session, who, message_pk)
            subject = f"Follow up: {message.subject}" if message.subject else "Follow up"
            return TaskForm(subject[:SUBJECT_LIMIT], tuple(choices), colleagues, message_pk)
        if record is None:
            raise ServiceError("a task goes on a record or is made from a message")
        found = await _editable_record(session, who, *record)
        return TaskForm("", (RecordChoice(record[0], record[1], f"{NOUNS[record[0]]}: {label(record[0], found)}"),),
                        colleagues)


async def create_task(db: Database, viewer: Viewer, *, subject: str, due: str, owner_user_id: int,
                      record: tuple[str, int], message_pk: int | None = None) -> TaskView:
    """Plan a task on a record the user may change (from one of its messages, when ``message_pk`` is given),
    owned by an active colleague."""
    subject = " ".join(subject.split())
    if not subject:
        raise ServiceError("say what is to be done")
    due_at = due_moment(due)
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        if message_pk is not None:
            _, choices = await _message_records(session, who, message_pk)
            if not any((c.kind, c.id) == record for c in choices):
                raise ServiceError("choose one of the message's records you may change"
                                   if choices else "link the message to a record you may change first")
        await _editable_record(session, who, *record)
        owner = await session.get(User, owner_user_id)
        if owner is None or owner.company_id != who.company_id or not owner.active:
            raise ServiceError("the task's owner is an active colleague")
        task = Activity(company_id=who.company_id, kind=record[0], record_id=record[1], subject=subject[:SUBJECT_LIMIT],
                        due_at=due_at, owner_user_id=owner.id, message_pk=message_pk, created_at=utcnow())
        session.add(task)
        await session.flush()
        if owner.id != who.user_id:          # planned for a colleague: they hear of it
            author = await session.get_one(User, who.user_id)
            due_text = f", due {aware(due_at):%Y-%m-%d %H:%M} UTC" if due_at is not None else ""
            await notify(session, company_id=who.company_id, user_id=owner.id, kind=NotificationKind.TASK,
                         text=f"{author.name or author.email} planned a task for you{due_text}: {task.subject}",
                         record_kind=task.kind, record_id=task.record_id, activity_id=task.id)
        return (await _views(session, who, [task]))[0]


async def _views(session: Any, who: Sight, tasks: list[Activity]) -> list[TaskView]:
    now = utcnow()
    pks = {t.message_pk for t in tasks if t.message_pk is not None}
    seen = set(await session.scalars(select(Message.id).where(Message.id.in_(pks), seen_by(who)))) if pks else set()
    owners = {u.id: u for u in await session.scalars(
        select(User).where(User.id.in_({t.owner_user_id for t in tasks if t.owner_user_id})))}
    views = []
    for t in tasks:
        record = await session.get(RECORD_MODELS[t.kind], t.record_id)
        shown = record is not None and who.may_view(t.kind, record.owner_user_id)
        owner = owners.get(t.owner_user_id or 0)
        views.append(TaskView(t.id, t.subject, t.status, aware(t.due_at),
                              t.status == "planned" and t.due_at is not None and aware(t.due_at) < now,  # type: ignore[operator]
                              (owner.name or owner.email) if owner else "", t.kind, t.record_id,
                              f"{NOUNS[t.kind]}: {label(t.kind, record)}" if shown else "",
                              t.message_pk if t.message_pk in seen else None, t.completed_at))
    return views


async def my_tasks(db: Database, viewer: Viewer, status: str = "planned") -> list[TaskView]:
    """The user's own tasks: planned ones by due date (the overdue ones first, undated last), or done ones,
    the latest first."""
    if status not in ("planned", "completed"):
        raise ServiceError("status is planned or completed")
    async with db.sessions() as session:
        who = await sight(session, viewer)
        tasks = list(await session.scalars(select(Activity).where(
            Activity.owner_user_id == who.user_id, Activity.company_id == who.company_id,
            Activity.status == status).order_by(Activity.id).limit(500)))
        views = await _views(session, who, tasks)
    if status == "completed":
        return sorted(views, key=lambda v: (v.completed_at or datetime.min.replace(tzinfo=timezone.utc), v.id),
                      reverse=True)
    far = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(views, key=lambda v: (v.due_at or far, v.id))


async def complete_task(db: Database, viewer: Viewer, task_id: int) -> TaskView:
    """Mark a task done: its owner, or whoever may change its record; to anyone else it does not exist."""
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        task = await session.get(Activity, task_id)
        if task is None or task.company_id != who.company_id:
            raise NotFound(f"no task with id {task_id}")
        if task.owner_user_id != who.user_id:
            record = await session.get(RECORD_MODELS[task.kind], task.record_id)
            if record is None or not who.may_edit(task.kind, record.owner_user_id):
                raise NotFound(f"no task with id {task_id}")
        if task.status != "completed":
            task.status, task.completed_at = "completed", utcnow()
        return (await _views(session, who, [task]))[0]


async def notify_overdue(db: Database, now: datetime | None = None) -> int:
    """Tell each owner of a planned task past its due date that it is overdue, once per task; returns how
    many notifications were added."""
    now = now or utcnow()
    async with db.writing() as session, session.begin():
        tasks = list(await session.scalars(select(Activity).where(
            Activity.status == "planned", Activity.due_at.is_not(None), Activity.due_at < now,
            Activity.owner_user_id.is_not(None), Activity.overdue_notified_at.is_(None))
            .order_by(Activity.id).limit(1000)))
        for task in tasks:
            due = aware(task.due_at)
            await notify(session, company_id=task.company_id, user_id=task.owner_user_id or 0,
                         kind=NotificationKind.OVERDUE,
                         text=f"Task overdue since {due:%Y-%m-%d %H:%M} UTC: {task.subject}",
                         record_kind=task.kind, record_id=task.record_id, activity_id=task.id)
            task.overdue_notified_at = now
        return len(tasks)
