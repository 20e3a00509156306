"""`smartbcc web` (serve the web mailbox) and `smartbcc token create|list|revoke` (JSON API tokens)."""

from __future__ import annotations

import asyncio
import errno

import click

from gateway.commands.output import App, echo, emit_json, json_option, pass_app, table, user_errors, with_db


@click.command()
@click.option("--host", help="Address to listen on (default from settings: web_host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port to listen on (default web_port, 8025).")
@pass_app
def web(app: App, host: str | None, port: int | None) -> None:
    """Serve the web mailbox and its JSON API until SIGTERM or Ctrl-C."""
    from gateway.server import configure_logging
    from gateway.web import server

    changes = {k: v for k, v in {"web_host": host, "web_port": port}.items() if v is not None}
    settings = app.settings.replace(**changes)
    configure_logging(settings.log_level)
    with user_errors(app):
        try:
            asyncio.run(server.run(settings))
        except OSError as error:
            if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL, errno.EPERM):
                raise
            raise click.ClickException(f"cannot listen on {settings.web_host}:{settings.web_port}: "
                                       f"{error.strerror or error}") from None


@click.group()
def token() -> None:
    """Personal access tokens for the JSON API (Authorization: Bearer <token>)."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, to recognize it in `token list`.")
@json_option
@pass_app
def create(app: App, email: str, name: str, as_json: bool) -> None:
    """Make a token for the user EMAIL; it is shown once, only its hash is kept."""
    from gateway.services import web_auth

    view, secret = with_db(app, lambda db: web_auth.create_token(db, email, name))
    if as_json:
        emit_json({"id": view.id, "user": view.user, "name": view.name, "token": secret})
        return
    echo(f"Token {view.id} for {view.user} (shown once, keep it safe):\n{secret}")


@token.command("list")
@click.argument("email", required=False)
@json_option
@pass_app
def list_(app: App, email: str | None, as_json: bool) -> None:
    """List tokens (of one user with EMAIL); never their secrets."""
    from gateway.services import web_auth

    views = with_db(app, lambda db: web_auth.list_tokens(db, email))
    if as_json:
        emit_json(views)
        return
    table(["ID", "USER", "NAME", "CREATED", "LAST USED", "REVOKED"],
          [[v.id, v.user, v.name, v.created_at, v.last_used_at, v.revoked_at] for v in views])


@token.command("revoke")
@click.argument("token_id", type=int)
@json_option
@pass_app
def revoke(app: App, token_id: int, as_json: bool) -> None:
    """Revoke a token by its id: it stops working at once."""
    from gateway.services import web_auth

    view = with_db(app, lambda db: web_auth.revoke_token(db, token_id))
    if as_json:
        emit_json(view)
        return
    echo(f"Token {view.id} of {view.user} is revoked")
