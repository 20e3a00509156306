"""Sending mail from a record: the compose page (recipients by the CRM's rules, To, Cc, Bcc, a subject, a
plain or formatted body, attachments) and the send.

A record the user may not view is 404, like every id here; sending needs edit rights on it (the page says
so). A formatted body is sanitized (gateway.web.sanitize) before it is sent and stored. An upload larger
than the message size limit is refused with the limit in words, before its bytes are read.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.crm.kinds import NOUNS
from gateway.mail.address import InvalidAddress
from gateway.locale import _, number
from gateway.services import NotFound, ServiceError, sending
from gateway.services.smarthost import OutboundError
from gateway.services.web_auth import SessionUser
from gateway.web.pages import db_of, not_found, render, signed_in, url
from gateway.web.sanitize import clean

UPLOAD_SLACK = 1024 * 1024      # the form's own fields and multipart framing, beyond the files


def _mib(size: int) -> str:
    """A size in MiB, written as the page's language writes numbers."""
    mib = size / (1024 * 1024)
    return f"{number(round(mib) if mib >= 10 else round(mib, 1))} MiB"


async def _page(request: Request, user: SessionUser, status: int = 200, error: str = "",
                values: dict[str, Any] | None = None) -> Response:
    kind, ident = request.path_params["kind"], int(request.path_params["id"])
    try:
        view = await sending.compose_view(db_of(request), user, kind, ident)
    except (NotFound, ServiceError):
        return not_found(request, user)
    return render(request, "compose.html", status, user=user, v=view, noun=NOUNS[kind], error=error,
                  values=values or {}, limit=_mib(view.max_size))


async def compose_page(request: Request, user: SessionUser) -> Response:
    return await _page(request, user)


async def send(request: Request, user: SessionUser) -> Response:
    form = await request.form()         # parsed (and cached) by signed_in, which checked its CSRF token
    try:
        return await _send(request, user, form)
    finally:
        await form.close()              # the uploads' temporary files


async def _send(request: Request, user: SessionUser, form: FormData) -> Response:
    kind, ident = request.path_params["kind"], int(request.path_params["id"])
    values: dict[str, Any] = {key: str(form.get(key) or "")
                              for key in ("to_other", "cc", "bcc", "subject", "body", "format")}
    chosen = [str(v) for v in form.getlist("to") if isinstance(v, str)]
    values["to"] = chosen
    uploads = []
    for item in form.getlist("attachments"):
        if isinstance(item, UploadFile) and item.filename:
            uploads.append(sending.Upload(item.filename, item.content_type or "application/octet-stream",
                                          await item.read()))
    body, html = values["body"], ""
    if values["format"] == "html":
        body, html = "", clean(values["body"], allow_remote=True).html
    draft = sending.Draft(to=(*chosen, values["to_other"]) if values["to_other"].strip() else tuple(chosen),
                          cc=(values["cc"],), bcc=(values["bcc"],), subject=values["subject"], text=body,
                          html=html, attachments=tuple(uploads))
    try:
        view = await sending.compose_view(db_of(request), user, kind, ident)    # 404 before anything else
        if not draft.to:
            raise ServiceError(_("choose a recipient, or type an address in To"))
        sent = await sending.send_from_record(db_of(request), kind, ident, user.email, draft)
    except NotFound:
        return not_found(request, user)
    except (ServiceError, InvalidAddress, OutboundError) as error:
        return await _page(request, user, 400, str(error), values)
    notice = _("Sent to {recipients} from {noun} {record}.").format(
        recipients=", ".join([*sent.to, *sent.cc, *sent.bcc]), noun=_(NOUNS[kind]), record=view.label)
    return RedirectResponse(url(request, f"/messages/{sent.message_pk}", notice=notice), status_code=303)


def _limited(endpoint: Any) -> Any:
    """Refuse a body larger than a message may be before reading it (a clear page, 413)."""
    async def guarded(request: Request) -> Response:
        limit = db_of(request).settings.max_message_size
        length = request.headers.get("content-length", "")
        if request.method == "POST" and length.isdigit() and int(length) > limit + UPLOAD_SLACK:
            return render(request, "error.html", 413, title=_("Too large to send"),
                          detail=_("The attachments come to {size}; a message may carry {limit} in all. Leave out "
                                   "an attachment, or send a link to it.").format(size=_mib(int(length)),
                                                                                  limit=_mib(limit)))
        return await endpoint(request)
    return guarded


ROUTES = [
    Route("/records/{kind:str}/{id:int}/send", signed_in(compose_page), methods=["GET"]),
    Route("/records/{kind:str}/{id:int}/send", _limited(signed_in(send)), methods=["POST"]),
]
