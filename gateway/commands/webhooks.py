"""`smartbcc webhook add|list|remove|enable|disable|deliveries|replay|test`: companies' webhook endpoints and
the outbox of their deliveries (docs/WEBHOOKS.md). `smartbcc serve` sends the outbox."""

from __future__ import annotations

import click

from gateway.commands.output import App, choice, echo, emit_json, json_option, jsonable, pass_app, table, with_db
from gateway.services import webhooks as service
from gateway.services.webhook_sender import Attempt, Sender, lease
from gateway.store.database import Database
from gateway.store.outbox import EVENTS


@click.group("webhook")
def webhook() -> None:
    """Webhooks: URLs of a company's that hear of filed mail, new contacts, review items and bounces."""


def _endpoint_row(view: service.EndpointView) -> list[object]:
    return [view.id, view.company, view.url, ",".join(view.events), view.active, view.pending, view.dead]


@webhook.command("add")
@click.argument("url")
@click.option("--company", "company_slug", required=True, metavar="SLUG", help="The company whose events it hears.")
@click.option("--event", "events", multiple=True, type=choice(EVENTS),
              help="An event it wants (repeat the option); all of them when none is given.")
@json_option
@pass_app
def add(app: App, url: str, company_slug: str, events: tuple[str, ...], as_json: bool) -> None:
    """Add an endpoint: the company's events are POSTed to URL, signed with a secret printed now, once."""
    made = with_db(app, lambda db: service.add_endpoint(db, app.settings, company_slug, url, list(events)))
    if as_json:
        emit_json({**jsonable(made.endpoint), "secret": made.secret})
        return
    echo(f"Added webhook endpoint {made.endpoint.id} for {made.endpoint.company}: {made.endpoint.url}")
    echo(f"Events: {', '.join(made.endpoint.events)}")
    echo(f"Signing secret (shown only now; verify the Smartbcc-Signature header with it): {made.secret}")


@webhook.command("list")
@click.option("--company", "company_slug", metavar="SLUG", help="Only this company's endpoints.")
@json_option
@pass_app
def list_(app: App, company_slug: str | None, as_json: bool) -> None:
    """List endpoints, with their deliveries waiting (PENDING) and dead."""
    views = with_db(app, lambda db: service.list_endpoints(db, company_slug))
    if as_json:
        emit_json(views)
        return
    table(["ID", "COMPANY", "URL", "EVENTS", "ACTIVE", "PENDING", "DEAD"], [_endpoint_row(v) for v in views],
          empty="No webhook endpoints.")


@webhook.command("remove")
@click.argument("endpoint_id", type=int)
@json_option
@pass_app
def remove(app: App, endpoint_id: int, as_json: bool) -> None:
    """Remove an endpoint, with its deliveries (those waiting too)."""
    view = with_db(app, lambda db: service.remove_endpoint(db, endpoint_id))
    if as_json:
        emit_json(view)
        return
    echo(f"Removed webhook endpoint {view.id} ({view.url}).")


def _set_active(app: App, endpoint_id: int, active: bool, as_json: bool) -> None:
    view = with_db(app, lambda db: service.set_active(db, endpoint_id, active))
    if as_json:
        emit_json(view)
        return
    echo(f"Webhook endpoint {view.id} is {'active' if active else 'inactive'}.")


@webhook.command("enable")
@click.argument("endpoint_id", type=int)
@json_option
@pass_app
def enable(app: App, endpoint_id: int, as_json: bool) -> None:
    """Make an endpoint active again: it gets new events, and those waiting are sent."""
    _set_active(app, endpoint_id, True, as_json)


@webhook.command("disable")
@click.argument("endpoint_id", type=int)
@json_option
@pass_app
def disable(app: App, endpoint_id: int, as_json: bool) -> None:
    """Make an endpoint inactive: it gets no new events; those waiting wait until it is enabled."""
    _set_active(app, endpoint_id, False, as_json)


@webhook.command("deliveries")
@click.option("--dead", "state", flag_value="dead", help="Only dead deliveries (their attempts ran out).")
@click.option("--pending", "state", flag_value="pending", help="Only deliveries waiting to be sent.")
@click.option("--delivered", "state", flag_value="delivered", help="Only delivered ones.")
@click.option("--endpoint", "endpoint_id", type=int, metavar="ID", help="Only this endpoint's.")
@click.option("--company", "company_slug", metavar="SLUG", help="Only this company's.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True, help="How many, newest first.")
@json_option
@pass_app
def deliveries(app: App, state: str | None, endpoint_id: int | None, company_slug: str | None, limit: int,
               as_json: bool) -> None:
    """List deliveries of the outbox, newest first: their state, attempts and last error."""
    views = with_db(app, lambda db: service.deliveries(db, state=state, endpoint_id=endpoint_id,
                                                       company_slug=company_slug, limit=limit))
    if as_json:
        emit_json(views)
        return
    table(["ID", "ENDPOINT", "EVENT", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "LAST STATUS", "LAST ERROR"],
          [[v.id, v.endpoint_id, v.event, v.state, v.attempts, v.next_attempt_at, v.last_status,
            v.last_error or "-"] for v in views], empty="No webhook deliveries.")


@webhook.command("replay")
@click.argument("delivery_ids", type=int, nargs=-1)
@click.option("--all-dead", is_flag=True, help="Every dead delivery (of --endpoint, when given).")
@click.option("--endpoint", "endpoint_id", type=int, metavar="ID", help="With --all-dead: only this endpoint's.")
@json_option
@pass_app
def replay(app: App, delivery_ids: tuple[int, ...], all_dead: bool, endpoint_id: int | None, as_json: bool) -> None:
    """Send deliveries again (dead or delivered ones), from their first attempt, with the same delivery id."""
    if bool(delivery_ids) == all_dead:
        raise click.UsageError("name the DELIVERY_IDS to send again, or give --all-dead")
    if endpoint_id is not None and not all_dead:
        raise click.UsageError("--endpoint goes with --all-dead")
    count = with_db(app, lambda db: service.replay(db, list(delivery_ids) if delivery_ids else None,
                                                   endpoint_id=endpoint_id))
    if as_json:
        emit_json({"replayed": count})
        return
    echo(f"{count} deliver{'y' if count == 1 else 'ies'} queued again; `smartbcc serve` sends "
         f"{'it' if count == 1 else 'them'}.")


@webhook.command("test")
@click.argument("endpoint_id", type=int)
@json_option
@pass_app
def test(app: App, endpoint_id: int, as_json: bool) -> None:
    """Send a ping event to an endpoint now, from here, and say how it answered (a failed ping is retried
    by `smartbcc serve` like any delivery)."""
    async def work(db: Database) -> list[Attempt]:
        delivery = await service.ping(db, endpoint_id, hold=lease(app.settings))
        sender = Sender(db, app.settings)
        try:
            return await sender.round(only=delivery)
        finally:
            await sender.close()
    outcomes = with_db(app, work)
    if as_json:
        emit_json(outcomes)
    elif not outcomes:
        echo("The ping was queued; `smartbcc serve` sends it.")
    for outcome in [] if as_json else outcomes:
        why = f", {outcome.error}" if outcome.error else ""
        echo(f"Ping delivery {outcome.delivery_id}: {outcome.state} (HTTP status {outcome.status or '-'}{why})")
    if any(outcome.state != "delivered" for outcome in outcomes):     # not answered 2xx: exit 1
        raise click.exceptions.Exit(1)
