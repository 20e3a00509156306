"""The settings pages: a user's own (Bcc addresses to copy, alternate sender addresses, auto-linking,
default sharing) and, for admins, the company's (CRM mode, the never-log list, users).

The pages are a list of sections (:data:`SECTIONS`): a new one adds its routes and a line there, and the
settings navigation shows it. Admin pages and forms answer 404 to anyone who is not an admin of the
company (gateway.services.company_admin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway import locale
from gateway.locale import LANGUAGES, N_, _, ngettext
from gateway.services import Conflict, NotFound, ServiceError
from gateway.services import account, company_admin, digest
from gateway.services.preferences import CLASSIC_CREATES, CRM_MODES, VISIBILITIES
from gateway.services.web_auth import SessionUser
from gateway.web.pages import db_of, not_found, render, signed_in, url


@dataclass(frozen=True)
class Section:
    """A settings page: its title in the settings navigation (English: the page translates it), its path,
    and who sees it."""

    title: str
    path: str
    admin_only: bool = False


SECTIONS: list[Section] = [
    Section(N_("Your settings"), "/settings"),
    Section(N_("Company"), "/settings/company", admin_only=True),
    Section(N_("Connected mailboxes"), "/settings/mailboxes"),
]


def sections_for(user: SessionUser) -> list[Section]:
    return [s for s in SECTIONS if user.is_admin or not s.admin_only]


def page(request: Request, user: SessionUser, template: str, here: str, **values: Any) -> Response:
    """A settings page, with the settings navigation (``here`` is its section's path)."""
    return render(request, template, user=user, sections=sections_for(user), here=here,
                  notice=request.query_params.get("notice", ""), **values)


def back(request: Request, path: str, notice: str) -> Response:
    return RedirectResponse(url(request, path, notice=notice), status_code=303)


Action = Callable[[Request, SessionUser, dict[str, Any]], Awaitable[Response]]


def form_action(action: Action) -> Callable[[Request, SessionUser], Awaitable[Response]]:
    """A POST handler: NotFound is a 404, any other ServiceError a 400 page saying what to fix."""
    async def handler(request: Request, user: SessionUser) -> Response:
        try:
            return await action(request, user, request.scope["form"])
        except NotFound:
            return not_found(request, user)
        except ServiceError as error:
            return render(request, "error.html", 400, user=user, title=_("Cannot change this"), detail=str(error))
    return handler


# --- the user's own settings -------------------------------------------------------------------------

async def own_page(request: Request, user: SessionUser) -> Response:
    mine = await account.account(db_of(request), user)
    return page(request, user, "settings.html", "/settings", account=mine, visibilities=VISIBILITIES,
                digest=await digest.digest_choice(db_of(request), user.user_id), languages=LANGUAGES)


async def preferences(request: Request, user: SessionUser, form: dict[str, Any]) -> Response:
    await account.set_preferences(db_of(request), user, auto_link=form.get("auto_link") == "on",
                                  default_visibility=str(form.get("default_sharing") or ""))
    return back(request, "/settings", _("Preferences saved."))


async def set_digest(request: Request, user: SessionUser, form: dict[str, Any]) -> Response:
    on = form.get("digest") == "on"
    await digest.set_own_digest(db_of(request), user.user_id, on)
    return back(request, "/settings", _("Daily digest on.") if on else _("Daily digest off."))


async def set_language(request: Request, user: SessionUser, form: dict[str, Any]) -> Response:
    """The user's language: this answer already speaks it (or the browser's, for none)."""
    chosen = await account.set_language(db_of(request), user, str(form.get("language") or ""))
    locale.use(locale.chosen(chosen, request.headers.get("accept-language", "")))
    return back(request, "/settings", _("Language saved."))


async def add_alternate(request: Request, user: SessionUser, form: dict[str, Any]) -> Response:
    added = await account.add_alternate(db_of(request), user, str(form.get("email") or ""))
    return back(request, "/settings", _("{address} added, pending; confirmation {confirmation}.").format(
        address=added.email, confirmation=added.confirmation))


async def change_alternate(request: Request, user: SessionUser, form: dict[str, Any]) -> Response:
    db, ident, action = db_of(request), int(request.path_params["id"]), request.path_params["action"]
    if action == "revoke":
        done = await account.revoke_alternate(db, user, ident)
        return back(request, "/settings",
                    _("{address} revoked: mail from it is no longer yours.").format(address=done.email))
    if action == "resend":
        done = await account.resend_alternate(db, user, ident)
        return back(request, "/settings", _("Confirmation {confirmation}.").format(confirmation=done.confirmation))
    raise NotFound(action)


# --- the company's settings (admins) -----------------------------------------------------------------

async def company_page(request: Request, user: SessionUser) -> Response:
    try:
        overview = await company_admin.overview(db_of(request), user)
    except NotFound:
        return not_found(request, user)
    return page(request, user, "settings_company.html", "/settings/company", company=overview, crm_modes=CRM_MODES,
                classic_creates=CLASSIC_CREATES)


async def crm_mode(request: Request, user: SessionUser, form: dict[str, Any]) -> Response:
    done = await company_admin.set_crm_mode(db_of(request), user, str(form.get("crm_mode") or ""),
                                            str(form.get("classic_creates") or "") or None)
    said = _("CRM mode: {mode}.").format(mode=_(done.crm_mode))
    if done.converted:
        said += " " + ngettext("{count} lead became a deal.", "{count} leads became deals.",
                               len(done.converted)).format(count=len(done.converted))
    return back(request, "/settings/company", said)


async def exclusions(request: Request, user: SessionUser, form: dict[str, Any]) -> Response:
    value, db = str(form.get("pattern") or ""), db_of(request)
    if form.get("action") == "remove":
        await company_admin.remove_exclusion(db, user, value)
        return back(request, "/settings/company", _("{address} taken off the never-log list.").format(address=value))
    try:
        await company_admin.add_exclusion(db, user, value)
    except Conflict as error:
        return back(request, "/settings/company", str(error))
    return back(request, "/settings/company",
                _("Mail from {address} will not be logged any more.").format(address=value))


async def add_user(request: Request, user: SessionUser, form: dict[str, Any]) -> Response:
    added = await company_admin.add_user(db_of(request), user, str(form.get("email") or ""),
                                         str(form.get("name") or ""))
    return back(request, "/settings/company",
                _("Added {address}; give them a password or a sign-in code.").format(address=added.email))


async def change_user(request: Request, user: SessionUser, form: dict[str, Any]) -> Response:
    action = request.path_params["action"]
    if action not in ("activate", "deactivate"):
        raise NotFound(action)
    done = await company_admin.set_active(db_of(request), user, int(request.path_params["id"]),
                                          action == "activate")
    said = _("{address} is now active.") if done.active else _("{address} is now inactive.")
    return back(request, "/settings/company", said.format(address=done.email))


ROUTES = [
    Route("/settings", signed_in(own_page), methods=["GET"]),
    Route("/settings/preferences", signed_in(form_action(preferences)), methods=["POST"]),
    Route("/settings/digest", signed_in(form_action(set_digest)), methods=["POST"]),
    Route("/settings/language", signed_in(form_action(set_language)), methods=["POST"]),
    Route("/settings/alternates", signed_in(form_action(add_alternate)), methods=["POST"]),
    Route("/settings/alternates/{id:int}/{action:str}", signed_in(form_action(change_alternate)), methods=["POST"]),
    Route("/settings/company", signed_in(company_page), methods=["GET"]),
    Route("/settings/company/crm", signed_in(form_action(crm_mode)), methods=["POST"]),
    Route("/settings/company/exclusions", signed_in(form_action(exclusions)), methods=["POST"]),
    Route("/settings/company/users", signed_in(form_action(add_user)), methods=["POST"]),
    Route("/settings/company/users/{id:int}/{action:str}", signed_in(form_action(change_user)), methods=["POST"]),
]
