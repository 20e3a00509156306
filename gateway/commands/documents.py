"""`smartbcc invoice|quote|smart add|list|show`: records with a title, a contact and a company.

They have no Bcc address; mail sent from one (`smartbcc send invoice ID`) goes to its contact and
company and is linked to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.commands.output import App, echo, emit_json, json_option, lines, pass_app, table, text, with_db
from gateway.commands.records import company_required, org_option, person_option
from gateway.crm.kinds import DOCUMENT_KINDS
from gateway.crm.recipients import NOUNS

if TYPE_CHECKING:
    from gateway.services.documents import DocumentView


def _show(view: DocumentView) -> None:
    lines([("kind", NOUNS[view.kind]), ("id", view.id), ("company", view.company),
           *((k.replace("_", " "), v) for k, v in view.fields.items()), ("created", view.created_at)])
    echo("")
    table(["MESSAGE", "RECEIVED", "RULE", "SUBJECT"],
          [[m.id, m.received_at, m.rule, m.subject] for m in view.messages], empty="No messages linked.")
    echo("")
    table(["ACTIVITY", "STATUS", "DUE", "SUBJECT"],
          [[a.id, a.status, a.due_at, a.subject] for a in view.activities], empty="No activities.")


def document_group(kind: str) -> click.Group:
    noun = NOUNS[kind]
    nouns = noun + ("es" if noun.endswith("s") else "s")
    group = click.Group(str(kind), help=f"{nouns.capitalize()}: a title, a contact and a company; "
                                   "mail sent from one is linked to it.")

    @group.command("add", help=f"Add a {noun}.")
    @company_required
    @click.option("--title", required=True, help=f"The {noun}'s title.")
    @person_option
    @org_option
    @json_option
    @pass_app
    def add(app: App, company_slug: str, title: str, person_id: int | None, org_id: int | None,
            as_json: bool) -> None:
        from gateway.services import documents

        view = with_db(app, lambda db: documents.add_document(db, kind, company_slug, title, person_id, org_id))
        if as_json:
            emit_json(view)
            return
        echo(f"Added {noun} {view.id} to company {view.company}: {view.label}")

    @group.command("list", help=f"List a company's {nouns}.")
    @company_required
    @json_option
    @pass_app
    def list_(app: App, company_slug: str, as_json: bool) -> None:
        from gateway.services import documents

        views = with_db(app, lambda db: documents.list_documents(db, kind, company_slug))
        if as_json:
            emit_json(views)
            return
        table(["ID", "TITLE", "STATUS", "PERSON", "ORG"],
              [[v.id, v.label, v.fields["status"], text(v.fields["person_id"]), text(v.fields["org_id"])]
               for v in views])

    @group.command("show", help=f"Show a {noun}, its messages and its activities.")
    @click.argument("record_id", type=int, metavar="ID")
    @json_option
    @pass_app
    def show(app: App, record_id: int, as_json: bool) -> None:
        from gateway.services import documents

        view = with_db(app, lambda db: documents.show_document(db, kind, record_id))
        emit_json(view) if as_json else _show(view)

    return group


DOCUMENT_GROUPS = tuple(document_group(kind) for kind in DOCUMENT_KINDS)
