"""`smartbcc init` and `smartbcc serve`."""

from __future__ import annotations

import asyncio
import errno

import click

from gateway.config import Settings
from gateway.commands.output import App, emit_json, json_option, lines, pass_app, user_errors


_LISTEN_ERRORS = {errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL, errno.EPERM}


@click.command()
@json_option
@pass_app
def init(app: App, as_json: bool) -> None:
    """Create the database schema, or bring it up to date (safe to run again)."""
    from gateway.services.deployment import initialize_database
    from gateway.store.engine import sqlite_file

    settings = app.settings
    with user_errors(app):
        path = sqlite_file(settings)
        result = asyncio.run(initialize_database(settings))
    if as_json:
        emit_json({"database": result.database, "path": str(path) if path else None,
                   "mail_domain": settings.mail_domain,
                   "revision_before": result.before, "revision": result.after, "state": result.state})
        return
    lines([("database", str(path) if path else result.database), ("mail domain", settings.mail_domain),
           ("schema", f"{result.after} ({result.state})")])


@click.command()
@click.option("--host", help="Address(es) to listen on (default from settings: 127.0.0.1; \"0.0.0.0,::\": IPv4 and IPv6).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port to listen on (default 2525; 25 as the MX).")
@click.option("--metrics-port", type=click.IntRange(0, 65535),
              help="HTTP port for /metrics, /healthz and /readyz on metrics_host (default 0: none).")
@click.option("--workers", type=click.IntRange(0), help="Serving processes on the one port (default from "
              "settings: 0, one per core; 1: a single process).")
@pass_app
def serve(app: App, host: str | None, port: int | None, metrics_port: int | None, workers: int | None) -> None:
    """Run the SMTP gateway until SIGTERM or Ctrl-C."""
    settings = app.settings
    changes = {k: v for k, v in {"host": host, "port": port, "metrics_port": metrics_port,
                                 "workers": workers}.items() if v is not None}
    settings = settings.replace(**changes)
    with user_errors(app):
        try:
            _serve(settings)
        except OSError as error:
            if error.errno not in _LISTEN_ERRORS:
                raise
            where = f"{changes.get('host', settings.host)}:{changes.get('port', settings.port)}"
            raise click.ClickException(f"cannot listen on {where}: {error.strerror or error}") from None


def _serve(settings: Settings) -> None:
    """One process, or a supervisor and its workers (gateway.supervisor)."""
    from gateway import supervisor

    count = supervisor.worker_count(settings.workers)
    if count == 1:
        import gateway.server

        asyncio.run(gateway.server.run(settings))
        return
    try:
        supervisor.serve(settings, count)
    except supervisor.WorkerFailed as error:
        raise click.ClickException(str(error)) from None
