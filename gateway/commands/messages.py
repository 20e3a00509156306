"""`smartbcc messages list|show|export|delete|link|unlink|share|unshare`."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from typing import Callable

import click

from gateway.commands.output import App, echo, emit_json, json_option, jsonable, lines, pass_app, table, text, with_db
from gateway.crm.kinds import RECORD_KINDS, Kind
from gateway.commands.records import one_record, record_options

# the order of their options in the help
_RECORD_KINDS = (Kind.DEAL, Kind.LEAD, Kind.PERSON, Kind.PROJECT, Kind.ORG)


@click.group()
def messages() -> None:
    """Stored messages: what was received, where it was filed, and the raw bytes."""


def _record_options(command: Callable[..., None]) -> Callable[..., None]:
    for kind in reversed(_RECORD_KINDS):
        command = click.option(f"--{kind}", f"{kind}_id", type=int, metavar="ID",
                               help=f"Only messages linked to this {kind}.")(command)
    return command


@messages.command("list")
@click.option("--company", "company_slug", metavar="SLUG", help="Only this company's messages.")
@_record_options
@click.option("--search", "-s", default="", metavar="WORDS",
              help="Only messages whose subject, participants or body hold every word.")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True, metavar="N",
              help="List at most N messages.")
@click.option("--before", type=int, metavar="ID",
              help="The next page: messages older than message ID (the last one listed).")
@json_option
@pass_app
def list_(app: App, company_slug: str | None, search: str, limit: int, before: int | None, as_json: bool,
          **ids: int | None) -> None:
    """List messages, newest first, a page at a time."""
    from gateway.services import messages as service

    chosen = [(name[:-3], value) for name, value in ids.items() if value is not None]
    if len(chosen) > 1:
        raise click.UsageError("give at most one of --deal, --lead, --person, --project, --org")
    record = chosen[0] if chosen else None
    views = with_db(app, lambda db: service.list_messages(db, company_slug, record, limit=limit, before=before,
                                                          search=search))
    if as_json:
        emit_json(views)
        return
    table(["ID", "RECEIVED", "FROM", "SUBJECT", "OWNER", "FOLDER", "LINKS"],
          [[v.id, v.received_at, v.from_email, v.subject, v.owner, v.folder, v.links] for v in views],
          empty="No messages.")
    if len(views) == limit:
        echo(f"(the newest {limit}; older ones: --before {views[-1].id})")


@messages.command("show")
@click.argument("message_id", type=int, metavar="ID")
@json_option
@pass_app
def show(app: App, message_id: int, as_json: bool) -> None:
    """Show a message: parsed fields, attachments, sender authorization and links."""
    from gateway.services import messages as service

    details = with_db(app, lambda db: service.message_details(db, message_id))
    if as_json:
        emit_json(details)
        return
    fields = details.fields
    bodies = ("text_body", "html_body", "filing_notes")
    lines([("id", details.id), ("company", details.company), ("owner", details.owner),
           *((name.replace("_", " "), _short(value)) for name, value in fields.items() if name not in bodies)])
    echo("\nattachments:")
    table(["FILENAME", "TYPE", "SIZE", "SHA256"],
          [[a.filename, a.content_type, a.size, a.sha256] for a in details.attachments])
    echo("\nlinks:")
    table(["KIND", "ID", "RULE", "LINKED"], [[k.kind, k.id, k.rule, k.created_at] for k in details.links])
    if details.bounces:
        echo(f"\ndelivery: {details.delivery or 'no failure reported'}")
        table(["RECEIVED", "RECIPIENT", "ACTION", "STATUS", "DIAGNOSTIC"],
              [[b.received_at, b.recipient, b.action, b.status, b.diagnostic] for b in details.bounces])
    if details.review:
        echo("\nwaiting for review:")
        table(["KIND", "PERSON", "CANDIDATES", "STATUS"],
              [[r["kind"], r["person_id"], r["candidates"], r["status"]] for r in details.review])
    if fields["filing_notes"]:
        echo("\nno record made for:")
        for note in fields["filing_notes"].splitlines():
            echo(f"  {text(note)}")
    echo(f"\ntext body:\n{fields['text_body'] or '(none)'}")


def _short(value: object) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(jsonable(value), ensure_ascii=False)
    return text(value)


@messages.command("export")
@click.argument("message_id", type=int, metavar="ID")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write to FILE instead of standard output.")
@json_option
@pass_app
def export(app: App, message_id: int, output: str | None, as_json: bool) -> None:
    """Write the message exactly as received (raw bytes); to a file or a pipe, never to a terminal."""
    if output is None and not as_json and sys.stdout.isatty():
        raise click.ClickException("the raw message is not written to a terminal (its bytes may hold control "
                                   "codes): give --output FILE, or redirect to a file or a pipe")
    from gateway.services import messages as service

    raw = with_db(app, lambda db: service.message_raw(db, message_id))
    if output is None and not as_json:
        click.echo(raw, nl=False)      # bytes for a file or a pipe, exactly as received
        return
    if output is not None:
        try:
            with open(output, "wb") as handle:
                handle.write(raw)
        except OSError as error:
            raise click.ClickException(f"cannot write {output}: {error.strerror or error}") from None
    if as_json:
        emit_json({"id": message_id, "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
                   "output": output, **({} if output else {"raw_base64": base64.b64encode(raw).decode()})})
    else:
        echo(f"Wrote message {message_id} ({len(raw)} bytes) to {output}")


@messages.command("delete")
@click.argument("message_id", type=int, metavar="ID")
@json_option
@pass_app
def delete(app: App, message_id: int, as_json: bool) -> None:
    """Delete a message with its links, raw bytes and attachments: no record shows it any more."""
    from gateway.services import messages as service

    summary = with_db(app, lambda db: service.delete_message(db, message_id))
    if as_json:
        emit_json(summary)
        return
    echo(f"Deleted message {summary.id} ({summary.subject!r}) and its {summary.links} links")


def _link_command(unlink: bool) -> Callable[..., None]:
    @click.argument("message_id", type=int)
    @record_options(RECORD_KINDS)
    @json_option
    @pass_app
    def command(app: App, message_id: int, as_json: bool, **records: int | None) -> None:
        from gateway.services import review

        kind, record_id = one_record(records, RECORD_KINDS)
        change = review.unlink_message if unlink else review.link_message
        result = with_db(app, lambda db: change(db, message_id, kind, record_id))
        if as_json:
            emit_json(result)
            return
        verb = "unlinked from" if unlink else ("linked to" if result.changed else "was already linked to")
        echo(f"Message {message_id} {verb} {kind} {record_id}")
    return command


def _visibility_command(visibility: str) -> Callable[..., None]:
    @click.argument("message_id", type=int)
    @json_option
    @pass_app
    def command(app: App, message_id: int, as_json: bool) -> None:
        from gateway.services import review

        now = with_db(app, lambda db: review.set_visibility(db, message_id, visibility))
        if as_json:
            emit_json({"id": message_id, "visibility": now})
            return
        echo(f"Message {message_id} is now {now}")
    return command


messages.command("link", help="Link a message to a record by hand (rule: manual).")(_link_command(False))
messages.command("unlink", help="Take a message off a record.")(_link_command(True))
messages.command("share", help="Let the whole company see a message.")(_visibility_command("shared"))
messages.command("unshare", help="Make a message private to its owner again.")(_visibility_command("private"))
