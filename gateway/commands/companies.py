"""`smartbcc company add|list|show|set-domain|set|exclude|include`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import click

from gateway.commands.output import App, echo, emit_json, json_option, jsonable, lines, pass_app, table, with_db
from gateway.config import ANTISPOOF_MODES, ANTISPOOF_POLICIES
from gateway.crm.conversion import ACTIVITIES, LEADS_TO
from gateway.crm.kinds import CLASSIC_CREATES, CRM_MODES

if TYPE_CHECKING:
    from gateway.services.preferences import CompanySettings


@click.group()
def company() -> None:
    """Companies: each has its own domain and company-wide Bcc address."""


@company.command("add")
@click.argument("name")
@click.option("--domain", required=True, help="The company's own mail domain, e.g. acme.com.")
@json_option
@pass_app
def add(app: App, name: str, domain: str, as_json: bool) -> None:
    """Add a company; its Bcc address is derived from DOMAIN (acme.com -> acme@<mail domain>)."""
    from gateway.services import companies

    view = with_db(app, lambda db: companies.add_company(db, name, domain))
    if as_json:
        emit_json(view)
        return
    echo(f"Added company {view.name!r} ({view.domain}), slug {view.slug}, id {view.id}")
    echo(f"Bcc address: {view.address}")


@company.command("list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the companies."""
    from gateway.services import companies

    views = with_db(app, companies.list_companies)
    if as_json:
        emit_json(views)
        return
    table(["ID", "SLUG", "NAME", "DOMAIN", "ADDRESS", "MODE"],
          [[v.id, v.slug, v.name, v.domain, v.address, v.crm_mode] for v in views],
          empty="No companies yet: add one with `smartbcc company add NAME --domain DOMAIN`.")


@company.command("show")
@click.argument("slug")
@json_option
@pass_app
def show(app: App, slug: str, as_json: bool) -> None:
    """Show a company with the number of its users, contacts, deals and messages."""
    from gateway.services import companies

    details = with_db(app, lambda db: companies.company_details(db, slug))
    if as_json:
        emit_json({**jsonable(details.company), "counts": details.counts})
        return
    view = details.company
    lines([("id", view.id), ("name", view.name), ("slug", view.slug), ("domain", view.domain),
           ("address", view.address), ("crm mode", view.crm_mode),
           ("own domains", ", ".join(view.own_domains) or "(none)"), ("created", view.created_at),
           *details.counts.items()])



@company.command("set-domain")
@click.argument("slug")
@click.argument("new_domain")
@click.option("--grace-days", type=int, help="How long the old address keeps working (default: the "
                                             "deployment's address_grace_days, 30).")
@json_option
@pass_app
def set_domain(app: App, slug: str, new_domain: str, grace_days: int | None, as_json: bool) -> None:
    """Change SLUG's domain, and so its company address; the old address keeps working for a while."""
    from gateway.services import companies

    change = with_db(app, lambda db: companies.change_domain(db, slug, new_domain, grace_days))
    if as_json:
        emit_json(change)
        return
    echo(f"Company {change.company.slug}: domain {change.company.domain}, address {change.company.address}")
    if change.former_address:
        echo(f"The old address {change.former_address} is accepted until "
                   f"{change.former_expires_at:%Y-%m-%d %H:%M} UTC; per-record addresses follow the new one.")
    else:
        echo("The company address is unchanged.")


def _print_company(view: CompanySettings) -> None:
    lines([("company", view.slug), ("crm mode", view.crm_mode), ("classic creates", view.classic_creates),
           ("deal for new inquiry", view.deal_for_new_inquiry), ("max new contacts", view.max_new_contacts),
           ("anti-spoofing", view.antispoof_mode or "(deployment setting)"),
           ("anti-spoofing policy", view.antispoof_policy or "(deployment setting)"),
           ("never log", ", ".join(view.exclusions) or "(nothing)"),
           ("allow any address", view.allow_any_address), ("any address creates", view.any_address_creates),
           ("own domains", ", ".join(view.own_domains) or "(none)"),
           ("create organizations", view.create_orgs)])
    for done in view.converted:
        client = ", ".join(part for part in (
            f"contact {done.person_id}" if done.person_id else "", f"organization {done.org_id}" if done.org_id else "")
            if part) or "no client"
        new = f"; new {' and '.join(done.created)}" if done.created else ""
        echo(f"Converted lead {done.lead_id} to deal {done.deal_id} ({client}{new}): "
                   f"{done.messages_moved} message(s) moved, {done.activities_moved} activity(ies) moved, "
                   f"{done.activities_completed} completed")


