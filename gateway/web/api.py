"""The JSON API under /api/v1: the mailbox's reads and operations for scripts and other programs.

A personal access token (`smartbcc token create EMAIL`) goes in ``Authorization: Bearer <token>``; no
cookie is read here, so no request from another site can act for a signed-in browser. Errors are JSON,
``{"error": {"code": ..., "message": ...}}``, with the CLI's words: ``not_found`` (404, also for what the
token's user may not see), ``conflict`` (409), ``invalid`` (400), ``unauthorized`` (401).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.services import Conflict, NotFound, ServiceError
from gateway.services import mailbox, message_view, record_pages, review, save_to_crm, tasks
from gateway.services.mailbox import Row
from gateway.services.web_auth import SessionUser, token_user
from gateway.web.pages import db_of

ApiHandler = Callable[[Request, SessionUser], Awaitable[Any]]


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


def message_json(row: Row) -> dict[str, Any]:
    return {"id": row.id, "message_id": row.message_id, "subject": row.subject, "from_email": row.from_email,
            "from_name": row.from_name, "received_at": row.received_at.isoformat(), "folder": row.folder,
            "folder_id": row.folder_id, "read": row.read, "visibility": row.visibility,
            "direction": row.direction, "mine": row.mine}


def endpoint(handler: ApiHandler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        user = await token_user(db_of(request), token.strip()) if scheme.lower() == "bearer" and token else None
        if user is None:
            return error_response(401, "unauthorized", "send a valid access token: Authorization: Bearer <token>")
        try:
            result = await handler(request, user)
        except NotFound as error:
            return error_response(404, "not_found", str(error))
        except Conflict as error:
            return error_response(409, "conflict", str(error))
        except ServiceError as error:
            return error_response(400, "invalid", str(error))
        if isinstance(result, Response):
            return result
        return JSONResponse(result)
    return run


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ServiceError("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise ServiceError("the request body is a JSON object")
    return data


def _id(request: Request) -> int:
    return int(request.path_params["id"])


async def list_messages(request: Request, user: SessionUser) -> Any:
    from gateway.web.mailbox import filters_from
    query = request.query_params
    limit = int(query["limit"]) if query.get("limit", "").isdigit() else mailbox.PAGE
    page = await mailbox.list_page(db_of(request), user, filters_from(query), query.get("cursor") or None, limit)
    return {"messages": [message_json(row) for row in page.rows], "next_cursor": page.next_cursor,
            "unread": page.unread}


async def get_message(request: Request, user: SessionUser) -> Any:
    view = await message_view.open_message(db_of(request), user, _id(request), mark_read=False)
    return {**message_json(view.row), "owner": view.owner, "date": view.date.isoformat() if view.date else None,
            "participants": [asdict(p) for p in view.participants], "text_body": view.text_body,
            "has_html": bool(view.html_body), "forwarded": view.forwarded,
            "attachments": [asdict(a) for a in view.attachments], "links": [asdict(link) for link in view.links],
            "delivery": view.delivery, "bounces": [{**asdict(b), "received_at": b.received_at.isoformat()}
                                                   for b in view.bounces]}


async def patch_message(request: Request, user: SessionUser) -> Any:
    data, ident, db = await _body(request), _id(request), db_of(request)
    if "read" in data:
        await mailbox.mark(db, user, [ident], bool(data["read"]))
    if "folder" in data:
        await mailbox.move(db, user, [ident], str(data["folder"]))
    return await get_message(request, user)


async def delete_message(request: Request, user: SessionUser) -> Any:
    await mailbox.move(db_of(request), user, [_id(request)], "trash")
    return await get_message(request, user)


async def spam_message(request: Request, user: SessionUser) -> Any:
    senders = await mailbox.spam(db_of(request), user, [_id(request)])
    return {**(await get_message(request, user)), "offer_never_log": list(senders)}


async def add_link(request: Request, user: SessionUser) -> Any:
    data = await _body(request)
    record_id = data.get("record_id")
    if not isinstance(record_id, int):
        raise ServiceError("record_id is a number")
    await message_view.link(db_of(request), user, [_id(request)], str(data.get("kind", "")), record_id)
    return await get_message(request, user)


async def remove_link(request: Request, user: SessionUser) -> Any:
    await message_view.unlink(db_of(request), user, _id(request), request.path_params["kind"],
                              int(request.path_params["record_id"]))
    return await get_message(request, user)


async def bulk(request: Request, user: SessionUser) -> Any:
    """One operation on several messages: {"ids": [...], "action": "read|unread|trash|restore|spam|move",
    "folder": ...}."""
    data, db = await _body(request), db_of(request)
    ids = [i for i in data.get("ids") or [] if isinstance(i, int)]
    action = data.get("action")
    if action in ("read", "unread"):
        count = await mailbox.mark(db, user, ids, action == "read")
    elif action in ("trash", "restore"):
        count = await mailbox.move(db, user, ids, action)
    elif action == "move":
        count = await mailbox.move(db, user, ids, str(data.get("folder", "")))
    elif action == "spam":
        return {"changed": len(ids), "offer_never_log": list(await mailbox.spam(db, user, ids))}
    else:
        raise ServiceError("action is one of read, unread, trash, restore, spam, move")
    return {"changed": count}


async def empty_trash(request: Request, user: SessionUser) -> Any:
    return {"purged": await mailbox.empty_trash(db_of(request), user)}


async def list_folders(request: Request, user: SessionUser) -> Any:
    return {"folders": [{"id": "inbox", "name": "Inbox"}, {"id": "sent", "name": "Sent"},
                        {"id": "spam", "name": "Spam"}, {"id": "trash", "name": "Trash"},
                        *({"id": str(i), "name": n} for i, n in await mailbox.folders(db_of(request), user))]}


async def create_folder(request: Request, user: SessionUser) -> Any:
    ident = await mailbox.create_folder(db_of(request), user, str((await _body(request)).get("name", "")))
    return JSONResponse({"id": str(ident)}, status_code=201)


async def change_folder(request: Request, user: SessionUser) -> Any:
    if request.method == "DELETE":
        await mailbox.delete_folder(db_of(request), user, _id(request))
        return {"deleted": True}
    await mailbox.rename_folder(db_of(request), user, _id(request), str((await _body(request)).get("name", "")))
    return {"id": str(_id(request))}


def plain(value: Any) -> Any:
    """A dataclass as JSON's types (dates in ISO 8601)."""
    return json.loads(json.dumps(asdict(value), default=lambda v: v.isoformat()))


