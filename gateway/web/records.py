"""The CRM records on the web: a list per kind (search, status, owner), one record's page (fields, linked
records, its mail in threads, activities, its own Bcc address), and Save to CRM from a message.

As in the mailbox, every id goes through gateway.services, visibility first: a record or message the
user may not see answers 404, the same page as for one that does not exist.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.crm.kinds import SENDING_KINDS
from gateway.locale import _
from gateway.services import NotFound, ServiceError, record_pages, save_to_crm
from gateway.services.web_auth import SessionUser
from gateway.web.pages import db_of, not_found, render, signed_in, url


async def records_page(request: Request, user: SessionUser) -> Response:
    query = request.query_params
    kind = query.get("kind") or "deal"
    current = {key: (query.get(key) or "").strip() for key in ("q", "status", "owner")}
    try:
        found = await record_pages.list_records(db_of(request), user, kind, **current,
                                                before=(query.get("before") or "").strip())
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot list these"), detail=str(error))
    return render(request, "records.html", user=user, found=found, current=current, kinds=record_pages.KINDS,
                  plurals=record_pages.PLURALS, statuses=record_pages.statuses(kind))


async def record_page(request: Request, user: SessionUser) -> Response:
    try:
        page = await record_pages.record_page(db_of(request), user, request.path_params["kind"],
                                              int(request.path_params["id"]))
    except NotFound:
        return not_found(request, user)
    return render(request, "record.html", user=user, r=page, kinds=record_pages.KINDS,
                  plurals=record_pages.PLURALS, sending_kinds=SENDING_KINDS,
                  notice=request.query_params.get("notice", ""))


async def save(request: Request, user: SessionUser) -> Response:
    """Save to CRM: make the chosen record from the message, link them, and go to the record."""
    form: dict[str, Any] = request.scope["form"]
    ident = int(request.path_params["id"])
    values = {key: str(form.get(key) or "") for key in ("title", "name", "email", "organization", "domain")}
    try:
        saved = await save_to_crm.save(db_of(request), user, ident, str(form.get("kind") or ""), **values)
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot save to the CRM"), detail=str(error))
    notice = (_("Saved; the message is linked.") if saved.created
              else _("The CRM had this contact; the message is linked."))
    return RedirectResponse(url(request, f"/records/{saved.kind}/{saved.id}", notice=notice), status_code=303)


ROUTES = [
    Route("/records", signed_in(records_page), methods=["GET"]),
    Route("/records/{kind:str}/{id:int}", signed_in(record_page), methods=["GET"]),
    Route("/messages/{id:int}/save", signed_in(save), methods=["POST"]),
]
