"""`smartbcc permission set|list`: what a user may view and edit, per kind of record."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.commands.output import App, choice, emit_json, json_option, pass_app, table, with_db
from gateway.crm.recipients import LEVELS, NOUNS, SENDING_KINDS

if TYPE_CHECKING:
    from gateway.services.permissions import UserRights


@click.group()
def permission() -> None:
    """Access rights: view and edit, each none / own (the user's records) / all. Default: all / all.

    Sending from a record needs edit rights on it; contacts and companies the sender may not view
    show as hidden and cannot be mailed.
    """


def _print(view: UserRights) -> None:
    table(["KIND", "VIEW", "EDIT", ""],
          [[f"{r.kind} ({NOUNS[r.kind]})", r.view, r.edit, "(default)" if r.default else ""] for r in view.rights])


@permission.command("set")
@click.argument("email", metavar="USER_EMAIL")
@click.argument("kind", type=choice((*SENDING_KINDS, "all")), metavar="KIND")
@click.option("--view", type=click.Choice(LEVELS), help="Which records of KIND the user may see.")
@click.option("--edit", type=click.Choice(LEVELS), help="Which records of KIND the user may change and send from.")
@json_option
@pass_app
def set_(app: App, email: str, kind: str, view: str | None, edit: str | None, as_json: bool) -> None:
    """Set USER_EMAIL's rights on KIND (lead, person, org, deal, project, invoice, quote, smart, or all)."""
    if view is None and edit is None:
        raise click.UsageError("say what changes: --view and/or --edit (none, own or all)")
    from gateway.services import permissions as service

    rights = with_db(app, lambda db: service.set_rights(db, email, kind, view=view, edit=edit))
    emit_json(rights) if as_json else _print(rights)


@permission.command("list")
@click.argument("email", metavar="USER_EMAIL")
@json_option
@pass_app
def list_(app: App, email: str, as_json: bool) -> None:
    """USER_EMAIL's rights on every kind of record."""
    from gateway.services import permissions as service

    rights = with_db(app, lambda db: service.list_rights(db, email))
    emit_json(rights) if as_json else _print(rights)
