"""The `smartbcc` admin command line: thin commands over ``gateway.services``.

Global options (before the command) choose the deployment; each also reads SMARTBCC_* variables and
an optional TOML file. Every command takes ``--json``.
"""

from __future__ import annotations

import click

from gateway.commands.activities import activity
from gateway.commands.aliases import alias
from gateway.commands.output import App, SafeGroup
from gateway.commands.backup import backup, restore
from gateway.commands.companies import company
from gateway.commands.deployment import init, serve
from gateway.commands.doctor import doctor
from gateway.commands.documents import DOCUMENT_GROUPS
from gateway.commands.mailboxes import mailbox
from gateway.commands.messages import messages
from gateway.commands.notifications import notifications
from gateway.commands.quarantine import quarantine
from gateway.commands.permissions import permission
from gateway.commands.records import RECORD_GROUPS
from gateway.commands.review import review_group
from gateway.commands.routes import routes
from gateway.commands.sending import recipients, record_email, send
from gateway.commands.users import user
from gateway.commands.web import token, web


@click.group(cls=SafeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", metavar="FILE", help="TOML settings file (or SMARTBCC_CONFIG).")
@click.option("--data-dir", metavar="DIR", help="Folder of the embedded SQLite database (SMARTBCC_DATA_DIR).")
@click.option("--database-url", metavar="URL",
              help="postgresql://user@host/db or sqlite:///path; empty: SQLite in the data folder.")
@click.option("--mail-domain", metavar="DOMAIN", help="The gateway's mail domain (SMARTBCC_MAIL_DOMAIN).")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, data_dir: str | None, database_url: str | None,
        mail_domain: str | None) -> None:
    """smartbcc: the Smart-Bcc gateway's admin commands.

    Start with `smartbcc init`, then `company add`, `user add`, and `serve`.
    """
    ctx.obj = App(config_file, {"data_dir": data_dir, "database_url": database_url, "mail_domain": mail_domain})


for command in (init, serve, company, user, alias, *RECORD_GROUPS, messages, routes, review_group, recipients,
                send, record_email, activity, permission, *DOCUMENT_GROUPS, quarantine, mailbox,
                notifications):
    cli.add_command(command)
cli.add_command(web)
cli.add_command(token)
cli.add_command(doctor)
cli.add_command(backup)
cli.add_command(restore)


def main() -> None:
    cli(prog_name="smartbcc")


if __name__ == "__main__":    # `python -m gateway.cli`, the same as the console script
    main()
