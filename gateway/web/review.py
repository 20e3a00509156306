"""The review queue page: messages waiting for a deal, lead or project to be chosen, each with its open
candidates best first; one click links the chosen one (or none) and the item is gone.

The queue shows a user the items on messages they may see, and an admin the company's
(gateway.services.review); an item id the user may not act on answers 404.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.crm.kinds import NOUNS
from gateway.locale import _
from gateway.services import NotFound, ServiceError
from gateway.services import review
from gateway.services.web_auth import SessionUser
from gateway.web.pages import db_of, not_found, render, signed_in, url


async def queue_page(request: Request, user: SessionUser) -> Response:
    items = await review.queue(db_of(request), user)
    return render(request, "review.html", user=user, items=items, nouns=NOUNS,
                  notice=request.query_params.get("notice", ""))


async def resolve(request: Request, user: SessionUser) -> Response:
    form: dict[str, Any] = request.scope["form"]
    chosen = str(form.get("record") or "")
    if chosen != "none" and not chosen.isdigit():
        return render(request, "error.html", 400, user=user, title=_("Cannot resolve"),
                      detail=_("Choose one of the records, or none of them."))
    record_id = None if chosen == "none" else int(chosen)
    try:
        item = await review.resolve_item(db_of(request), user, int(request.path_params["id"]), record_id)
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot resolve"), detail=str(error))
    noun = _(NOUNS[item.kind])
    what = "“{}”".format(item.subject or _("(no subject)")) if item.seen else _("The private message")
    if record_id is not None:
        title = next(c.title for c in item.candidates if c.id == record_id)
        notice = _("{message} linked to the {noun} {title}.").format(message=what, noun=noun, title=title)
    else:
        notice = _("{message} left without a {noun}.").format(message=what, noun=noun)
    return RedirectResponse(url(request, "/review", notice=notice), status_code=303)


ROUTES = [
    Route("/review", signed_in(queue_page), methods=["GET"]),
    Route("/review/{id:int}/resolve", signed_in(resolve), methods=["POST"]),
]
