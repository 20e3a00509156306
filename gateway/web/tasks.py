"""Tasks on the web: "New task" from a message or a record, each user's task list (planned, with the
overdue ones first, and done), marking one done. Ids go through gateway.services.tasks: a message, record
or task the user may not see answers 404."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.locale import _
from gateway.services import NotFound, ServiceError, tasks
from gateway.services.web_auth import SessionUser
from gateway.web.pages import db_of, not_found, render, signed_in, url


async def tasks_page(request: Request, user: SessionUser) -> Response:
    status = "completed" if request.query_params.get("status") == "done" else "planned"
    found = await tasks.my_tasks(db_of(request), user, status)
    return render(request, "tasks.html", user=user, tasks=found, which=status,
                  notice=request.query_params.get("notice", ""))


async def done(request: Request, user: SessionUser) -> Response:
    try:
        task = await tasks.complete_task(db_of(request), user, int(request.path_params["id"]))
    except NotFound:
        return not_found(request, user)
    back = str(request.scope["form"].get("back") or "")
    back = back if back.startswith("/") and not back.startswith("//") and "\\" not in back else "/tasks"
    sep = "&" if "?" in back else "?"
    notice = _("Done: {task}").format(task=task.subject)
    return RedirectResponse(url(request, back) + sep + "notice=" + quote(notice), status_code=303)


def _where(request: Request) -> tuple[int | None, tuple[str, int] | None]:
    if "kind" in request.path_params:
        return None, (str(request.path_params["kind"]), int(request.path_params["id"]))
    return int(request.path_params["id"]), None


async def new_task(request: Request, user: SessionUser) -> Response:
    """The "New task" form (GET) and planning the task (POST)."""
    message_pk, record = _where(request)
    db = db_of(request)
    try:
        form = await tasks.task_form(db, user, message_pk=message_pk, record=record)
        if request.method == "POST":
            posted: dict[str, Any] = request.scope["form"]
            kind, _sep, ident = str(posted.get("record") or "").partition(":")
            owner = str(posted.get("owner") or "")
            await tasks.create_task(db, user, subject=str(posted.get("subject") or ""),
                                    due=str(posted.get("due") or ""),
                                    owner_user_id=int(owner) if owner.isdigit() else 0,
                                    record=(kind, int(ident) if ident.isdigit() else 0), message_pk=message_pk)
            back = f"/messages/{message_pk}" if message_pk is not None else f"/records/{kind}/{ident}"
            return RedirectResponse(url(request, back, notice=_("Task planned.")), status_code=303)
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot plan this task"), detail=str(error))
    action = f"/messages/{message_pk}/task" if record is None else f"/records/{record[0]}/{record[1]}/task"
    return render(request, "task_new.html", user=user, form=form, action=action)


ROUTES = [
    Route("/tasks", signed_in(tasks_page), methods=["GET"]),
    Route("/tasks/{id:int}/done", signed_in(done), methods=["POST"]),
    Route("/messages/{id:int}/task", signed_in(new_task), methods=["GET", "POST"]),
    Route("/records/{kind:str}/{id:int}/task", signed_in(new_task), methods=["GET", "POST"]),
]
