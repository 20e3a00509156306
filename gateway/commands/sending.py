"""Sending from a record: `recipients KIND ID`, `send KIND ID`, `record-email add|list|remove`."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable

import click

from gateway.commands.output import App, choice, echo, emit_json, json_option, pass_app, table, with_db
from gateway.crm.recipients import NOUNS, OWN_ADDRESS_KINDS, SENDING_KINDS, RecipientList

if TYPE_CHECKING:
    from gateway.services.record_emails import RecordAddresses

kind_argument = click.argument("kind", type=choice(SENDING_KINDS), metavar="KIND")
id_argument = click.argument("record_id", type=int, metavar="ID")
as_option = click.option("--as", "user_email", required=True, metavar="USER_EMAIL",
                         help="The user who sends (their rights decide what they may see and mail).")


def _print_recipients(listing: RecipientList) -> None:
    echo(f"Recipients of {NOUNS[listing.kind]} {listing.record_id}, most recently used first:")
    table(["EMAIL", "NAME", "RECORD", "VIA", "LAST USED"],
          [[r.email, r.name, f"{NOUNS[r.kind]} {r.record_id}", r.via, r.last_used_at] for r in listing.recipients])
    for hidden in listing.hidden:
        echo(f"Hidden {NOUNS[hidden.kind]} {hidden.record_id} ({hidden.via}): "
                   "the sender may not view it, so it cannot be mailed")
    if listing.any_address:
        echo("The company allows sending to any address.")


@click.command("recipients")
@kind_argument
@id_argument
@as_option
@json_option
@pass_app
def recipients(app: App, kind: str, record_id: int, user_email: str, as_json: bool) -> None:
    """Who may receive mail sent from a record (KIND: lead, person, org, deal, project, invoice, quote,
    smart), by Bitrix24's rules: the record's own addresses and its contact's and company's."""
    from gateway.services import sending

    listing = with_db(app, lambda db: sending.list_recipients(db, kind, record_id, user_email))
    emit_json(listing) if as_json else _print_recipients(listing)


def _body(body_file: IO[bytes], what: str = "body") -> str:
    try:
        return body_file.read().decode("utf-8")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"the {what} file is not UTF-8 text: {error}") from None


@click.command("send")
@kind_argument
@id_argument
@as_option
@click.option("--to", "to", metavar="ADDRESS", multiple=True,
              help="A recipient; repeatable (default: the first of `smartbcc recipients KIND ID`).")
@click.option("--cc", metavar="ADDRESS", multiple=True, help="A copy recipient; repeatable.")
@click.option("--bcc", metavar="ADDRESS", multiple=True, help="A blind-copy recipient; repeatable.")
@click.option("--subject", required=True, help="The subject.")
@click.option("--body-file", type=click.File("rb"), metavar="FILE",
              help="The text body, UTF-8 (- reads standard input).")
@click.option("--html-file", type=click.File("rb"), metavar="FILE",
              help="A formatted (HTML) body, UTF-8; sanitized before it is sent and stored.")
@click.option("--attach", "attach", metavar="FILE", multiple=True,
              type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
              help="A file to attach; repeatable.")
@json_option
@pass_app
def send(app: App, kind: str, record_id: int, user_email: str, to: tuple[str, ...], cc: tuple[str, ...],
         bcc: tuple[str, ...], subject: str, body_file: IO[bytes] | None, html_file: IO[bytes] | None,
         attach: tuple[Path, ...], as_json: bool) -> None:
    """Send mail from a record through the smarthost; it is stored and linked like a Bcc'd message, and
    its bounces come back to it."""
    if body_file is None and html_file is None:
        raise click.UsageError("give the body: --body-file FILE, --html-file FILE, or both")
    from gateway.services import sending
    from gateway.web.sanitize import clean

    html = clean(_body(html_file, "HTML"), allow_remote=True).html if html_file is not None else ""
    uploads = tuple(sending.Upload(path.name, mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                                   path.read_bytes()) for path in attach)
    draft = sending.Draft(to=to, cc=cc, bcc=bcc, subject=subject,
                          text=_body(body_file) if body_file is not None else "", html=html, attachments=uploads)
    sent = with_db(app, lambda db: sending.send_from_record(db, kind, record_id, user_email, draft))
    if as_json:
        emit_json(sent)
        return
    copies = "".join(f", {name} {', '.join(values)}" for name, values in (("cc", sent.cc), ("bcc", sent.bcc))
                     if values)
    echo(f"Sent to {', '.join(sent.to)}{copies} from {NOUNS[sent.kind]} {sent.record_id}: {sent.smarthost_reply}")
    for created_kind, created_id in sent.created:
        echo(f"An address was new to the CRM: added {NOUNS[created_kind]} {created_id}")
    echo(f"Stored as message {sent.message_pk}, linked to "
               + ", ".join(f"{NOUNS.get(kind, kind)} {rid} ({rule})" for kind, rid, rule in sent.links))
    echo(f"Bounces come back to {sent.envelope_sender}")


@click.group("record-email")
def record_email() -> None:
    """The addresses of a lead, contact (person) or organization (org), besides its own email field."""


def _print_addresses(view: RecordAddresses) -> None:
    table(["EMAIL", "FIELD", "LAST USED"],
          [[a.email, "own field" if a.primary else "added", a.last_used_at] for a in view.addresses],
          empty=f"{NOUNS[view.kind].capitalize()} {view.record_id} has no address.")


def _address_command(add: bool) -> Callable[..., None]:
    @click.argument("kind", type=choice(OWN_ADDRESS_KINDS), metavar="KIND")
    @id_argument
    @click.argument("email")
    @json_option
    @pass_app
    def command(app: App, kind: str, record_id: int, email: str, as_json: bool) -> None:
        from gateway.services import record_emails

        change = record_emails.add_address if add else record_emails.remove_address
        view = with_db(app, lambda db: change(db, kind, record_id, email))
        emit_json(view) if as_json else _print_addresses(view)
    return command


record_email.command("add", help="Give a lead, person or org another address (KIND ID EMAIL).")(
    _address_command(True))
record_email.command("remove", help="Take an added address off a lead, person or org (KIND ID EMAIL).")(
    _address_command(False))


@record_email.command("list")
@click.argument("kind", type=choice(OWN_ADDRESS_KINDS), metavar="KIND")
@id_argument
@json_option
@pass_app
def list_addresses(app: App, kind: str, record_id: int, as_json: bool) -> None:
    """A lead's, person's or org's addresses, with when mail sent from the CRM last went to each."""
    from gateway.services import record_emails

    view = with_db(app, lambda db: record_emails.list_addresses(db, kind, record_id))
    emit_json(view) if as_json else _print_addresses(view)
