"""How mail is filed: `review list|resolve`, `messages link|unlink|share|unshare`, `company set`,
`company exclude|include`, `user set`."""

from __future__ import annotations

import click

from gateway.commands.output import App, echo, emit_json, json_option, lines, pass_app, table, with_db
from gateway.crm.conversion import ACTIVITIES, LEADS_TO
from gateway.services import preferences, review

DEALISH = ("deal", "lead", "project")
RECORD_KINDS = ("deal", "lead", "project", "person", "org")


def _one_record(options: dict[str, int | None], kinds: tuple[str, ...]) -> tuple[str, int | None]:
    given = [(kind, value) for kind, value in options.items() if kind in kinds and value is not None]
    if len(given) != 1:
        flags = " | ".join(f"--{kind} ID" for kind in kinds)
        raise click.UsageError(f"name exactly one record: {flags}")
    return given[0]


def _record_options(kinds: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def decorate(command):  # type: ignore[no-untyped-def]
        for kind in reversed(kinds):
            command = click.option(f"--{kind}", kind, type=int, metavar="ID", help=f"A {kind} id.")(command)
        return command
    return decorate


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
@_record_options(DEALISH)
@click.option("--none", "dismiss", type=click.Choice(DEALISH), help="Link nothing of this kind; close the item.")
@json_option
@pass_app
def review_resolve(app: App, message_id: int, dismiss: str | None, as_json: bool, **records: int | None) -> None:
    """Link MESSAGE_ID to the chosen deal, lead or project (or dismiss with --none KIND)."""
    if dismiss is not None and any(v is not None for v in records.values()):
        raise click.UsageError("give either a record or --none KIND, not both")
    kind, record_id = (dismiss, None) if dismiss is not None else _one_record(records, DEALISH)
    views = with_db(app, lambda db: review.resolve_review(db, message_id, kind, record_id))
    if as_json:
        emit_json(views)
        return
    done = f"linked to {kind} {record_id}" if record_id is not None else f"no {kind} linked"
    echo(f"Message {message_id}: {done}; {len(views)} review item(s) closed")


def _link_command(unlink: bool):  # type: ignore[no-untyped-def]
    @click.argument("message_id", type=int)
    @_record_options(RECORD_KINDS)
    @json_option
    @pass_app
    def command(app: App, message_id: int, as_json: bool, **records: int | None) -> None:
        kind, record_id = _one_record(records, RECORD_KINDS)
        change = review.unlink_message if unlink else review.link_message
        result = with_db(app, lambda db: change(db, message_id, kind, record_id))
        if as_json:
            emit_json(result)
            return
        verb = "unlinked from" if unlink else ("linked to" if result.changed else "was already linked to")
        echo(f"Message {message_id} {verb} {kind} {record_id}")
    return command


def _visibility_command(visibility: str):  # type: ignore[no-untyped-def]
    @click.argument("message_id", type=int)
    @json_option
    @pass_app
    def command(app: App, message_id: int, as_json: bool) -> None:
        now = with_db(app, lambda db: review.set_visibility(db, message_id, visibility))
        if as_json:
            emit_json({"id": message_id, "visibility": now})
            return
        echo(f"Message {message_id} is now {now}")
    return command


def _print_company(view: preferences.CompanySettings) -> None:
    lines([("company", view.slug), ("crm mode", view.crm_mode), ("classic creates", view.classic_creates),
           ("deal for new inquiry", view.deal_for_new_inquiry), ("max new contacts", view.max_new_contacts),
           ("anti-spoofing", view.antispoof_mode or "(deployment setting)"),
           ("anti-spoofing policy", view.antispoof_policy or "(deployment setting)"),
           ("never log", ", ".join(view.exclusions) or "(nothing)"),
           ("allow any address", view.allow_any_address), ("any address creates", view.any_address_creates)])
    for done in view.converted:
        client = ", ".join(part for part in (
            f"contact {done.person_id}" if done.person_id else "", f"organization {done.org_id}" if done.org_id else "")
            if part) or "no client"
        new = f"; new {' and '.join(done.created)}" if done.created else ""
        echo(f"Converted lead {done.lead_id} to deal {done.deal_id} ({client}{new}): "
                   f"{done.messages_moved} message(s) moved, {done.activities_moved} activity(ies) moved, "
                   f"{done.activities_completed} completed")


@click.command("set")
@click.argument("slug")
@click.option("--crm-mode", type=click.Choice(preferences.CRM_MODES), help="simple (no leads) or classic.")
@click.option("--classic-creates", type=click.Choice(preferences.CLASSIC_CREATES),
              help="Classic mode: an unknown address becomes a lead or a contact.")
@click.option("--deal-for-new-inquiry/--no-deal-for-new-inquiry", default=None,
              help="Simple mode: a forwarded inquiry from an unknown customer opens a deal.")
@click.option("--max-new-contacts", type=int, help="Bound on the records one message may create.")
@click.option("--antispoof", type=click.Choice((*preferences.ANTISPOOF_MODES, "deployment")),
              help="Anti-spoofing mode for this company (deployment: use the deployment's).")
@click.option("--antispoof-policy", type=click.Choice((*preferences.ANTISPOOF_POLICIES, "deployment")))
@click.option("--leads-to", type=click.Choice(LEADS_TO),
              help="Classic -> simple: each active lead's deal gets a contact, a company or both (default contact).")
@click.option("--pipeline", metavar="NAME", help="Classic -> simple: the pipeline of the new deals (default: default).")
@click.option("--activities", type=click.Choice(ACTIVITIES),
              help="Classic -> simple: move the leads' planned activities to the deals, or complete them "
                   "(default keep).")
@click.option("--allow-any-address/--no-allow-any-address", default=None,
              help="Mail sent from a record may go to any address, not only its contacts' and companies'.")
@click.option("--any-address-creates", type=click.Choice(preferences.CLASSIC_CREATES),
              help="With --allow-any-address: an address new to the CRM becomes a lead or a contact.")
@json_option
@pass_app
def company_set(app: App, slug: str, crm_mode: str | None, classic_creates: str | None,
                deal_for_new_inquiry: bool | None, max_new_contacts: int | None, antispoof: str | None,
                antispoof_policy: str | None, leads_to: str | None, pipeline: str | None, activities: str | None,
                allow_any_address: bool | None, any_address_creates: str | None, as_json: bool) -> None:
    """Change how SLUG's mail is filed; with no option, show the settings.

    Switching from classic to simple mode converts every active lead into a deal (see --leads-to,
    --pipeline, --activities); switching back to classic converts nothing.
    """
    view = with_db(app, lambda db: preferences.set_company(
        db, slug, crm_mode=crm_mode, classic_creates=classic_creates, deal_for_new_inquiry=deal_for_new_inquiry,
        max_new_contacts=max_new_contacts, antispoof_mode=antispoof, antispoof_policy=antispoof_policy,
        allow_any_address=allow_any_address, any_address_creates=any_address_creates,
        leads_to=leads_to, pipeline=pipeline, activities=activities))
    emit_json(view) if as_json else _print_company(view)


def _exclusion_command(add: bool):  # type: ignore[no-untyped-def]
    @click.argument("slug")
    @click.argument("address_or_domain")
    @json_option
    @pass_app
    def command(app: App, slug: str, address_or_domain: str, as_json: bool) -> None:
        change = preferences.add_exclusion if add else preferences.remove_exclusion
        view = with_db(app, lambda db: change(db, slug, address_or_domain))
        emit_json(view) if as_json else _print_company(view)
    return command


@click.command("set")
@click.argument("email")
@click.option("--auto-link/--no-auto-link", default=None, help="Link a contact's only open deal automatically.")
@click.option("--default-sharing", type=click.Choice(preferences.VISIBILITIES),
              help="Visibility stamped on mail received from now on.")
@json_option
@pass_app
def user_set(app: App, email: str, auto_link: bool | None, default_sharing: str | None, as_json: bool) -> None:
    """Change a user's filing preferences."""
    view = with_db(app, lambda db: preferences.set_user(db, email, auto_link=auto_link,
                                                        default_visibility=default_sharing))
    if as_json:
        emit_json(view)
        return
    lines([("user", view.email), ("auto-link", view.auto_link), ("default sharing", view.default_visibility)])


def register(cli: click.Group) -> None:
    """Add these commands to the top-level group and to its `company`, `user` and `messages` groups."""
    cli.add_command(review_group)
    company, user, messages = (cli.commands[name] for name in ("company", "user", "messages"))
    company.add_command(company_set)
    company.command("exclude", help="Never log this address or domain for SLUG.")(_exclusion_command(True))
    company.command("include", help="Take an address or domain off SLUG's never-log list.")(
        _exclusion_command(False))
    user.add_command(user_set)
    messages.command("link", help="Link a message to a record by hand (rule: manual).")(_link_command(False))
    messages.command("unlink", help="Take a message off a record.")(_link_command(True))
    messages.command("share", help="Let the whole company see a message.")(_visibility_command("shared"))
    messages.command("unshare", help="Make a message private to its owner again.")(_visibility_command("private"))
