"""`smartbcc backup FILE` and `smartbcc restore FILE`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from gateway.commands.output import App, emit_json, json_option, lines, pass_app, user_errors
from gateway.services import backup as backups


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@json_option
@pass_app
def backup(app: App, file: Path, force: bool, as_json: bool) -> None:
    """Copy the embedded database to FILE, consistent even while the gateway runs.

    On PostgreSQL, says the pg_dump command to use instead (and exits 1).
    """
    with user_errors(app):
        made = backups.backup(app.settings, file, force)
    if as_json:
        emit_json(made)
        return
    lines([("backup", made.file), ("schema", made.revision), ("messages", made.messages),
           ("size", f"{made.size} bytes")])
    if made.key_file:
        lines([("not in it", f"{made.key_file}, the key of connected mailboxes' passwords: keep a copy "
                              f"apart from the backup")])


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
@json_option
@pass_app
def restore(app: App, file: Path, force: bool, as_json: bool) -> None:
    """Make the backup FILE the embedded database (stop `serve` and `web` first), migrated to this version.

    Refuses a database that holds data unless --force. On PostgreSQL, says the pg_restore command.
    """
    with user_errors(app):
        done = asyncio.run(backups.restore(app.settings, file, force))
    if as_json:
        emit_json(done)
        return
    schema = done.revision if done.revision == done.revision_before else \
        f"{done.revision} (upgraded from {done.revision_before})"
    lines([("restored", done.file), ("schema", schema), ("messages", done.messages)])
    if done.key_file:
        lines([("missing", f"{done.key_file}: put back the copy kept with the backup, or connected mailboxes "
                           f"must be connected again")])
