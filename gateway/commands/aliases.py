"""`smartbcc alias add|list|revoke|verify|resend`: alternate sender addresses."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from gateway.commands.output import App, echo, emit_json, json_option, pass_app, table, with_db

if TYPE_CHECKING:
    from gateway.services.aliases import AliasView

_CODE = re.compile(r"\A\s*\d{4}-?\d{4}\s*\Z")
company_option = click.option("--company", "company_slug", metavar="SLUG",
                              help="The company, when the address is an alternate in several.")


def _report(view: AliasView, as_json: bool, done: str) -> None:
    if as_json:
        emit_json(view)
        return
    echo(f"{view.email} ({view.user}, company {view.company}): {done}, now {view.status}")
    if view.confirmation:
        echo(f"Confirmation mail: {view.confirmation}")


@click.group()
def alias() -> None:
    """Alternate addresses a user sends from; only verified ones authorize mail."""


@alias.command("add")
@click.argument("user_email")
@click.argument("alt_email")
@click.option("--no-mail", is_flag=True, help="Do not send the confirmation mail now.")
@json_option
@pass_app
def add(app: App, user_email: str, alt_email: str, no_mail: bool, as_json: bool) -> None:
    """Add ALT_EMAIL as a pending alternate address of the user USER_EMAIL.

    A confirmation mail with a code goes to ALT_EMAIL when a smarthost is configured.
    """
    from gateway.services import aliases

    view = with_db(app, lambda db: aliases.add_alias(db, user_email, alt_email, send_mail=not no_mail))
    _report(view, as_json, "added")
    unsent = not no_mail and not view.confirmation.startswith("sent")
    if not as_json and view.status == "pending":
        how = (f"once mail can go out: `smartbcc alias resend {view.email}`" if unsent
               else "with the code from that mail: `smartbcc alias verify CODE`")
        echo(f"Until verified, mail from it is refused. Verify {how}; "
                   f"or as an admin, without a code: `smartbcc alias verify --force {view.email}`")
    if unsent:
        raise click.ClickException(f"the confirmation mail to {view.email} was {view.confirmation}; "
                                   f"fix that, then `smartbcc alias resend {view.email}`")


@alias.command("list")
@click.option("--company", "company_slug", metavar="SLUG", help="Only this company's alternates.")
@click.option("--user", "user_email", metavar="EMAIL", help="Only this user's alternates.")
@json_option
@pass_app
def list_(app: App, company_slug: str | None, user_email: str | None, as_json: bool) -> None:
    """List alternate addresses with their status (pending, expired, verified, revoked)."""
    from gateway.services import aliases

    views = with_db(app, lambda db: aliases.list_aliases(db, company_slug, user_email))
    if as_json:
        emit_json(views)
        return
    table(["ID", "ADDRESS", "USER", "COMPANY", "STATUS", "ADDED", "VERIFIED"],
          [[v.id, v.email, v.user, v.company, v.status, v.created_at, v.verified_at] for v in views])


@alias.command("revoke")
@click.argument("alt_email")
@company_option
@json_option
@pass_app
def revoke(app: App, alt_email: str, company_slug: str | None, as_json: bool) -> None:
    """Revoke an alternate address: mail from it is refused from now on."""
    from gateway.services import aliases

    view = with_db(app, lambda db: aliases.revoke_alias(db, alt_email, company_slug))
    _report(view, as_json, "revoked")


@alias.command("verify")
@click.argument("code_or_email")
@click.option("--force", is_flag=True, help="Admin override: verify the address ALT_EMAIL without a code.")
@company_option
@json_option
@pass_app
def verify(app: App, code_or_email: str, force: bool, company_slug: str | None, as_json: bool) -> None:
    """Verify an alternate address: `verify CODE` with the code from its confirmation mail, or
    `verify --force ALT_EMAIL` as an admin override."""
    from gateway.services import aliases

    if force:
        view = with_db(app, lambda db: aliases.force_verify_alias(db, code_or_email, company_slug))
    elif _CODE.match(code_or_email):
        view = with_db(app, lambda db: aliases.verify_alias_code(db, code_or_email.strip()))
    else:
        raise click.UsageError(
            "verifying by code comes with the confirmation mail: `smartbcc alias verify CODE` with the code it "
            f"carries (`smartbcc alias resend {code_or_email}` sends a new one); to verify {code_or_email} by "
            f"hand as an admin, use the override: `smartbcc alias verify --force {code_or_email}`")
    _report(view, as_json, "verified")


@alias.command("resend")
@click.argument("alt_email")
@company_option
@json_option
@pass_app
def resend(app: App, alt_email: str, company_slug: str | None, as_json: bool) -> None:
    """Send a pending (or expired) alternate address a new confirmation code."""
    from gateway.services import aliases

    view = with_db(app, lambda db: aliases.resend_confirmation(db, alt_email, company_slug))
    _report(view, as_json, "confirmation sent")
