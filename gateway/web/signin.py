"""Signing in and out: a password an admin set, or a one-time code mailed through the smarthost.

The sign-in forms carry a CSRF token kept in a cookie of their own (so no other site can sign a browser
in to an account of its choosing). Wrong address, password and code get one and the same answer.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway import locale
from gateway.locale import _
from gateway.services import smarthost as outbound
from gateway.services import ServiceError
from gateway.services.web_auth import (
    RateLimited, SessionUser, SignedIn, code_sign_in, password_sign_in, request_code, sign_out,
)
from gateway.web.pages import (
    PRE_COOKIE, SESSION_COOKIE, base_path, client_address, current_user, db_of, forbidden, form_with_csrf, pre_token,
    render, set_cookie, signed_in, url,
)


def _next(request: Request, value: object) -> str:
    """Where to go after signing in: a path of this application only (never another site)."""
    text = value if isinstance(value, str) else ""
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return url(request, "/mailbox")
    root = base_path(request)
    return text if root and text.startswith(root + "/") else url(request, text)


def _page(request: Request, status: int = 200, **values: object) -> Response:
    token = pre_token(request)
    response = render(request, "sign_in.html", status, csrf=token, smarthost=bool(db_of(request).settings.smarthost),
                      next=request.query_params.get("next", ""), **values)
    set_cookie(request, response, PRE_COOKIE, token, 3600)
    return response


async def sign_in_page(request: Request) -> Response:
    if await current_user(request) is not None:
        return RedirectResponse(url(request, "/mailbox"), status_code=303)
    return _page(request)


def _signed_in(request: Request, signed: SignedIn, next_path: object) -> Response:
    response = RedirectResponse(_next(request, next_path), status_code=303)
    hours = db_of(request).settings.web_session_hours
    set_cookie(request, response, SESSION_COOKIE, signed.token, int(hours * 3600))
    response.delete_cookie(PRE_COOKIE, path=base_path(request) or "/")
    return response


async def sign_in(request: Request) -> Response:
    form = await form_with_csrf(request, request.cookies.get(PRE_COOKIE, ""))
    if form is None:
        return forbidden(request)
    email, next_path = str(form.get("email") or ""), form.get("next")
    try:
        if form.get("code"):
            signed = await code_sign_in(db_of(request), email, str(form["code"]), client_address(request))
        else:
            signed = await password_sign_in(db_of(request), email, str(form.get("password") or ""),
                                            client_address(request))
    except RateLimited as error:         # the refusals are marked for the catalogs: shown translated
        return _page(request, 429, error=_(str(error)), email=email)
    except ServiceError as error:
        return _page(request, 401, error=_(str(error)), email=email, code_sent=bool(form.get("code")))
    return _signed_in(request, signed, next_path)


async def send_code(request: Request) -> Response:
    form = await form_with_csrf(request, request.cookies.get(PRE_COOKIE, ""))
    if form is None:
        return forbidden(request)
    email = str(form.get("email") or "")
    try:
        await request_code(db_of(request), email, client_address(request), locale.current())
    except RateLimited as error:
        return _page(request, 429, error=_(str(error)), email=email)
    except (ServiceError, outbound.OutboundError) as error:
        return _page(request, 503 if isinstance(error, outbound.OutboundError) else 400, error=_(str(error)),
                     email=email)
    return _page(request, code_sent=True, email=email,
                 notice=_("If this address belongs to a user, a sign-in code is on its way. It works once, "
                          "for 15 minutes."))


async def _sign_out(request: Request, user: SessionUser) -> Response:
    everywhere = bool((request.scope.get("form") or {}).get("everywhere"))
    await sign_out(db_of(request), request.cookies.get(SESSION_COOKIE, ""), everywhere=everywhere)
    response = RedirectResponse(url(request, "/sign-in"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=base_path(request) or "/")
    return response


ROUTES = [
    Route("/sign-in", sign_in_page, methods=["GET"], name="sign_in_page"),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-in/code", send_code, methods=["POST"]),
    Route("/sign-out", signed_in(_sign_out), methods=["POST"]),
]