async def find_records(request: Request, user: SessionUser) -> Any:
    """With ``kind``: that kind's records, newest first, filtered like the Records page (q, status,
    owner); without: records of any kind to link, by name or address (q)."""
    query = request.query_params
    if query.get("kind"):
        found = await record_pages.list_records(db_of(request), user, query["kind"], query.get("q", ""),
                                                query.get("status", ""), query.get("owner", ""),
                                                query.get("before", ""))
        rows = plain(found)["rows"]
        return {"records": rows, "more": found.more,
                "next_before": str(found.rows[-1].id) if found.more and found.rows else None}
    hits = await message_view.find_records(db_of(request), user, query.get("q", ""))
    return {"records": [asdict(hit) for hit in hits]}


async def get_record(request: Request, user: SessionUser) -> Any:
    page = await record_pages.record_page(db_of(request), user, request.path_params["kind"], _id(request))
    return plain(page)


async def save_message(request: Request, user: SessionUser) -> Any:
    """Save to CRM: {"kind": "deal|lead|person|org", "title", "name", "email", "organization", "domain"};
    what is left out is the proposal the message page shows."""
    data = await _body(request)
    fields = {key: str(data[key]) for key in ("title", "name", "email", "organization", "domain")
              if data.get(key) is not None}
    saved = await save_to_crm.save(db_of(request), user, _id(request), str(data.get("kind", "")), **fields)
    page = await record_pages.record_page(db_of(request), user, saved.kind, saved.id)
    return JSONResponse(plain(page), status_code=201)


async def list_tasks(request: Request, user: SessionUser) -> Any:
    """The user's own tasks: planned (overdue first) or completed."""
    found = await tasks.my_tasks(db_of(request), user, request.query_params.get("status", "planned"))
    return {"tasks": [plain(task) for task in found]}


async def complete_task(request: Request, user: SessionUser) -> Any:
    return plain(await tasks.complete_task(db_of(request), user, _id(request)))


async def list_review(request: Request, user: SessionUser) -> Any:
    """The review items the user may act on, with their open candidates best first."""
    return {"items": [plain(item) for item in await review.queue(db_of(request), user)]}


async def resolve_review(request: Request, user: SessionUser) -> Any:
    """{"record_id": N} links that candidate; {"record_id": null} leaves the message without one."""
    data = await _body(request)
    if "record_id" not in data:
        raise ServiceError('say which candidate: {"record_id": N}, or null for none of them')
    chosen = data["record_id"]
    if chosen is not None and (not isinstance(chosen, int) or isinstance(chosen, bool)):
        raise ServiceError("record_id is a candidate's id (an integer) or null")
    return plain(await review.resolve_item(db_of(request), user, _id(request), chosen))


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


