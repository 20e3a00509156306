"""`smartbcc quarantine list|replay|discard`: accepted messages that could not be filed, and filing them again."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.commands.output import App, echo, emit_json, json_option, pass_app, table, with_db

if TYPE_CHECKING:
    from gateway.services.quarantine import Replayed
    from gateway.store.database import Database


@click.group()
def quarantine() -> None:
    """Messages that were accepted (250) but could not be filed: kept raw until replayed."""


@quarantine.command("list")
@click.option("--all", "include_replayed", is_flag=True, help="Include entries replayed already.")
@json_option
@pass_app
def list_(app: App, include_replayed: bool, as_json: bool) -> None:
    """List waiting entries, oldest first, with why each could not be filed."""
    from gateway.services import quarantine as service

    entries = with_db(app, lambda db: service.list_entries(db, include_replayed))
    if as_json:
        emit_json(entries)
        return
    table(["ID", "RECEIVED", "STATUS", "COMPANY", "FROM", "SIZE", "ARRIVED", "TRIES", "REASON"],
          [[e.id, e.received_at, e.status, e.company or "-", e.envelope_from or "<>", e.size, e.arrivals, e.attempts,
            e.reason.splitlines()[0][:80] if e.reason else ""] for e in entries],
          empty="The quarantine is empty.")


@quarantine.command("replay")
@click.argument("entry_id", type=int, metavar="ID")
@json_option
@pass_app
def replay(app: App, entry_id: int, as_json: bool) -> None:
    """File entry ID the way live delivery does; a message stored before is not stored twice."""
    from gateway.services import quarantine as service

    async def work(db: Database) -> Replayed:
        try:
            return await service.replay(db, entry_id)
        except service.QuarantineError as error:
            raise click.ClickException(str(error)) from None

    replayed = with_db(app, work)
    if as_json:
        emit_json(replayed)
        return
    how = "stored as" if replayed.created else "already stored as"
    echo(f"Replayed quarantine entry {replayed.entry_id}: {how} message {replayed.message_pk} "
               f"({replayed.links_added} links added)")


@quarantine.command("discard")
@click.argument("entry_id", type=int, metavar="ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def discard(app: App, entry_id: int, yes: bool) -> None:
    """Delete entry ID and its raw message for good (after asking, unless --yes)."""
    if not yes:
        click.confirm(f"Delete quarantined message {entry_id} for good?", abort=True)
    from gateway.services import quarantine as service

    async def work(db: Database) -> None:
        try:
            await service.discard(db, entry_id)
        except service.QuarantineError as error:
            raise click.ClickException(str(error)) from None

    with_db(app, work)
    echo(f"Discarded quarantine entry {entry_id}")
