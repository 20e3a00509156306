"""`smartbcc company add|list|show`."""

from __future__ import annotations

import click

from gateway.commands.output import App, echo, emit_json, json_option, jsonable, lines, pass_app, table, with_db
from gateway.services import companies


@click.group()
def company() -> None:
    """Companies: each has its own domain and company-wide Bcc address."""


@company.command("add")
@click.argument("name")
@click.option("--domain", required=True, help="The company's own mail domain, e.g. acme.com.")
@json_option
@pass_app
def add(app: App, name: str, domain: str, as_json: bool) -> None:
    """Add a company; its Bcc address is derived from DOMAIN (acme.com -> acme@<mail domain>)."""
    view = with_db(app, lambda db: companies.add_company(db, name, domain))
    if as_json:
        emit_json(view)
        return
    echo(f"Added company {view.name!r} ({view.domain}), slug {view.slug}, id {view.id}")
    echo(f"Bcc address: {view.address}")


@company.command("list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the companies."""
    views = with_db(app, companies.list_companies)
    if as_json:
        emit_json(views)
        return
    table(["ID", "SLUG", "NAME", "DOMAIN", "ADDRESS", "MODE"],
          [[v.id, v.slug, v.name, v.domain, v.address, v.crm_mode] for v in views],
          empty="No companies yet: add one with `smartbcc company add NAME --domain DOMAIN`.")


@company.command("show")
@click.argument("slug")
@json_option
@pass_app
def show(app: App, slug: str, as_json: bool) -> None:
    """Show a company with the number of its users, contacts, deals and messages."""
    details = with_db(app, lambda db: companies.company_details(db, slug))
    if as_json:
        emit_json({**jsonable(details.company), "counts": details.counts})
        return
    view = details.company
    lines([("id", view.id), ("name", view.name), ("slug", view.slug), ("domain", view.domain),
           ("address", view.address), ("crm mode", view.crm_mode), ("created", view.created_at),
           *details.counts.items()])



@company.command("set-domain")
@click.argument("slug")
@click.argument("new_domain")
@click.option("--grace-days", type=int, help="How long the old address keeps working (default: the "
                                             "deployment's address_grace_days, 30).")
@json_option
@pass_app
def set_domain(app: App, slug: str, new_domain: str, grace_days: int | None, as_json: bool) -> None:
    """Change SLUG's domain, and so its company address; the old address keeps working for a while."""
    change = with_db(app, lambda db: companies.change_domain(db, slug, new_domain, grace_days))
    if as_json:
        emit_json(change)
        return
    echo(f"Company {change.company.slug}: domain {change.company.domain}, address {change.company.address}")
    if change.former_address:
        echo(f"The old address {change.former_address} is accepted until "
                   f"{change.former_expires_at:%Y-%m-%d %H:%M} UTC; per-record addresses follow the new one.")
    else:
        echo("The company address is unchanged.")
