"""`smartbcc activity add|list|complete`: calls, meetings and tasks on a record, planned or completed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from gateway.commands.output import App, choice, echo, emit_json, json_option, pass_app, table, with_db
from gateway.crm.kinds import ACTIVITY_STATUSES, DOCUMENT_KINDS, RECORD_NOUNS
from gateway.crm.recipients import NOUNS

if TYPE_CHECKING:
    from gateway.services.activities import ActivityView

kind_argument = click.argument("kind", type=choice((*RECORD_NOUNS, *DOCUMENT_KINDS)), metavar="KIND")
id_argument = click.argument("record_id", type=int, metavar="ID")


@click.group()
def activity() -> None:
    """Activities on records; switching to simple CRM mode moves or completes a lead's planned ones."""


def _print(views: list[ActivityView]) -> None:
    table(["ID", "RECORD", "STATUS", "DUE", "SUBJECT", "OWNER", "COMPLETED"],
          [[v.id, f"{NOUNS[v.kind]} {v.record_id}", v.status, v.due_at, v.subject, v.owner, v.completed_at]
           for v in views], empty="No activities.")


@activity.command("add")
@kind_argument
@id_argument
@click.option("--subject", required=True, help="What is to be done.")
@click.option("--due", "due_at", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
              help="When (UTC): YYYY-MM-DD or YYYY-MM-DDTHH:MM.")
@click.option("--owner", "owner_email", metavar="USER_EMAIL", help="The user responsible.")
@click.option("--message", "message_pk", type=int, metavar="MESSAGE_ID",
              help="A task made from this message (linked to the record).")
@json_option
@pass_app
def add(app: App, kind: str, record_id: int, subject: str, due_at: datetime | None, owner_email: str | None,
        message_pk: int | None, as_json: bool) -> None:
    """Plan an activity on a record (KIND ID)."""
    from gateway.services import activities as service

    view = with_db(app, lambda db: service.add_activity(db, kind, record_id, subject, due_at, owner_email,
                                                        message_pk))
    if as_json:
        emit_json(view)
        return
    echo(f"Planned activity {view.id} on {NOUNS[view.kind]} {view.record_id}: {view.subject}")


@activity.command("list")
@kind_argument
@id_argument
@click.option("--status", type=click.Choice(ACTIVITY_STATUSES), help="Only planned or only completed ones.")
@json_option
@pass_app
def list_(app: App, kind: str, record_id: int, status: str | None, as_json: bool) -> None:
    """A record's activities: planned ones by due date, then completed ones."""
    from gateway.services import activities as service

    views = with_db(app, lambda db: service.list_activities(db, kind, record_id, status))
    emit_json(views) if as_json else _print(views)


@activity.command("complete")
@click.argument("activity_id", type=int, metavar="ACTIVITY_ID")
@json_option
@pass_app
def complete(app: App, activity_id: int, as_json: bool) -> None:
    """Mark an activity completed."""
    from gateway.services import activities as service

    view = with_db(app, lambda db: service.complete_activity(db, activity_id))
    if as_json:
        emit_json(view)
        return
    echo(f"Completed activity {view.id} on {NOUNS[view.kind]} {view.record_id}: {view.subject}")


@activity.command("tasks")
@click.argument("owner_email", metavar="USER_EMAIL")
@click.option("--status", type=click.Choice(ACTIVITY_STATUSES), default="planned", show_default=True)
@json_option
@pass_app
def tasks(app: App, owner_email: str, status: str, as_json: bool) -> None:
    """A user's tasks: planned ones by due date, the overdue ones first."""
    from gateway.services import activities as service

    views = with_db(app, lambda db: service.tasks_of(db, owner_email, status))
    emit_json(views) if as_json else _print(views)
