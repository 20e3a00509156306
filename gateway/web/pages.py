"""What every page handler shares: templates, the signed-in user, CSRF checks, the language, and answers.

Pages speak the signed-in user's language, else the browser's (the Guard negotiates Accept-Language for
every request); templates translate with ``{% trans %}`` and ``_()``, and format dates and numbers with the
``when``, ``day`` and ``number`` filters (gateway.locale).

A page that needs a user redirects to the sign-in page without one. Every POST carries the session's
CSRF token (a form field, or the X-CSRF-Token header), and its Origin, when the browser sends one,
must be this site: a page elsewhere cannot make a signed-in browser change anything.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any, Awaitable, Callable
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway import locale
from gateway.locale import _
from gateway.services import notifications
from gateway.services.web_auth import SessionUser, session_user
from gateway.store.database import Database

SESSION_COOKIE = "smartbcc_session"
PRE_COOKIE = "smartbcc_presign"        # before sign-in: the CSRF token of the sign-in forms

TEMPLATES = Environment(loader=PackageLoader("gateway.web", "templates"), extensions=["jinja2.ext.i18n"],
                        autoescape=select_autoescape(default=True, default_for_string=True))
TEMPLATES.install_gettext_callables(locale.gettext, locale.ngettext, newstyle=True)   # type: ignore[attr-defined]
TEMPLATES.filters.update(when=locale.when, day=locale.day, number=locale.number)
# a word that is data (a status, a record noun: gateway.web.vocabulary), translated as plain text: unlike
# _(), whose result the template trusts as markup, word() is escaped like any other value
TEMPLATES.globals["word"] = locale.gettext

Handler = Callable[[Request, SessionUser], Awaitable[Response]]


def db_of(request: Request) -> Database:
    return request.app.state.db


def url(request: Request, path: str, **query: Any) -> str:
    """A path of this application, under its base path, with the query values that are set."""
    values = {k: v for k, v in query.items() if v not in (None, "")}
    return base_path(request) + path + ("?" + urlencode(values) if values else "")


def base_path(request: Request) -> str:
    """The application's base path (a Mount's own prefix is not part of it)."""
    return request.scope.get("app_root_path", request.scope.get("root_path", ""))


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=base_path(request) or "/",
                        secure=secure(request), httponly=True, samesite="lax")


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    body = TEMPLATES.get_template(template).render(
        url=lambda path, **query: url(request, path, **query), request=request, lang=locale.current(),
        unread_notifications=request.scope.get("unread_notifications", 0), **values)
    return HTMLResponse(body, status_code=status, headers={"Content-Language": locale.current()})


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


async def current_user(request: Request) -> SessionUser | None:
    if "user" not in request.scope:
        token = request.cookies.get(SESSION_COOKIE, "")
        request.scope["user"] = await session_user(db_of(request), token) if token else None
    return request.scope["user"]


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:            # older browsers and non-browser clients send none
        return True
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def good_token(given: str | None, expected: str) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), expected)


async def form_with_csrf(request: Request, expected: str) -> dict[str, Any] | None:
    """The posted form, or None when its CSRF token or Origin is wrong."""
    form = await request.form()
    given = form.get("csrf") or request.headers.get("x-csrf-token")
    if not same_origin(request) or not good_token(given if isinstance(given, str) else None, expected):
        return None
    return {key: form.getlist(key) if key in ("ids",) else form.get(key) for key in form.keys()}


def forbidden(request: Request) -> HTMLResponse:
    return render(request, "error.html", 403, title=_("Form expired"),
                  detail=_("This form is out of date or came from another site. Go back, reload, and try again."))


def not_found(request: Request, user: SessionUser | None = None) -> HTMLResponse:
    return render(request, "error.html", 404, user=user, title=_("Not found"),
                  detail=_("There is nothing here, or nothing you may see."))


def signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run ``handler`` with the signed-in user; redirect to sign-in without one; check CSRF on POST."""
    async def endpoint(request: Request) -> Response:
        user = await current_user(request)
        if user is None:
            if request.method == "GET":
                return RedirectResponse(url(request, "/sign-in", next=request.url.path), status_code=303)
            return forbidden(request)
        if user.language:
            locale.use(user.language)
        if request.method == "POST":
            form = await form_with_csrf(request, user.csrf)
            if form is None:
                return forbidden(request)
            request.scope["form"] = form
        else:     # the unread counter every page shows
            request.scope["unread_notifications"] = await notifications.unread_count(db_of(request), user.user_id)
        return await handler(request, user)
    return endpoint


def pre_token(request: Request) -> str:
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