@company.command("set")
@click.argument("slug")
@click.option("--crm-mode", type=click.Choice(CRM_MODES), help="simple (no leads) or classic.")
@click.option("--classic-creates", type=click.Choice(CLASSIC_CREATES),
              help="Classic mode: an unknown address becomes a lead or a contact.")
@click.option("--deal-for-new-inquiry/--no-deal-for-new-inquiry", default=None,
              help="Simple mode: a forwarded inquiry from an unknown customer opens a deal.")
@click.option("--max-new-contacts", type=int, help="Bound on the records one message may create.")
@click.option("--antispoof", type=click.Choice((*ANTISPOOF_MODES, "deployment")),
              help="Anti-spoofing mode for this company (deployment: use the deployment's).")
@click.option("--antispoof-policy", type=click.Choice((*ANTISPOOF_POLICIES, "deployment")))
@click.option("--leads-to", type=click.Choice(LEADS_TO),
              help="Classic -> simple: each active lead's deal gets a contact, a company or both (default contact).")
@click.option("--pipeline", metavar="NAME", help="Classic -> simple: the pipeline of the new deals (default: default).")
@click.option("--activities", type=click.Choice(ACTIVITIES),
              help="Classic -> simple: move the leads' planned activities to the deals, or complete them "
                   "(default keep).")
@click.option("--allow-any-address/--no-allow-any-address", default=None,
              help="Mail sent from a record may go to any address, not only its contacts' and companies'.")
@click.option("--any-address-creates", type=click.Choice(CLASSIC_CREATES),
              help="With --allow-any-address: an address new to the CRM becomes a lead or a contact "
                   "(contact in simple mode).")
@click.option("--own-domain", "add_own_domains", multiple=True, metavar="DOMAIN",
              help="Add one of the company's own domains: its addresses that are not users make no contact "
                   "(default: the company's domain). Repeatable.")
@click.option("--remove-own-domain", "remove_own_domains", multiple=True, metavar="DOMAIN",
              help="Take a domain off the company's own domains. Repeatable.")
@click.option("--create-orgs/--no-create-orgs", default=None,
              help="A new contact at an unknown company domain (not a free-mail provider) gets a new "
                   "organization for that domain.")
@json_option
@pass_app
def company_set(app: App, slug: str, crm_mode: str | None, classic_creates: str | None,
                deal_for_new_inquiry: bool | None, max_new_contacts: int | None, antispoof: str | None,
                antispoof_policy: str | None, leads_to: str | None, pipeline: str | None, activities: str | None,
                allow_any_address: bool | None, any_address_creates: str | None,
                add_own_domains: tuple[str, ...], remove_own_domains: tuple[str, ...], create_orgs: bool | None,
                as_json: bool) -> None:
    """Change how SLUG's mail is filed; with no option, show the settings.

    Switching from classic to simple mode converts every active lead into a deal (see --leads-to,
    --pipeline, --activities); switching back to classic converts nothing.
    """
    from gateway.services import preferences

    view = with_db(app, lambda db: preferences.set_company(
        db, slug, crm_mode=crm_mode, classic_creates=classic_creates, deal_for_new_inquiry=deal_for_new_inquiry,
        max_new_contacts=max_new_contacts, antispoof_mode=antispoof, antispoof_policy=antispoof_policy,
        allow_any_address=allow_any_address, any_address_creates=any_address_creates,
        leads_to=leads_to, pipeline=pipeline, activities=activities, add_own_domains=add_own_domains,
        remove_own_domains=remove_own_domains, create_orgs=create_orgs))
    emit_json(view) if as_json else _print_company(view)


def _exclusion_command(add: bool) -> Callable[..., None]:
    @click.argument("slug")
    @click.argument("address_or_domain")
    @json_option
    @pass_app
    def command(app: App, slug: str, address_or_domain: str, as_json: bool) -> None:
        from gateway.services import preferences

        change = preferences.add_exclusion if add else preferences.remove_exclusion
        view = with_db(app, lambda db: change(db, slug, address_or_domain))
        emit_json(view) if as_json else _print_company(view)
    return command


company.command("exclude", help="Never log this address or domain for SLUG.")(_exclusion_command(True))
company.command("include", help="Take an address or domain off SLUG's never-log list.")(_exclusion_command(False))
