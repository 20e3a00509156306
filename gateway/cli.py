"""The `smartbcc` admin command line: thin commands over ``gateway.services``.

Global options (before the command) choose the deployment; each also reads SMARTBCC_* variables and
an optional TOML file. Every command takes ``--json``.
"""

from __future__ import annotations

import click

from gateway.commands.lazy import Entry, LazyGroup
from gateway.commands.output import App

# Every command: its name, where it is defined ("module:attribute", or a sequence of commands from which
# the one of that name is taken) and its one-line help, the same as its own (tests/cli/test_cli_lazy.py
# checks both). `smartbcc --help` and shell completion read this table and import no command module;
# a command's module is imported only when it runs, so every command starts quickly. Adding a command is
# one line here. Keep the module light at import: import services, the store and the web app inside the
# functions that use them.
COMMANDS: dict[str, Entry] = {
    "init": Entry("gateway.commands.deployment:init",
                  "Create the database schema, or bring it up to date (safe to run again)."),
    "serve": Entry("gateway.commands.deployment:serve", "Run the SMTP gateway until SIGTERM or Ctrl-C."),
    "web": Entry("gateway.commands.web:web", "Serve the web mailbox and its JSON API until SIGTERM or Ctrl-C."),
    "token": Entry("gateway.commands.web:token",
                   "Personal access tokens for the JSON API (Authorization: Bearer <token>)."),
    "company": Entry("gateway.commands.companies:company",
                     "Companies: each has its own domain and company-wide Bcc address."),
    "user": Entry("gateway.commands.users:user",
                  "Users: the people whose mail the gateway accepts, by their login address."),
    "alias": Entry("gateway.commands.aliases:alias",
                   "Alternate addresses a user sends from; only verified ones authorize mail."),
    "person": Entry("gateway.commands.records:RECORD_GROUPS", "Contacts, each with a Bcc address of its own."),
    "org": Entry("gateway.commands.records:RECORD_GROUPS", "Organizations, each with a Bcc address of its own."),
    "lead": Entry("gateway.commands.records:RECORD_GROUPS", "Leads, each with a Bcc address of its own."),
    "deal": Entry("gateway.commands.records:RECORD_GROUPS", "Deals, each with a Bcc address of its own."),
    "project": Entry("gateway.commands.records:RECORD_GROUPS", "Projects, each with a Bcc address of its own."),
    "record": Entry("gateway.commands.records:record_any",
                    "Any kind of record, named by its kind: `record set-owner deal 7 EMAIL`."),
    "invoice": Entry("gateway.commands.documents:DOCUMENT_GROUPS",
                     "Invoices: a title, a contact and a company; mail sent from one is linked to it."),
    "quote": Entry("gateway.commands.documents:DOCUMENT_GROUPS",
                   "Quotes: a title, a contact and a company; mail sent from one is linked to it."),
    "smart": Entry("gateway.commands.documents:DOCUMENT_GROUPS",
                   "Smart processes: a title, a contact and a company; mail sent from one is linked to it."),
    "messages": Entry("gateway.commands.messages:messages",
                      "Stored messages: what was received, where it was filed, and the raw bytes."),
    "routes": Entry("gateway.commands.routes:routes", "The routing table."),
    "review": Entry("gateway.commands.review:review_group",
                    "The review queue: messages whose contact has several open deals (or leads, projects)."),
    "recipients": Entry("gateway.commands.sending:recipients",
                        "Who may receive mail sent from a record (KIND: lead, person, org, deal, project, "
                        "invoice, quote, smart), by Bitrix24's rules: the record's own addresses and its "
                        "contact's and company's."),
    "send": Entry("gateway.commands.sending:send",
                  "Send mail from a record through the smarthost; it is stored and linked like a Bcc'd message, "
                  "and its bounces come back to it."),
    "record-email": Entry("gateway.commands.sending:record_email",
                          "The addresses of a lead, contact (person) or organization (org), besides its own "
                          "email field."),
    "activity": Entry("gateway.commands.activities:activity",
                      "Activities on records; switching to simple CRM mode moves or completes a lead's planned "
                      "ones."),
    "permission": Entry("gateway.commands.permissions:permission",
                        "Access rights: view and edit, each none / own (the user's records) / all."),
    "quarantine": Entry("gateway.commands.quarantine:quarantine",
                        "Messages that were accepted (250) but could not be filed: kept raw until replayed."),
    "mailbox": Entry("gateway.commands.mailboxes:mailbox",
                     "Connected mailboxes: a user's IMAP mailbox synced into smartbcc and filed like Bcc'd mail."),
    "notifications": Entry("gateway.commands.notifications:notifications",
                           "Notifications: overdue tasks and the daily mail digest."),
    "webhook": Entry("gateway.commands.webhooks:webhook",
                     "Webhooks: URLs of a company's that hear of filed mail, new contacts, review items and "
                     "bounces."),
    "doctor": Entry("gateway.commands.doctor:doctor",
                    "Check the deployment: DNS (MX, outbound SPF), TLS certificate, smarthost, database, disk, "
                    "ports."),
    "backup": Entry("gateway.commands.backup:backup",
                    "Copy the embedded database to FILE, consistent even while the gateway runs."),
    "restore": Entry("gateway.commands.backup:restore",
                     "Make the backup FILE the embedded database (stop `serve` and `web` first), migrated to this "
                     "version."),
    "import": Entry("gateway.commands.transfer:import_command",
                    "Import contacts (person), organizations (org), leads or deals from FILE, a CSV file: another "
                    "CRM's export as it is, or any file with a mapping file."),
    "export": Entry("gateway.commands.transfer:export_command",
                    "Export a company's contacts, organizations, leads or deals as CSV to FILE (default: standard "
                    "output)."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", metavar="FILE", help="TOML settings file (or SMARTBCC_CONFIG).")
@click.option("--data-dir", metavar="DIR", help="Folder of the embedded SQLite database (SMARTBCC_DATA_DIR; "
                                                 "default: $XDG_DATA_HOME/smartbcc or ~/.local/share/smartbcc).")
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


def main() -> None:
    cli(prog_name="smartbcc")


if __name__ == "__main__":    # `python -m gateway.cli`, the same as the console script
    main()
