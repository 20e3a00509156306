"""The notifications page: the user's latest notifications, each opening what it is about (and marked
read by that), and "mark all read". Another user's notification answers 404."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.locale import _
from gateway.services import NotFound, notifications
from gateway.services.web_auth import SessionUser
from gateway.web.pages import db_of, not_found, render, signed_in, url


def target(note: notifications.NotificationView) -> str:
    """Where a notification leads: its task list, message or record."""
    if note.activity_id is not None:
        return f"/tasks#task-{note.activity_id}"
    if note.message_pk is not None:
        return f"/messages/{note.message_pk}"
    if note.record_kind and note.record_id is not None:
        return f"/records/{note.record_kind}/{note.record_id}"
    if note.kind == "review":
        return "/review"
    return "/notifications"


async def notifications_page(request: Request, user: SessionUser) -> Response:
    found = await notifications.recent(db_of(request), user.user_id, limit=100)
    return render(request, "notifications.html", user=user, notes=found,
                  notice=request.query_params.get("notice", ""))


async def open_one(request: Request, user: SessionUser) -> Response:
    try:
        note = await notifications.open_notification(db_of(request), user.user_id, int(request.path_params["id"]))
    except NotFound:
        return not_found(request, user)
    path, _sep, anchor = target(note).partition("#")
    return RedirectResponse(url(request, path) + (f"#{anchor}" if anchor else ""), status_code=303)


async def read_all(request: Request, user: SessionUser) -> Response:
    count = await notifications.mark_read(db_of(request), user.user_id)
    notice = _("Marked {count} read.").format(count=count)
    return RedirectResponse(url(request, "/notifications", notice=notice), status_code=303)


ROUTES = [
    Route("/notifications", signed_in(notifications_page), methods=["GET"]),
    Route("/notifications/read", signed_in(read_all), methods=["POST"]),
    Route("/notifications/{id:int}", signed_in(open_one), methods=["GET"]),
]
