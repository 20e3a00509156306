"""`smartbcc review list|resolve`: messages whose contact has several open deals (or leads, projects)."""

from __future__ import annotations

import click

from gateway.commands.output import App, choice, echo, emit_json, json_option, pass_app, table, with_db
from gateway.crm.kinds import DEALISH_KINDS as DEALISH
from gateway.commands.records import one_record, record_options


@click.group("review")
def review_group() -> None:
    """The review queue: messages whose contact has several open deals (or leads, projects)."""


@review_group.command("list")
@click.option("--company", "company_slug", metavar="SLUG", help="Only this company's queue.")
@click.option("--all", "include_resolved", is_flag=True, help="Also resolved and dismissed items.")
@json_option
@pass_app
def review_list(app: App, company_slug: str | None, include_resolved: bool, as_json: bool) -> None:
    """List messages waiting for a choice, with the candidates best first."""
    from gateway.services import review

    views = with_db(app, lambda db: review.list_reviews(db, company_slug, include_resolved))
    if as_json:
        emit_json(views)
        return
    table(["MESSAGE", "SUBJECT", "CONTACT", "KIND", "CANDIDATES (best first)", "STATUS"],
          [[v.message_id, v.subject[:40], v.person_email, v.kind,
            ", ".join(f"{c.id} {c.title}" for c in v.candidates), v.status] for v in views],
          empty="(the review queue is empty)")


@review_group.command("resolve")
@click.argument("message_id", type=int)
@record_options(DEALISH)
@click.option("--none", "dismiss", type=choice(DEALISH), help="Link nothing of this kind; close the item.")
@json_option
@pass_app
def review_resolve(app: App, message_id: int, dismiss: str | None, as_json: bool, **records: int | None) -> None:
    """Link MESSAGE_ID to the chosen deal, lead or project (or dismiss with --none KIND)."""
    if dismiss is not None and any(v is not None for v in records.values()):
        raise click.UsageError("give either a record or --none KIND, not both")
    from gateway.services import review

    kind, record_id = (dismiss, None) if dismiss is not None else one_record(records, DEALISH)
    views = with_db(app, lambda db: review.resolve_review(db, message_id, kind, record_id))
    if as_json:
        emit_json(views)
        return
    done = f"linked to {kind} {record_id}" if record_id is not None else f"no {kind} linked"
    echo(f"Message {message_id}: {done}; {len(views)} review item(s) closed")
