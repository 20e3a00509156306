"""`smartbcc routes test ADDRESS`: which routing rule an address hits, and what the server would answer."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from gateway.commands.output import (
    App, database_reason, emit_json, is_user_error, json_option, lines, pass_app, user_errors,
)

if TYPE_CHECKING:
    from gateway.services.routes import RouteExplanation


@click.group()
def routes() -> None:
    """The routing table."""


async def _explain(app: App, address: str) -> RouteExplanation:
    from gateway.services.routes import explain_route
    from gateway.store.database import Database

    settings = app.settings
    try:
        db = await Database.open(settings)
    except Exception as error:  # noqa: BLE001 - the pure decision is still worth showing
        note = (f"database not checked: {error}" if is_user_error(error)
                else f"database not reachable: {database_reason(error)}")
        return await explain_route(address, settings.mail_domain, None, note)
    try:
        return await explain_route(address, settings.mail_domain, db)
    finally:
        await db.close()


@routes.command("test")
@click.argument("address")
@json_option
@pass_app
def test(app: App, address: str, as_json: bool) -> None:
    """Explain how the gateway routes ADDRESS (a RCPT TO address)."""
    with user_errors(app):
        found = asyncio.run(_explain(app, address))
    if as_json:
        emit_json(found)
        return
    pairs: list[tuple[str, object]] = [("address", found.address), ("rule", found.rule),
                                       ("target", found.target), ("reason", found.reason)]
    if found.reply:
        pairs.append(("reply", found.reply))
    if found.slug:
        pairs.append(("company slug", found.slug))
    if found.kind:
        pairs += [("record", f"{found.kind} {found.record_id}"), ("token", found.token)]
    if found.database_checked:
        pairs.append(("company", found.company or "not found"))
        if found.former_slug:
            pairs.append(("former address", "yes, still in its grace period"))
        if found.record_exists is not None:
            pairs.append(("record exists", found.record_exists))
        if found.token_current is not None:
            pairs.append(("token current", found.token_current))
    elif found.database_note:
        pairs.append(("database", found.database_note))
    pairs.append(("verdict", found.verdict))
    if found.final_reply:
        pairs.append(("RCPT TO reply", found.final_reply))
    lines(pairs)
