"""`smartbcc mailbox connect|list|sync|disconnect|autofile`: users' connected IMAP mailboxes."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

import click

from gateway.commands.output import App, echo, emit_json, json_option, lines, pass_app, table, with_db

if TYPE_CHECKING:
    from gateway.services.mailboxes import MailboxView
    from gateway.store.database import Database
    from gateway.sync import Report


@click.group("mailbox")
def mailbox() -> None:
    """Connected mailboxes: a user's IMAP mailbox synced into smartbcc and filed like Bcc'd mail."""


def _progress(view: MailboxView) -> str:
    return f"{view.progress_done}/{view.progress_total}" if view.progress_total else "-"


@mailbox.command("connect")
@click.argument("user_email")
@click.option("--imap", "server", required=True, metavar="HOST[:PORT]",
              help="The IMAP server; the port by default is 993 (--tls) or 143 (--starttls).")
@click.option("--username", required=True, help="The mailbox's login name.")
@click.option("--password-file", type=click.File("r"), required=True, metavar="FILE",
              help="Read the password from the first line of FILE ('-': standard input).")
@click.option("--tls", "security", flag_value="tls", default=True, help="Implicit TLS (the default, port 993).")
@click.option("--starttls", "security", flag_value="starttls", help="STARTTLS on a plain connection (port 143).")
@click.option("--ca-file", default="", metavar="PEM", help="Trust this private CA for the server's certificate.")
@click.option("--days", type=click.IntRange(1), metavar="N",
              help="The first sync takes the last N days (default: the mailbox_first_days setting, 30).")
@json_option
@pass_app
def connect(app: App, user_email: str, server: str, username: str, password_file: IO[str], security: str,
            ca_file: str, days: int | None, as_json: bool) -> None:
    """Connect USER_EMAIL's IMAP mailbox: the server is reached and the credentials tried first; the
    running server (`smartbcc serve`) then syncs it in the background."""
    from gateway.imap import SECURITIES
    from gateway.services import mailboxes

    assert security in SECURITIES
    password = password_file.readline().rstrip("\r\n")
    view = with_db(app, lambda db: mailboxes.connect(db, user_email, server, username, password, security,
                                                     ca_file, days))
    if as_json:
        emit_json(view)
        return
    echo(f"Connected mailbox {view.id}: {view.username} at {view.host}:{view.port} ({view.security}) for "
         f"{view.user}; `smartbcc serve` syncs it (or `smartbcc mailbox sync {view.id}` now)")


@mailbox.command("list")
@click.option("--user", "user_email", metavar="EMAIL", help="Only this user's mailboxes.")
@click.option("--company", "company_slug", metavar="SLUG", help="Only this company's.")
@json_option
@pass_app
def list_(app: App, user_email: str | None, company_slug: str | None, as_json: bool) -> None:
    """List connected mailboxes with their unread count, status and sync progress."""
    from gateway.services import mailboxes

    views = with_db(app, lambda db: mailboxes.list_mailboxes(db, user_email, company_slug))
    if as_json:
        emit_json(views)
        return
    table(["ID", "USER", "MAILBOX", "STATUS", "UNREAD", "PROGRESS", "LAST SYNC", "ERROR"],
          [[v.id, v.user, f"{v.username}@{v.host}:{v.port}", v.status, v.unread, _progress(v), v.synced_at,
            v.last_error or "-"] for v in views])


@mailbox.command("sync")
@click.argument("mailbox_id", type=int)
@click.option("--request", is_flag=True, help="Only ask the running server to sync it now, and return.")
@json_option
@pass_app
def sync(app: App, mailbox_id: int, request: bool, as_json: bool) -> None:
    """Sync mailbox MAILBOX_ID now, here (or, with --request, in the running server)."""
    from gateway.services import mailboxes
    from gateway.sync import Intake, sync_mailbox

    if request:
        with_db(app, lambda db: mailboxes.request_sync(db, mailbox_id))
        if as_json:
            emit_json({"id": mailbox_id, "requested": True})
            return
        echo(f"Asked the running server to sync mailbox {mailbox_id}")
        return

    async def work(db: Database) -> tuple[Report, MailboxView]:
        await mailboxes.mailbox_of(db, mailbox_id)
        intake = Intake.standalone(db, app.settings)
        try:
            report = await sync_mailbox(db, intake, mailbox_id)
        finally:
            await intake.close()
        return report, await mailboxes.mailbox_of(db, mailbox_id)

    report, view = with_db(app, work)
    if as_json:
        emit_json({"report": report, "mailbox": view})
    else:
        lines([("mailbox", f"{view.id} ({view.username}@{view.host})"), ("status", report.status),
               ("fetched", report.fetched), ("changes sent", report.pushed), ("changes received", report.pulled),
               ("unread", view.unread), *([("error", report.error)] if report.error else [])])
    if report.status != "ok":
        raise SystemExit(1)


@mailbox.command("disconnect")
@click.argument("mailbox_id", type=int)
@json_option
@pass_app
def disconnect(app: App, mailbox_id: int, as_json: bool) -> None:
    """Forget mailbox MAILBOX_ID and its password; the mail it brought stays."""
    from gateway.services import mailboxes

    view = with_db(app, lambda db: mailboxes.disconnect(db, mailbox_id))
    if as_json:
        emit_json(view)
        return
    echo(f"Disconnected mailbox {view.id} ({view.username} at {view.host}); its mail stays in smartbcc")


@mailbox.command("autofile")
@click.argument("company_slug")
@click.argument("choice", type=click.Choice(["on", "off"]))
@json_option
@pass_app
def autofile(app: App, company_slug: str, choice: str, as_json: bool) -> None:
    """Whether synced mail from or to known contacts is filed on their records at once (on, the default)
    or only when a user saves it to the CRM (off)."""
    from gateway.services import mailboxes

    value = with_db(app, lambda db: mailboxes.set_autofile(db, company_slug, choice == "on"))
    if as_json:
        emit_json({"company": company_slug, "mailbox_autofile": value})
        return
    echo(f"Synced mail of {company_slug} is filed {'at once' if value else 'when saved to the CRM'}")
