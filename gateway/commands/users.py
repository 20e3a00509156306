"""`smartbcc user add|list|activate|deactivate|set|set-role|set-password`."""

from __future__ import annotations

from typing import IO, Callable

import click

from gateway.commands.output import App, echo, emit_json, json_option, lines, pass_app, table, with_db
from gateway.crm.kinds import ROLES, VISIBILITIES


@click.group()
def user() -> None:
    """Users: the people whose mail the gateway accepts, by their login address."""


@user.command("add")
@click.argument("email")
@click.option("--company", "company_slug", required=True, metavar="SLUG", help="The user's company.")
@click.option("--name", default="", help="Full name.")
@json_option
@pass_app
def add(app: App, email: str, company_slug: str, name: str, as_json: bool) -> None:
    """Add a user with login address EMAIL (unique in the deployment)."""
    from gateway.services import users

    view = with_db(app, lambda db: users.add_user(db, email, company_slug, name))
    if as_json:
        emit_json(view)
        return
    echo(f"Added user {view.email} (id {view.id}) to company {view.company}")


@user.command("list")
@click.option("--company", "company_slug", metavar="SLUG", help="Only this company's users.")
@json_option
@pass_app
def list_(app: App, company_slug: str | None, as_json: bool) -> None:
    """List users."""
    from gateway.services import users

    views = with_db(app, lambda db: users.list_users(db, company_slug))
    if as_json:
        emit_json(views)
        return
    table(["ID", "EMAIL", "NAME", "COMPANY", "ROLE", "ACTIVE"],
          [[v.id, v.email, v.name, v.company, v.role, v.active] for v in views])


def _set_active(active: bool) -> Callable[..., None]:
    @click.argument("email")
    @json_option
    @pass_app
    def command(app: App, email: str, as_json: bool) -> None:
        from gateway.services import users

        view = with_db(app, lambda db: users.set_user_active(db, email, active))
        if as_json:
            emit_json(view)
            return
        echo(f"User {view.email} is now {'active' if view.active else 'inactive'}")
    return command


user.command("activate", help="Let the user's mail in again.")(_set_active(True))
user.command("deactivate", help="Refuse the user's mail from now on; their records and messages stay.")(
    _set_active(False))


@user.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@json_option
@pass_app
def set_role(app: App, email: str, role: str, as_json: bool) -> None:
    """Make EMAIL an admin of their company (company settings on the web) or a member."""
    from gateway.services import users

    view = with_db(app, lambda db: users.set_role(db, email, role))
    if as_json:
        emit_json(view)
        return
    echo(f"User {view.email} is now {'an admin' if view.role == 'admin' else 'a member'} of {view.company}")


@user.command("set-password")
@click.argument("email")
@click.option("--password-file", type=click.File("r"), metavar="FILE",
              help="Read the password from the first line of FILE ('-': standard input) instead of a prompt.")
@json_option
@pass_app
def set_password(app: App, email: str, password_file: IO[str] | None, as_json: bool) -> None:
    """Set the web mailbox password of the user EMAIL (kept as an argon2 hash); their sessions end."""
    from gateway.services import web_auth

    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    address = with_db(app, lambda db: web_auth.set_password(db, email, password))
    if as_json:
        emit_json({"email": address, "password": "set"})
        return
    echo(f"Password set for {address}")


@user.command("set")
@click.argument("email")
@click.option("--auto-link/--no-auto-link", default=None, help="Link a contact's only open deal automatically.")
@click.option("--default-sharing", type=click.Choice(VISIBILITIES),
              help="Visibility stamped on mail received from now on.")
@json_option
@pass_app
def user_set(app: App, email: str, auto_link: bool | None, default_sharing: str | None, as_json: bool) -> None:
    """Change a user's filing preferences."""
    from gateway.services import preferences

    view = with_db(app, lambda db: preferences.set_user(db, email, auto_link=auto_link,
                                                        default_visibility=default_sharing))
    if as_json:
        emit_json(view)
        return
    lines([("user", view.email), ("auto-link", view.auto_link), ("default sharing", view.default_visibility)])
