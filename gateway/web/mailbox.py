"""The mailbox pages: the list with its folders, filters and search; one message; what a user does to them.

Every id in a URL or a form goes through gateway.services (visibility first): what the user may not see
answers 404, the same page as for an id that does not exist.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.locale import _, ngettext
from gateway.services import Conflict, NotFound, ServiceError
from gateway.services import comments, company_admin, mailbox, mailboxes, message_view, save_to_crm
from gateway.services.web_auth import SessionUser
from gateway.web.pages import db_of, not_found, render, signed_in, url
from gateway.web.sanitize import clean

BODY_CSP = ("default-src 'none'; img-src data:{remote}; style-src 'unsafe-inline'; font-src 'none'; "
            "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups "
            "allow-popups-to-escape-sandbox")
QUERY_KEYS = ("folder", "q", "since", "until", "read", "linked", "record")


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise ServiceError(f"a date is written YYYY-MM-DD, not {value!r}") from None


def _record(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    kind, _sep, ident = value.partition(":")
    if not ident.isdigit():
        raise ServiceError(f"a record is written kind:id (deal:7), not {value!r}")
    return kind, int(ident)


def filters_from(query: Any, default_folder: str = "inbox") -> mailbox.Filters:
    """Filters from query parameters (the page's and the API's are the same names)."""
    read, linked = query.get("read"), query.get("linked")
    q = (query.get("q") or "").strip()
    return mailbox.Filters(
        folder=query.get("folder") or (mailbox.ALL if q else default_folder), q=q,
        since=_date(query.get("since")), until=_date(query.get("until")),
        read={"read": True, "unread": False, "true": True, "false": False}.get(read or ""),
        linked={"yes": True, "no": False, "true": True, "false": False}.get(linked or ""),
        record=_record(query.get("record")))


async def mailbox_page(request: Request, user: SessionUser) -> Response:
    query = request.query_params
    try:
        filters = filters_from(query)
        page = await mailbox.list_page(db_of(request), user, filters, query.get("cursor") or None)
        connected = await mailboxes.mine(db_of(request), user)
        if connected:
            await mailboxes.owner_active(db_of(request), user)     # synced at once, and while active
        record_label = (await message_view.contact_known(db_of(request), user, *filters.record)
                        if filters.record else "")
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot show this"), detail=str(error))
    current = {key: query.get(key) for key in QUERY_KEYS if query.get(key)}
    return render(request, "mailbox.html", user=user, page=page, filters=filters, current=current,
                  record_label=record_label, notice=query.get("notice", ""), offer=query.getlist("offer"),
                  connected=connected)


def _ids(form: dict[str, Any]) -> list[int]:
    return [int(v) for v in form.get("ids") or [] if str(v).isdigit()]


async def act(request: Request, user: SessionUser) -> Response:
    """One operation on the checked messages (or the one open message)."""
    form: dict[str, Any] = request.scope["form"]
    action, ids, db = str(form.get("action") or ""), _ids(form), db_of(request)
    back = str(form.get("back") or "")
    back = back if back.startswith("/") and not back.startswith("//") and "\\" not in back else "/mailbox"
    notice = ""
    offer: tuple[str, ...] = ()
    try:
        if action in ("read", "unread"):
            count = await mailbox.mark(db, user, ids, action == "read")
            notice = (_("Marked {count} as read.") if action == "read" else _("Marked {count} as unread.")).format(
                count=count)
        elif action == "trash":
            notice = _("Moved {count} to Trash.").format(count=await mailbox.move(db, user, ids, 'trash'))
        elif action == "restore":
            notice = _("Restored {count}.").format(count=await mailbox.move(db, user, ids, 'restore'))
        elif action == "spam":
            offer = await mailbox.spam(db, user, ids)
            notice = _("Moved {count} to Spam and unlinked them from records.").format(count=len(ids))
        elif action == "move":
            notice = _("Moved {count}.").format(count=await mailbox.move(db, user, ids, str(form.get('to') or '')))
        elif action == "link":
            kind, record_id = _record(str(form.get("record") or "")) or ("", 0)
            count = await message_view.link(db, user, ids, kind, record_id)
            notice = ngettext("Linked {count} message to the record.", "Linked {count} messages to the record.",
                              count).format(count=count)
        else:
            raise ServiceError("choose what to do with the messages")
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot do this"), detail=str(error))
    sep = "&" if "?" in back else "?"
    target = url(request, back) + sep + "notice=" + quote(notice) + "".join(f"&offer={quote(o)}" for o in offer)
    return RedirectResponse(target, status_code=303)


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """A file name a download may carry: no path, no control or bidi characters, no leading dot."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '"<>:|?*')
    name = name.strip().lstrip(".").strip()
    return name[:150] or fallback


def disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name."""
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", name).strip() or "attachment"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


async def message_page(request: Request, user: SessionUser) -> Response:
    ident = int(request.path_params["id"])
    db = db_of(request)
    find = (request.query_params.get("find") or "").strip()
    try:
        view = await message_view.open_message(db, user, ident)
        hits = await message_view.find_records(db, user, find) if find else []
        folders = await mailbox.folders(db, user)
        offer = await save_to_crm.offer(db, user, ident)
        discussion = await comments.comments_on(db, user, ident)
    except NotFound:
        return not_found(request, user)
    remote = request.query_params.get("remote") == "1"
    blocked = clean(view.html_body).remote_blocked if view.html_body else 0
    return render(request, "message.html", user=user, m=view, remote=remote, blocked=blocked, find=find,
                  hits=hits, folders=folders, save=offer, discussion=discussion,
                  notice=request.query_params.get("notice", ""),
                  offer=request.query_params.getlist("offer"))


async def message_body(request: Request, user: SessionUser) -> Response:
    """The sanitized HTML body, for the sandboxed frame of the message page."""
    try:
        view = await message_view.open_message(db_of(request), user, int(request.path_params["id"]), mark_read=False)
    except NotFound:
        return not_found(request, user)
    remote = request.query_params.get("remote") == "1"
    cleaned = clean(view.html_body, allow_remote=remote)
    page = ('<!doctype html><html><head><meta charset="utf-8"></head><body>' + cleaned.html + "</body></html>")
    return Response(page, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": BODY_CSP.format(remote=" https: http:" if remote else ""),
        "X-Frame-Options": "SAMEORIGIN"})


async def message_raw(request: Request, user: SessionUser) -> Response:
    ident = int(request.path_params["id"])
    try:
        data = await message_view.raw_message(db_of(request), user, ident)
    except NotFound:
        return not_found(request, user)
    return Response(data, media_type="message/rfc822", headers={
        "Content-Disposition": disposition(f"message-{ident}.eml"),
        "Content-Security-Policy": "default-src 'none'; sandbox"})


_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*\Z")


async def attachment(request: Request, user: SessionUser) -> Response:
    try:
        info, data = await message_view.attachment(db_of(request), user, int(request.path_params["id"]),
                                                   int(request.path_params["n"]))
    except NotFound:
        return not_found(request, user)
    kind = info.content_type.lower() if _TYPE.match(info.content_type.lower()) else "application/octet-stream"
    return Response(data, media_type=kind, headers={
        "Content-Disposition": disposition(safe_filename(info.filename, f"attachment-{info.number}")),
        "Content-Security-Policy": "default-src 'none'; sandbox"})


async def unlink(request: Request, user: SessionUser) -> Response:
    form: dict[str, Any] = request.scope["form"]
    ident = int(request.path_params["id"])
    try:
        kind, record_id = _record(str(form.get("record") or "")) or ("", 0)
        await message_view.unlink(db_of(request), user, ident, kind, record_id)
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot unlink"), detail=str(error))
    return RedirectResponse(url(request, f"/messages/{ident}", notice=_("Unlinked.")), status_code=303)


async def comment(request: Request, user: SessionUser) -> Response:
    """Discuss: a comment on the message; the colleagues it mentions who may see the message hear of it."""
    ident = int(request.path_params["id"])
    try:
        added = await comments.add_comment(db_of(request), user, ident, str(request.scope["form"].get("body") or ""))
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot add the comment"), detail=str(error))
    return RedirectResponse(url(request, f"/messages/{ident}", notice=_("Comment added.")) + f"#comment-{added.id}",
                            status_code=303)


async def folder_action(request: Request, user: SessionUser) -> Response:
    form: dict[str, Any] = request.scope["form"]
    db, action = db_of(request), request.path_params.get("action", "create")
    try:
        if action == "create":
            ident = await mailbox.create_folder(db, user, str(form.get("name") or ""))
            return RedirectResponse(url(request, "/mailbox", folder=str(ident)), status_code=303)
        folder_id = int(request.path_params["id"])
        if action == "rename":
            await mailbox.rename_folder(db, user, folder_id, str(form.get("name") or ""))
            return RedirectResponse(url(request, "/mailbox", folder=str(folder_id)), status_code=303)
        await mailbox.delete_folder(db, user, folder_id)
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot change the folder"), detail=str(error))
    return RedirectResponse(url(request, "/mailbox", notice=_("Folder deleted; its messages are back in place.")),
                            status_code=303)


async def empty_trash(request: Request, user: SessionUser) -> Response:
    count = await mailbox.empty_trash(db_of(request), user)
    notice = _("Emptied the Trash ({count}).").format(count=count)
    return RedirectResponse(url(request, "/mailbox", folder="trash", notice=notice),
                            status_code=303)


async def never_log(request: Request, user: SessionUser) -> Response:
    """The never-log offer after marking spam: the company's list, so for its admins only (else 404)."""
    address = str(request.scope["form"].get("address") or "")
    try:
        await company_admin.add_exclusion(db_of(request), user, address)
        notice = _("Mail from {address} will not be logged any more.").format(address=address)
    except Conflict:
        notice = _("{address} was on the never-log list already.").format(address=address)
    except NotFound:
        return not_found(request, user)
    except ServiceError as error:
        return render(request, "error.html", 400, user=user, title=_("Cannot add the address"), detail=str(error))
    return RedirectResponse(url(request, "/mailbox", folder="spam", notice=notice), status_code=303)


ROUTES = [
    Route("/mailbox", signed_in(mailbox_page), methods=["GET"]),
    Route("/mailbox/act", signed_in(act), methods=["POST"]),
    Route("/messages/{id:int}", signed_in(message_page), methods=["GET"]),
    Route("/messages/{id:int}/body", signed_in(message_body), methods=["GET"]),
    Route("/messages/{id:int}/raw", signed_in(message_raw), methods=["GET"]),
    Route("/messages/{id:int}/attachments/{n:int}", signed_in(attachment), methods=["GET"]),
    Route("/messages/{id:int}/unlink", signed_in(unlink), methods=["POST"]),
    Route("/messages/{id:int}/comments", signed_in(comment), methods=["POST"]),
    Route("/folders", signed_in(folder_action), methods=["POST"]),
    Route("/folders/{id:int}/{action:str}", signed_in(folder_action), methods=["POST"]),
    Route("/trash/empty", signed_in(empty_trash), methods=["POST"]),
    Route("/never-log", signed_in(never_log), methods=["POST"]),
]
