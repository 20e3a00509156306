"""Settings admins change on a company (CRM mode, never-log list, limits, sending to any address) and on
a user (auto-linking, default sharing). A user's default sharing is stamped on each message at receipt:
changing it later leaves mail already received as it was. Switching a company from classic to simple
CRM mode converts its active leads into deals in the same transaction (gateway.services.crm_mode)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from gateway.mail.address import InvalidAddress, normalize_domain, normalize_email
from gateway.config import ANTISPOOF_MODES, ANTISPOOF_POLICIES  # noqa: F401 (re-exported)
from gateway.crm.conversion import ACTIVITIES, LEADS_TO, ConversionOptions
from gateway.crm.domains import own_domains_of
from gateway.crm.kinds import CLASSIC_CREATES, CRM_MODES, VISIBILITIES  # noqa: F401 (re-exported)
from gateway.services.crm_mode import ConvertedLead, convert_active_leads
from gateway.services.errors import Conflict, NotFound, ServiceError, company_by_slug, user_by_email
from gateway.store.database import Database, rows_matched
from gateway.store.models import Exclusion, utcnow


@dataclass(frozen=True)
class CompanySettings:
    slug: str
    crm_mode: str
    classic_creates: str
    deal_for_new_inquiry: bool
    max_new_contacts: int
    antispoof_mode: str | None
    antispoof_policy: str | None
    exclusions: tuple[str, ...]
    allow_any_address: bool = False
    any_address_creates: str = "lead"
    own_domains: tuple[str, ...] = ()           # colleagues' domains: their addresses make no contact
    create_orgs: bool = False                     # an unknown company domain makes an organization
    converted: tuple[ConvertedLead, ...] = ()     # leads a switch to simple mode just turned into deals


@dataclass(frozen=True)
class UserSettings:
    email: str
    auto_link: bool
    default_visibility: str


def _choice(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is not None and value not in allowed:
        raise ServiceError(f"{what} is one of {', '.join(allowed)}, not {value!r}")
    return value


async def company_settings(db: Database, slug: str) -> CompanySettings:
    async with db.sessions() as session:
        company = await company_by_slug(session, slug)
        patterns = await session.scalars(select(Exclusion.pattern).where(Exclusion.company_id == company.id)
                                         .order_by(Exclusion.pattern))
        return CompanySettings(company.slug, company.crm_mode, company.classic_creates,
                               company.deal_for_new_inquiry, company.max_new_contacts, company.antispoof_mode,
                               company.antispoof_policy, tuple(patterns), company.allow_any_address,
                               company.any_address_creates, own_domains(company.domain, company.own_domains),
                               company.create_orgs)


def own_domains(domain: str, setting: list[str] | None) -> tuple[str, ...]:
    """The company's own domains, sorted: the setting, or the company's domain while it was never changed."""
    return tuple(sorted(own_domains_of(domain, setting)))


def _domain(value: str) -> str:
    try:
        return normalize_domain(value.strip().lstrip("@"))
    except InvalidAddress as error:
        raise ServiceError(f"{value!r} is not a domain: {error}") from None


def _conversion(leads_to: str | None, pipeline: str | None, activities: str | None) -> ConversionOptions | None:
    if leads_to is None and pipeline is None and activities is None:
        return None
    _choice(leads_to, LEADS_TO, "--leads-to")
    _choice(activities, ACTIVITIES, "--activities")
    if pipeline is not None and not 0 < len(pipeline.strip()) <= 64:
        raise ServiceError("--pipeline is a name of 1 to 64 characters")
    default = ConversionOptions()
    return ConversionOptions(leads_to or default.leads_to, (pipeline or default.pipeline).strip(),
                             activities or default.activities)


async def set_company(db: Database, slug: str, *, crm_mode: str | None = None, classic_creates: str | None = None,
                      deal_for_new_inquiry: bool | None = None, max_new_contacts: int | None = None,
                      antispoof_mode: str | None = None, antispoof_policy: str | None = None,
                      allow_any_address: bool | None = None, any_address_creates: str | None = None,
                      leads_to: str | None = None, pipeline: str | None = None,
                      activities: str | None = None, add_own_domains: tuple[str, ...] = (),
                      remove_own_domains: tuple[str, ...] = (), create_orgs: bool | None = None) -> CompanySettings:
    """Change what is given; ``antispoof_*`` = "deployment" clears the override.

    Classic -> simple converts every active lead into a deal (``leads_to``, ``pipeline``, ``activities``:
    see gateway.crm.conversion); those three options are refused on any other change.
    ``add_own_domains``/``remove_own_domains`` change the company's own domains (the company's domain
    until changed). Simple mode has no leads: ``any_address_creates`` "lead" is refused there.
    """
    adding = [_domain(d) for d in add_own_domains]
    removing = [_domain(d) for d in remove_own_domains]
    _choice(crm_mode, CRM_MODES, "--crm-mode")
    _choice(any_address_creates, CLASSIC_CREATES, "--any-address-creates")
    conversion = _conversion(leads_to, pipeline, activities)
    _choice(classic_creates, CLASSIC_CREATES, "--classic-creates")
    _choice(antispoof_mode, (*ANTISPOOF_MODES, "deployment"), "--antispoof")
    _choice(antispoof_policy, (*ANTISPOOF_POLICIES, "deployment"), "--antispoof-policy")
    if max_new_contacts is not None and not 0 <= max_new_contacts <= 1000:
        raise ServiceError("--max-new-contacts is a number from 0 to 1000")
    converted: tuple[ConvertedLead, ...] = ()
    async with db.writing() as session, session.begin():
        company = await company_by_slug(session, slug)
        switching = crm_mode == "simple" and company.crm_mode == "classic"
        if conversion is not None and not switching:
            raise ServiceError("--leads-to, --pipeline and --activities say how leads convert when a company "
                               f"switches from classic to simple: add --crm-mode simple ({company.slug} is "
                               f"{company.crm_mode} now)")
        if switching:
            converted = await convert_active_leads(session, company, conversion or ConversionOptions(), utcnow())
        if crm_mode is not None:
            company.crm_mode = crm_mode
        if classic_creates is not None:
            company.classic_creates = classic_creates
        if deal_for_new_inquiry is not None:
            company.deal_for_new_inquiry = deal_for_new_inquiry
        if max_new_contacts is not None:
            company.max_new_contacts = max_new_contacts
        if antispoof_mode is not None:
            company.antispoof_mode = None if antispoof_mode == "deployment" else antispoof_mode
        if antispoof_policy is not None:
            company.antispoof_policy = None if antispoof_policy == "deployment" else antispoof_policy
        if allow_any_address is not None:
            company.allow_any_address = allow_any_address
        if any_address_creates == "lead" and (crm_mode or company.crm_mode) == "simple":
            raise ServiceError(f"{company.slug} is in simple mode, which has no leads: "
                               "use --any-address-creates contact, or --crm-mode classic")
        if any_address_creates is not None:
            company.any_address_creates = any_address_creates
        if adding or removing:
            current = list(own_domains(company.domain, company.own_domains))
            missing = [d for d in removing if d not in current]
            if missing:
                raise NotFound(f"{', '.join(missing)} is not among {company.slug}'s own domains "
                               f"({', '.join(current) or 'none'})")
            company.own_domains = sorted({*current, *adding} - set(removing))
        if create_orgs is not None:
            company.create_orgs = create_orgs
    return replace(await company_settings(db, slug), converted=converted)


def exclusion_pattern(value: str) -> str:
    """``someone@example.com`` or a bare domain ``example.com``, normalized."""
    value = value.strip().lstrip("@")
    try:
        return normalize_email(value) if "@" in value else normalize_domain(value)
    except InvalidAddress as error:
        raise ServiceError(f"{value!r} is neither an address nor a domain: {error}") from None


async def add_exclusion(db: Database, slug: str, value: str) -> CompanySettings:
    pattern = exclusion_pattern(value)
    try:
        async with db.writing() as session, session.begin():
            company = await company_by_slug(session, slug)
            session.add(Exclusion(company_id=company.id, pattern=pattern))
    except IntegrityError:
        raise Conflict(f"{pattern} is already on {slug}'s never-log list") from None
    return await company_settings(db, slug)


async def remove_exclusion(db: Database, slug: str, value: str) -> CompanySettings:
    pattern = exclusion_pattern(value)
    async with db.writing() as session, session.begin():
        company = await company_by_slug(session, slug)
        result = await session.execute(delete(Exclusion).where(
            Exclusion.company_id == company.id, Exclusion.pattern == pattern))
        if rows_matched(result) == 0:
            raise NotFound(f"{pattern} is not on {slug}'s never-log list")
    return await company_settings(db, slug)


async def set_user(db: Database, email: str, *, auto_link: bool | None = None,
                   default_visibility: str | None = None) -> UserSettings:
    _choice(default_visibility, VISIBILITIES, "--default-sharing")
    async with db.writing() as session, session.begin():
        user = await user_by_email(session, email)
        if auto_link is not None:
            user.auto_link = auto_link
        if default_visibility is not None:
            user.default_visibility = default_visibility
        return UserSettings(user.email, user.auto_link, user.default_visibility)
