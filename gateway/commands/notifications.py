"""`smartbcc notifications check|digest|set-digest`: overdue tasks and the daily digest, on demand.

The running gateway does both by itself (gateway.server); these run them now, e.g. from cron when the
gateway's own schedule is not wanted.
"""

from __future__ import annotations

import click

from gateway.commands.output import App, echo, emit_json, json_option, pass_app, table, with_db


@click.group()
def notifications() -> None:
    """Notifications: overdue tasks and the daily mail digest."""


@notifications.command("check")
@pass_app
def check(app: App) -> None:
    """Notify the owners of tasks that became overdue (each task once)."""
    from gateway.services import tasks as task_service

    count = with_db(app, task_service.notify_overdue)
    echo(f"Notified {count} overdue task(s).")


@notifications.command("digest")
@json_option
@pass_app
def digest(app: App, as_json: bool) -> None:
    """Mail the digest now to each user who chose it: their unread notifications no digest carried yet."""
    from gateway.services import digest as digest_service
    from gateway.services.smarthost import OutboundError

    try:
        sent = with_db(app, lambda db: digest_service.send_digests(db, app.settings))
    except OutboundError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        emit_json(sent)
        return
    table(["USER", "NOTIFICATIONS"], [[s.email, s.notifications] for s in sent], empty="No digest to send.")


@notifications.command("set-digest")
@click.argument("email", metavar="USER_EMAIL")
@click.argument("choice", type=click.Choice(["on", "off"]))
@pass_app
def set_digest(app: App, email: str, choice: str) -> None:
    """Choose whether a user gets the daily digest."""
    from gateway.services import digest as digest_service

    with_db(app, lambda db: digest_service.set_digest(db, email, choice == "on"))
    echo(f"Daily digest {choice} for {email}.")
