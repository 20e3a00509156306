"""`smartbcc doctor`: check the deployment and say what to fix."""

from __future__ import annotations

import asyncio

import click

from gateway.commands.output import App, echo, emit_json, json_option, pass_app, user_errors
from gateway.ops.doctor import examine, failed


@click.command()
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@json_option
@pass_app
def doctor(app: App, strict: bool, as_json: bool) -> None:
    """Check the deployment: DNS (MX, outbound SPF), TLS certificate, smarthost, database, disk, ports.

    Each check is ok, warning or error, with what to fix. Exits 0 when there is no error (with
    --strict: no warning either), else 1.
    """
    settings = app.settings
    with user_errors(app):
        findings = asyncio.run(examine(settings))
    bad = failed(findings, strict)
    if as_json:
        emit_json({"ok": not bad, "checks": [f.as_dict() for f in findings]})
    else:
        width = max(len(f.check) for f in findings)
        for f in findings:
            echo(f"{f.status:<8} {f.check:<{width}}  {f.detail}")
            if f.fix:
                echo(f"{'':<8} {'':<{width}}  fix: {f.fix}")
        counts = {status: sum(f.status == status for f in findings) for status in ("error", "warning")}
        echo(f"{counts['error']} error(s), {counts['warning']} warning(s)")
    if bad:
        raise SystemExit(1)
