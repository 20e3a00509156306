"""`smartbcc person|org|lead|deal|project add|list|show|set-owner|rotate-address`, `lead|deal|project close`,
and `record set-owner KIND ID EMAIL`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

import click

from gateway.commands.output import App, echo, emit_json, json_option, lines, pass_app, table, text, with_db
from gateway.crm.kinds import CLOSED_STATUSES, Kind, RECORD_NOUNS as NOUNS

if TYPE_CHECKING:
    from gateway.services.records import RecordView
    from gateway.store.database import Database

company_required = click.option("--company", "company_slug", required=True, metavar="SLUG",
                                help="The company the record belongs to.")
Command = TypeVar("Command", bound=Callable[..., Any])
org_option = click.option("--org", "org_id", type=int, metavar="ID", help="Its organization (same company).")
person_option = click.option("--person", "person_id", type=int, metavar="ID", help="Its contact (same company).")
owner_option = click.option("--owner", metavar="EMAIL",
                            help="Its owner: a user of the company (what `own` rights are about).")


def one_record(options: dict[str, int | None], kinds: tuple[str, ...]) -> tuple[str, int]:
    """The one record named by ``--<kind> ID`` among ``kinds`` (see :func:`record_options`)."""
    given = [(kind, value) for kind, value in options.items() if kind in kinds if value is not None]
    if len(given) != 1:
        flags = " | ".join(f"--{kind} ID" for kind in kinds)
        raise click.UsageError(f"name exactly one record: {flags}")
    return given[0]


def record_options(kinds: tuple[str, ...]) -> Callable[[Command], Command]:
    """``--<kind> ID`` for each of ``kinds``: a command that acts on one record of several kinds."""
    def decorate(command: Command) -> Command:
        for kind in reversed(kinds):
            command = click.option(f"--{kind}", str(kind), type=int, metavar="ID", help=f"A {kind} id.")(command)
        return command
    return decorate


def _added(view: RecordView, as_json: bool) -> None:
    if as_json:
        emit_json(view)
        return
    echo(f"Added {NOUNS[view.kind]} {view.id} to company {view.company}: {view.label}")
    echo(f"Bcc address: {view.address}")


def _show(view: RecordView) -> None:
    lines([("kind", NOUNS[view.kind]), ("id", view.id), ("company", view.company),
           ("address", view.address), *((k.replace("_", " "), v) for k, v in view.fields.items()),
           ("created", view.created_at)])
    echo("")
    table(["MESSAGE", "RECEIVED", "RULE", "SUBJECT"],
          [[m.id, m.received_at, m.rule, m.subject] for m in view.messages], empty="No messages linked.")


@click.command("add")
@company_required
@click.option("--email", required=True, help="The contact's address (one contact per address).")
@click.option("--name", default="", help="The contact's name.")
@org_option
@owner_option
@json_option
@pass_app
def add_person(app: App, company_slug: str, email: str, name: str, org_id: int | None, owner: str | None,
               as_json: bool) -> None:
    """Add a contact."""
    from gateway.services import records

    _added(with_db(app, lambda db: records.add_person(db, company_slug, email, name, org_id, owner)), as_json)


@click.command("add")
@company_required
@click.option("--name", required=True, help="The organization's name.")
@click.option("--domain", help="Its mail domain: mail from that domain links to it.")
@owner_option
@json_option
@pass_app
def add_org(app: App, company_slug: str, name: str, domain: str | None, owner: str | None, as_json: bool) -> None:
    """Add an organization."""
    from gateway.services import records

    _added(with_db(app, lambda db: records.add_org(db, company_slug, name, domain, owner)), as_json)


def _add_dealish(kind: str) -> click.Command:
    @click.command("add", help=f"Add a {kind}.")
    @company_required
    @click.option("--title", required=True, help=f"The {kind}'s title.")
    @person_option
    @org_option
    @owner_option
    @json_option
    @pass_app
    def command(app: App, company_slug: str, title: str, person_id: int | None, org_id: int | None,
                owner: str | None, as_json: bool, **extra: str) -> None:
        from gateway.services import records

        _added(with_db(app, lambda db: records.add_record(
            db, kind, company_slug, title, person_id, org_id, owner, **extra)), as_json)
    if kind == Kind.LEAD:
        command = click.option("--email", help="The lead's own address.")(command)
        command = click.option("--name", help="The lead's person name.")(command)
        command = click.option("--company-name", help="The prospect's company; converting the lead can make it "
                               "an organization.")(command)
    if kind == Kind.DEAL:
        command = click.option("--pipeline", metavar="NAME", help="Its pipeline (default: default).")(command)
    return command


def _list(kind: str) -> click.Command:
    @click.command("list", help=f"List a company's {NOUNS[kind]}s.")
    @company_required
    @json_option
    @pass_app
    def command(app: App, company_slug: str, as_json: bool) -> None:
        from gateway.services import records

        views = with_db(app, lambda db: records.list_records(db, kind, company_slug))
        if as_json:
            emit_json(views)
            return
        extra = [name for name in records.FIELDS[kind] if name not in ("title", "name", "closed_at", "phone")]
        table(["ID", "TITLE" if kind in CLOSED_STATUSES else "NAME", *(n.upper() for n in extra), "ADDRESS"],
              [[v.id, v.label, *(text(v.fields[n]) for n in extra), v.address] for v in views])
    return command


def _by_id(kind: str, name: str, help: str, work: Callable[..., Any], done: str,
           options: tuple[Callable[[Any], Any], ...] = ()) -> click.Command:
    """A command on one record: ``<kind> <name> ID``; ``work(db, kind, id, **options)`` returns its view."""
    @click.argument("record_id", type=int, metavar="ID")
    @json_option
    @pass_app
    def command(app: App, record_id: int, as_json: bool, **values: Any) -> None:
        view = with_db(app, lambda db: work(db, kind, record_id, **values))
        if as_json:
            emit_json(view)
        elif done:
            echo(f"{NOUNS[view.kind].capitalize()} {view.id} {done.format(**view.fields)}: {view.address}")
        else:
            _show(view)
    for option in options:
        command = option(command)
    return click.command(name, help=help)(command)


def _close_options(kind: str) -> tuple[Callable[[Any], Any], ...]:
    return tuple(click.option(f"--{status}", "status", flag_value=status, help=f"Close it as {status}.")
                 for status in reversed(CLOSED_STATUSES[kind]))


async def _show_record(db: Database, kind: str, record_id: int) -> RecordView:
    from gateway.services import records

    return await records.show_record(db, kind, record_id)


async def _rotate_address(db: Database, kind: str, record_id: int) -> RecordView:
    from gateway.services import records

    return await records.rotate_address(db, kind, record_id)


async def _close(db: Database, kind: str, record_id: int, status: str | None) -> RecordView:
    from gateway.services import records

    if status is None:
        raise click.UsageError(f"say how it ends: {' or '.join('--' + s for s in CLOSED_STATUSES[kind])}")
    return await records.close_record(db, kind, record_id, status)


def _set_owner(kind: str) -> click.Command:
    @click.command("set-owner", help=f"Give the {NOUNS[kind]} an owner: EMAIL, a user of its company.")
    @click.argument("record_id", type=int, metavar="ID")
    @click.argument("owner", metavar="EMAIL")
    @json_option
    @pass_app
    def command(app: App, record_id: int, owner: str, as_json: bool) -> None:
        from gateway.services import records

        view = with_db(app, lambda db: records.set_owner(db, kind, record_id, owner))
        if as_json:
            emit_json(view)
        else:
            echo(f"{NOUNS[kind].capitalize()} {view.id} is now owned by {owner.strip().lower()} "
                 f"(user {view.fields['owner_user_id']})")
    return command


def record_group(kind: str) -> click.Group:
    group = click.Group(str(kind), help=f"{NOUNS[kind].capitalize()}s, each with a Bcc address of its own.")
    adders: dict[str, click.Command] = {Kind.PERSON: add_person, Kind.ORG: add_org}
    adder = adders.get(kind) or _add_dealish(kind)
    group.add_command(adder)
    group.add_command(_list(kind))
    group.add_command(_by_id(kind, "show", f"Show a {NOUNS[kind]}, its address and its messages.",
                             _show_record, ""))
    group.add_command(_by_id(kind, "rotate-address", "Give it a new Bcc address; the old one is refused.",
                             _rotate_address, "has a new address"))
    group.add_command(_set_owner(kind))
    if kind in CLOSED_STATUSES:
        group.add_command(_by_id(kind, "close", f"Close the {kind}.", _close, "is now {status}",
                                 _close_options(kind)))
    return group


@click.group("record", help="Any kind of record, named by its kind: `record set-owner deal 7 EMAIL`.")
def record_any() -> None:
    pass


@record_any.command("set-owner", help="Give a record an owner: KIND (person, org, lead, deal...), its ID, and "
                                      "EMAIL, a user of its company; the same as `KIND set-owner ID EMAIL`.")
@click.argument("kind", type=click.Choice([str(kind) for kind in NOUNS]))
@click.argument("record_id", type=int, metavar="ID")
@click.argument("owner", metavar="EMAIL")
@json_option
@click.pass_context
def record_set_owner(ctx: click.Context, kind: str, record_id: int, owner: str, as_json: bool) -> None:
    ctx.invoke(_set_owner(kind), record_id=record_id, owner=owner, as_json=as_json)


RECORD_GROUPS = (*(record_group(kind) for kind in NOUNS), record_any)
