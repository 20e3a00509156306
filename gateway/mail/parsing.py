"""Bytes as received -> :class:`ParsedMessage`: the one place that reads a message's headers and MIME.

``parse_message`` never raises: whatever bytes a client or a relay sent, the gateway gets a value it
can store and route (SPEC: nothing accepted is ever dropped). The stdlib ``email`` package parses the
MIME structure (``policy.default`` with one change, see :class:`_TextHeaders`); header text goes
through :mod:`gateway.mail.encodings`, which survives what real clients write.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime, timezone
from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy
from email.utils import parsedate_to_datetime
from typing import Any, Iterable

from gateway.mail import lifting
from gateway.mail.encodings import decode_bytes, decode_words, header_text, mailboxes, repair_header
from gateway.mail.forwards import find_forwarded
from gateway.mail.message import Attachment, ForwardedOriginal, Mailbox, ParsedMessage

# Added or rewritten by every hop: two deliveries of one message differ only in these.
TRACE_HEADERS = frozenset({
    "received", "return-path", "delivered-to", "x-original-to", "authentication-results",
    "arc-seal", "arc-message-signature", "arc-authentication-results", "received-spf", "x-received",
})
MAX_DEPTH = 50          # multipart nesting we look into
MAX_PARTS = 5000        # MIME parts we look at
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_COMMENT = re.compile(r"\([^()]*\)")
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_BARE_MSG_ID = re.compile(r"[^<>\s@]+@[^<>\s@]+")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_DAEMONS = frozenset({"mailer-daemon", "postmaster"})


class _TextHeaders(EmailPolicy):
    """``policy.default``, except that a header is read as text rather than as a header object.

    The stdlib turns 8-bit bytes in headers (Outlook's raw ISO-8859-1) into U+FFFD; here they are
    decoded (UTF-8 if valid, else windows-1252), and encoded-words are left for
    :func:`decode_words`, which is more forgiving than the stdlib's header parser.
    """

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        return repair_header(_LINE_BREAKS.sub("", value))


_POLICY = _TextHeaders(message_factory=lifting.Part)
_SERIALIZE = _POLICY.clone(linesep="\r\n", refold_source="none")


def parse_message(raw: bytes, *, mail_domain: str = "localhost") -> ParsedMessage:
    """Parse a message as received over SMTP; never raises."""
    lifted = lifting.lift(raw)      # long base64 runs set aside while the stdlib reads the structure
    content_hash = content_hash_of(raw, lifted.crlf_spans if lifted else ())
    msg = _mime(raw, lifted)
    message_id = message_id_of(msg.get("message-id"))
    date = parse_date(msg.get("date"))
    from_ = mailboxes(msg.get_all("from", []))
    senders = mailboxes([msg.get("sender")])
    to, cc = mailboxes(msg.get_all("to", [])), mailboxes(msg.get_all("cc", []))
    subject = header_text(msg.get("subject"))
    text_body, html_body, attachments, attached = _contents(msg)
    forwarded = None
    if _content_type(msg) != "multipart/report":  # a bounce quotes the bounced message: no forward
        forwarded = _original(attached) if attached is not None else find_forwarded(
            text_body, html_body, outer_subject=subject, outer_mailboxes=from_ + to + cc,
            default_tz=date.tzinfo if date else timezone.utc,
        )
    return ParsedMessage(
        message_id=message_id or f"<{content_hash[:32]}@{mail_domain}>",
        message_id_generated=not message_id,
        content_hash=content_hash,
        size=len(raw),
        subject=subject,
        date=date,
        from_=from_,
        sender=senders[0] if senders else None,
        to=to,
        cc=cc,
        reply_to=mailboxes(msg.get_all("reply-to", [])),
        in_reply_to=message_ids_in(msg.get("in-reply-to")),
        references=message_ids_in(msg.get("references")),
        text_body=text_body,
        html_body=html_body,
        attachments=attachments,
        forwarded=forwarded,
        auto_generated=auto_generated_reason(msg, from_ + senders),
        header_names=tuple(name.lower() for name in msg.keys()),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def content_hash_of(raw: bytes, crlf_spans: Iterable[tuple[int, int]] = ()) -> str:
    """sha256 of the message without trace headers, header fields unfolded, line ends as CRLF.

    ``crlf_spans``: (start, end) ranges of ``raw`` known to hold only CRLF line ends (the base64 runs
    gateway.mail.lifting found), in order; the search for a bare LF skips them."""
    digest = hashlib.sha256()
    position, end = 0, len(raw)
    fields: list[list[bytes]] = []  # each field's lines, unfolded by joining them
    while position < end:
        newline = raw.find(b"\n", position)
        following = end if newline == -1 else newline + 1
        line = raw[position:end if newline == -1 else newline].rstrip(b"\r")
        if not line:
            position = following
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        elif position == 0 and line.startswith(b"From "):
            pass  # an mbox envelope line, written by the delivery agent
        elif _HEADER_LINE.match(line) or line[:1] in (b" ", b"\t"):
            fields.append([line])
        else:
            break  # no blank line before the body: the body starts here
        position = following
    for lines in fields:
        name = lines[0].partition(b":")[0].strip().lower()
        if name.decode("ascii", "replace") not in TRACE_HEADERS:
            digest.update(b"".join(lines) + b"\r\n")
    digest.update(b"\r\n")
    body = memoryview(raw)[position:]
    if _has_bare_lf(raw, position, crlf_spans):
        _update_with_crlf(digest, body)
    else:
        digest.update(body)
    return digest.hexdigest()


def _has_bare_lf(raw: bytes, start: int, crlf_spans: Iterable[tuple[int, int]], piece: int = 1 << 20) -> bool:
    """Whether ``raw`` has an LF without a CR before it from ``start`` on, outside ``crlf_spans``.

    Spans start and end at line starts, so no CRLF is cut by one; the rest is looked at a piece at a
    time (a copy of each), the pieces cut after an LF."""
    gaps, position = [], start
    for span_start, span_end in crlf_spans:
        if span_end <= position:
            continue
        if span_start > position:
            gaps.append((position, span_start))
        position = max(position, span_end)
    gaps.append((position, len(raw)))
    for gap_start, gap_end in gaps:
        while gap_start < gap_end:
            cut = raw.find(b"\n", min(gap_start + piece, gap_end) - 1, gap_end)
            cut = gap_end if cut < 0 else cut + 1
            chunk = raw[gap_start:cut]
            if chunk.count(b"\n") != chunk.count(b"\r\n"):
                return True
            gap_start = cut
    return False


def _update_with_crlf(digest: Any, body: memoryview, piece: int = 1 << 20) -> None:
    """Hash ``body`` with every bare LF made CRLF, a piece at a time: a copy of a 20 MB body (or two,
    one per replace) would cost more memory than the rest of parsing."""
    carry = b""
    for start in range(0, len(body), piece):
        chunk = carry + body[start:start + piece].tobytes()
        chunk, carry = (chunk[:-1], b"\r") if chunk.endswith(b"\r") else (chunk, b"")   # its LF may follow
        if chunk.count(b"\n") != chunk.count(b"\r\n"):     # a bare LF: else the chunk is as it would be made
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        digest.update(chunk)
    digest.update(carry)


def _mime(raw: bytes, lifted: lifting.Lifted | None) -> Message:
    msg = _parse(lifted.raw if lifted else raw)
    if lifted:
        lifted.settle(msg)
    return msg


def _parse(raw: bytes) -> Message:
    try:
        return message_from_bytes(raw, policy=_POLICY)
    except Exception:  # the stdlib parser recurses per nesting level: fall back to headers only
        pass
    try:
        return BytesHeaderParser(policy=_POLICY).parsebytes(raw)
    except Exception:
        return EmailMessage(policy=_POLICY)


def message_id_of(value: str | None) -> str:
    """The Message-ID with angle brackets, or "" when the header is missing or unusable."""
    text = _without_comments(value or "")
    found = _MSG_ID.search(text)
    if found:
        candidate = found.group(1)
    elif _BARE_MSG_ID.fullmatch(text.strip()):
        candidate = text.strip()
    else:
        return ""
    if len(candidate) > 500 or _UNPRINTABLE.search(candidate):
        return ""
    return f"<{candidate}>"


def message_ids_in(value: str | None) -> tuple[str, ...]:
    """Message-IDs of In-Reply-To or References, in order, once each."""
    ids = (f"<{found}>" for found in _MSG_ID.findall(_without_comments(value or "")))
    return tuple(dict.fromkeys(i for i in ids if len(i) <= 502 and not _UNPRINTABLE.search(i)))


def _without_comments(text: str) -> str:
    for _ in range(10):
        stripped = _COMMENT.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    return text


def parse_date(value: str | None) -> datetime | None:
    """A Date header as a timezone-aware datetime; None when missing or unparsable."""
    if not value or not value.strip():
        return None
    try:
        date = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return date if date.tzinfo else date.replace(tzinfo=timezone.utc)


def auto_generated_reason(msg: Message, senders: tuple[Mailbox, ...]) -> str:
    """Why the message counts as machine-made (RFC 3834 and common practice), or ""."""
    submitted = (msg.get("auto-submitted") or "").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"auto-submitted: {submitted[:40]}"
    precedence = (msg.get("precedence") or "").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return f"precedence: {precedence}"
    if msg.get("list-id") is not None:
        return "list-id"
    if _content_type(msg) == "multipart/report":
        return "delivery report"
    for name in ("x-autoreply", "x-autorespond"):
        if msg.get(name) is not None:
            return name
    return_path = _without_comments(msg.get("return-path") or "").strip(" <>\t")
    localparts = [box.email.rpartition("@")[0] for box in senders]
    localparts.append(return_path.rpartition("@")[0] or return_path)
    for name in ("from", "sender"):  # "MAILER-DAEMON (Mail Delivery System)", no domain at all
        localparts.append(_without_comments(msg.get(name) or "").strip(" <>\t\"'"))
    if any(part.lower() in _DAEMONS for part in localparts):
        return "mailer-daemon"
    return ""


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # the stdlib's parameter parsing on hostile input
        return "application/octet-stream"


def _leaves(msg: Message):
    """Leaf parts in document order, iteratively; multipart containers are looked into, not yielded."""
    stack, seen = [(msg, 0)], 0
    while stack and seen < MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        if _content_type(part).startswith("multipart/"):
            children = part.get_payload()
            if isinstance(children, list) and depth < MAX_DEPTH:
                stack.extend((child, depth + 1) for child in reversed(children))
            continue
        yield part


def _contents(msg: Message) -> tuple[str, str, tuple[Attachment, ...], Message | None]:
    """Text body, HTML body, attachments and the first attached message of ``msg``."""
    text = html = None
    attachments: list[Attachment] = []
    attached: Message | None = None
    for part in _leaves(msg):
        kind = _content_type(part)
        filename = _param(part.get_filename)
        disposition = _param(part.get_content_disposition)
        if kind in ("text/plain", "text/html") and not filename and disposition != "attachment":
            if kind == "text/plain" and text is None:
                text = _body_text(part)
                continue
            if kind == "text/html" and html is None:
                html = _body_text(part)
                continue
        if not filename and disposition != "attachment" and kind.startswith("text/"):
            continue  # more inline text: not an attachment
        inner = _inner_message(part)
        if inner is not None and attached is None:
            attached = inner
        if inner is not None and not filename:
            filename = f"{header_text(inner.get('subject')) or f'attachment-{len(attachments) + 1}'}.eml"
        size, sha256 = lifting.size_and_sha256(part) or _size_and_sha256(_payload(part))
        attachments.append(Attachment(
            filename=_safe_filename(filename, len(attachments) + 1),
            content_type=kind,
            size=size,
            sha256=sha256,
        ))
    return text or "", html or "", tuple(attachments), attached


def _size_and_sha256(data: bytes) -> tuple[int, str]:
    return len(data), hashlib.sha256(data).hexdigest()


def _body_text(part: Message) -> str:
    """A body part as text with "\n" line ends (and no NUL, which no database column takes)."""
    text = decode_bytes(_payload(part), _param(part.get_content_charset))
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _param(getter):
    try:
        value = getter()
    except Exception:  # the stdlib's RFC 2231 handling on hostile input
        return None
    return value if isinstance(value, str) else None


def _inner_message(part: Message) -> Message | None:
    if _content_type(part) not in ("message/rfc822", "message/global"):
        return None
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    return None


def _payload(part: Message) -> bytes:
    """The decoded payload of a leaf part; an attached message as its bytes."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return b"".join(_serialize(item) for item in payload if isinstance(item, Message))
    try:
        data = lifting.decoded(part)
        if data is None:
            data = part.get_payload(decode=True)
    except Exception:  # the stdlib's transfer decoders on hostile input
        data = None
    return data if isinstance(data, bytes) else b""


def _serialize(msg: Message) -> bytes:
    buffer = io.BytesIO()
    try:
        BytesGenerator(buffer, policy=_SERIALIZE).flatten(msg)
    except Exception:  # the generator recurses per nesting level and re-reads every header
        return b""
    return buffer.getvalue()


def _safe_filename(name: str | None, number: int) -> str:
    """The last path component of a decoded file name, printable, never empty."""
    name = decode_words(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(_UNPRINTABLE.sub(" ", name).split())
    if name in ("", ".", ".."):
        return f"attachment-{number}"
    if len(name) > 255:
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem[:254 - len(suffix)]}.{suffix}" if dot and len(suffix) <= 16 else name[:255]
    return name


def _original(inner: Message) -> ForwardedOriginal:
    """The forwarded original from an attached message's own headers."""
    senders = mailboxes(inner.get_all("from", []))
    return ForwardedOriginal(
        sender=senders[0] if senders else None,
        to=mailboxes(inner.get_all("to", [])),
        cc=mailboxes(inner.get_all("cc", [])),
        date=parse_date(inner.get("date")),
        subject=header_text(inner.get("subject")),
        message_id=message_id_of(inner.get("message-id")),
        source="rfc822-attachment",
    )