ROUTES = [
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/messages", endpoint(list_messages), methods=["GET"]),
    Route("/messages/bulk", endpoint(bulk), methods=["POST"]),
    Route("/messages/{id:int}", endpoint(get_message), methods=["GET"]),
    Route("/messages/{id:int}", endpoint(patch_message), methods=["PATCH"]),
    Route("/messages/{id:int}", endpoint(delete_message), methods=["DELETE"]),
    Route("/messages/{id:int}/spam", endpoint(spam_message), methods=["POST"]),
    Route("/messages/{id:int}/links", endpoint(add_link), methods=["POST"]),
    Route("/messages/{id:int}/links/{kind:str}/{record_id:int}", endpoint(remove_link), methods=["DELETE"]),
    Route("/messages/{id:int}/save-to-crm", endpoint(save_message), methods=["POST"]),
    Route("/trash/empty", endpoint(empty_trash), methods=["POST"]),
    Route("/folders", endpoint(list_folders), methods=["GET"]),
    Route("/folders", endpoint(create_folder), methods=["POST"]),
    Route("/folders/{id:int}", endpoint(change_folder), methods=["PATCH", "DELETE"]),
    Route("/records", endpoint(find_records), methods=["GET"]),
    Route("/records/{kind:str}/{id:int}", endpoint(get_record), methods=["GET"]),
    Route("/tasks", endpoint(list_tasks), methods=["GET"]),
    Route("/tasks/{id:int}/done", endpoint(complete_task), methods=["POST"]),
    Route("/review", endpoint(list_review), methods=["GET"]),
    Route("/review/{id:int}/resolve", endpoint(resolve_review), methods=["POST"]),
]

_MESSAGE = {"type": "object", "required": ["id", "message_id", "subject", "folder", "read", "visibility"],
            "properties": {"id": {"type": "integer"}, "message_id": {"type": "string"},
                           "subject": {"type": "string"}, "folder": {"type": "string"},
                           "read": {"type": "boolean"}, "visibility": {"type": "string", "enum": ["private", "shared"]},
                           "from_email": {"type": "string"}, "received_at": {"type": "string", "format": "date-time"}}}
_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _op(summary: str, params: list[dict[str, Any]] | None = None, body: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "parameters": params or [],
                          "responses": {"200": {"description": "done"}, "401": _ERROR, "404": _ERROR, "400": _ERROR}}
    if body:
        op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
    return op


_FILTERS = [{"name": n, "in": "query", "schema": {"type": "string"}, "description": d} for n, d in (
    ("q", "full-text search over subject, participants and body"), ("folder", "inbox, sent, spam, trash, all or a folder id"),
    ("since", "YYYY-MM-DD"), ("until", "YYYY-MM-DD"), ("read", "read or unread"), ("linked", "yes or no"),
    ("record", "kind:id, e.g. deal:7"), ("cursor", "next_cursor of the previous page"), ("limit", "1-200, default 50"))]
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "smartbcc mailbox API", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                   "schemas": {"Message": _MESSAGE, "Error": {"type": "object", "properties": {"error": {
                       "type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}}},
    "security": [{"bearer": []}],
    "paths": {
        "/messages": {"get": _op("Messages newest first, one page (cursor pagination)", _FILTERS)},
        "/messages/bulk": {"post": _op("One operation on several messages", body=True)},
        "/messages/{id}": {"get": _op("One message", [_ID]), "patch": _op("Mark read/unread, move", [_ID], True),
                           "delete": _op("Move to Trash", [_ID])},
        "/messages/{id}/spam": {"post": _op("Move to Spam and unlink", [_ID])},
        "/messages/{id}/links": {"post": _op("Link to a record {kind, record_id}", [_ID], True)},
        "/messages/{id}/links/{kind}/{record_id}": {"delete": _op("Unlink from a record", [
            _ID, {"name": "kind", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "record_id", "in": "path", "required": True, "schema": {"type": "integer"}}])},
        "/trash/empty": {"post": _op("Purge the Trash for good")},
        "/folders": {"get": _op("Folders"), "post": _op("Create a folder {name}", body=True)},
        "/folders/{id}": {"patch": _op("Rename a folder {name}", [_ID], True), "delete": _op("Delete a folder", [_ID])},
        "/records": {"get": _op("Records of one kind (with kind), or records to link by name or address", [
            {"name": n, "in": "query", "schema": {"type": "string"}, "description": d} for n, d in (
                ("kind", "deal, lead, person, org, project, invoice, quote or smart: list that kind"),
                ("q", "name, title or address"), ("status", "open, won, lost... (with kind)"),
                ("owner", "me or a user's id (with kind)"),
                ("before", "next_before of the previous page (with kind)"))])},
        "/records/{kind}/{id}": {"get": _op("One record: fields, linked records, mail in threads, activities", [
            {"name": "kind", "in": "path", "required": True, "schema": {"type": "string"}}, _ID])},
        "/messages/{id}/save-to-crm": {"post": _op(
            "Save to CRM: a deal, lead, contact or organization made from the message and linked to it "
            "{kind, title, name, email, organization, domain}", [_ID], True)},
        "/tasks": {"get": _op("The user's own tasks, planned (overdue first) or completed", [
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["planned", "completed"]}}])},
        "/tasks/{id}/done": {"post": _op("Mark a task done (its owner, or whoever may change its record)", [_ID])},
        "/review": {"get": _op("Messages waiting for a record, each with its open candidates best first")},
        "/review/{id}/resolve": {"post": _op(
            "Resolve a review item {record_id}: link that candidate, or null for none", [_ID], True)},
        "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI"}}}},
    },
}
