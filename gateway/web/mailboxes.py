"""/settings/mailboxes: the user's connected IMAP mailboxes, each with its unread count, status and first
sync's progress; connect one, sync it now, disconnect it. A mailbox of someone else answers 404.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.locale import _
from gateway.services import NotFound, ServiceError, mailboxes
from gateway.services.web_auth import SessionUser
from gateway.web.pages import db_of, not_found, render, signed_in, url
from gateway.web.settings import sections_for


async def page(request: Request, user: SessionUser, error: str = "", form: dict[str, Any] | None = None,
               status: int = 200) -> Response:
    views = await mailboxes.mine(db_of(request), user)
    syncing = any(v.status in ("new", "syncing") for v in views)
    return render(request, "settings_mailboxes.html", status, user=user, mailboxes=views, error=error,
                  form=form or {}, securities=mailboxes.SECURITIES, syncing=syncing,
                  sections=sections_for(user), here="/settings/mailboxes",
                  notice=request.query_params.get("notice", ""))


async def settings_page(request: Request, user: SessionUser) -> Response:
    return await page(request, user)


async def connect(request: Request, user: SessionUser) -> Response:
    form: dict[str, Any] = request.scope["form"]
    security = str(form.get("security") or "tls")
    try:
        days = int(str(form.get("days") or 0)) or None
        view = await mailboxes.connect(db_of(request), user.email, str(form.get("server") or ""),
                                       str(form.get("username") or ""), str(form.get("password") or ""),
                                       security, first_days=days)
    except ValueError as error:      # ServiceError included: the reason, on the form again
        kept = {k: v for k, v in form.items() if k in ("server", "username", "security", "days")}
        return await page(request, user, error=str(error), form=kept, status=400)
    return RedirectResponse(url(request, "/settings/mailboxes",
                                notice=_("Connected {mailbox}; its first sync runs in the background.").format(
                                    mailbox=view.username)),
                            status_code=303)


async def act(request: Request, user: SessionUser) -> Response:
    ident, action, db = int(request.path_params["id"]), request.path_params["action"], db_of(request)
    try:
        if action == "sync":
            await mailboxes.request_sync(db, ident, user)
            notice = _("Syncing now.")
        elif action == "disconnect":
            view = await mailboxes.disconnect(db, ident, user)
            notice = _("Disconnected {mailbox}; its mail stays here.").format(mailbox=view.username)
        else:
            return not_found(request, user)
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot do this"), detail=str(error))
    return RedirectResponse(url(request, "/settings/mailboxes", notice=notice), status_code=303)


ROUTES = [
    Route("/settings/mailboxes", signed_in(settings_page), methods=["GET"]),
    Route("/settings/mailboxes", signed_in(connect), methods=["POST"]),
    Route("/settings/mailboxes/{id:int}/{action:str}", signed_in(act), methods=["POST"]),
]
