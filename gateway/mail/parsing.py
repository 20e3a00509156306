"""Bytes as received -> :class:`ParsedMessage`: the one place that reads a message's headers and MIME.

``parse_message`` never raises: whatever bytes a client or a relay sent, the gateway gets a value it
can store and route (SPEC: nothing accepted is ever dropped). The stdlib ``email`` package parses the
MIME structure (``policy.default`` with one change, see :class:`_TextHeaders`); header text goes
through :mod:`gateway.mail.encodings`, which survives what real clients write.

The stdlib has quadratic corners and recursion (tens of thousands of header fields, a parameter list
of 40,000 semicolons, a thousand nested multiparts, 50,000 parts), so the parser has a budget: the
bytes are screened first (:func:`_screen`, a few passes at C speed) and a message past a structural
cap is read by :func:`degraded_parse`, from a bounded copy of its header section only; within the
caps, each header value the parser reads is cut to :data:`MAX_ADDRESSES` addresses,
:data:`MAX_ENCODED_WORDS` encoded-words, :data:`MAX_PARAMS` parameters and :data:`MAX_FIELD` characters.
Whatever was cut or skipped is named in ``ParsedMessage.degraded`` (stored with the message), so an
admin sees that its fields are incomplete; the raw bytes are kept whole either way.
"""

from __future__ import annotations

import calendar
import contextvars
import hashlib
import io
import itertools
import re
from datetime import datetime, timedelta, timezone
from email.feedparser import BytesFeedParser
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy
from email.utils import _parsedate_tz, parsedate_to_datetime  # type: ignore[attr-defined]
from typing import Iterable, Iterator

from gateway.mail import lifting
from gateway.mail.encodings import (
    charset_codec, decode_bytes, decode_pieces, decode_words, header_text, mailboxes, repair_header,
)
from gateway.mail.fingerprint import content_hash_of
from gateway.mail.forwards import find_forwarded
from gateway.mail.message import Attachment, ForwardedOriginal, Mailbox, ParsedMessage

MAX_DEPTH = 50          # multipart nesting we look into
MAX_PARTS = 5000        # MIME parts we look at
# The parser's budget: past these, the stdlib is not asked to read the structure (see the docstring).
MAX_HEADER_BYTES = 256 * 1024   # the top-level header section (Postfix: header_size_limit, 100 KiB)
MAX_HEADER_FIELDS = 1000        # fields in the top-level header section
MAX_BOUNDARY_LINES = 10_000     # lines starting with "--": an upper bound on MIME parts
MAX_MULTIPARTS = 100            # multipart containers declared: an upper bound on nesting depth
MAX_FIELD = 64 * 1024           # characters of any one header value read
MAX_ADDRESSES = 1000            # addresses read from one address field, and from all fields of a name
MAX_ENCODED_WORDS = 1000        # RFC 2047 encoded-words decoded in one header value
MAX_PARAMS = 100                # parameters read from a Content-Type or Content-Disposition
DEGRADED_BODY = 1024 * 1024     # bytes of a single-part text body kept by a degraded parse
MAX_BODY_TEXT = 1024 * 1024     # bytes of a text or HTML body made text, for display and search
TEXT_CUT = "kept as text"        # how parse_degraded says a body's text is its beginning only (the page says so)
FEED = 64 * 1024                # bytes handed to the stdlib's parser at a time
_ADDRESS_FIELDS = frozenset({"from", "to", "cc", "bcc", "sender", "reply-to", "resent-from", "resent-to",
                             "resent-cc", "resent-sender"})
_PARAM_FIELDS = frozenset({"content-type", "content-disposition"})
# what a degraded parse keeps of the header section: the fields parse_message reads
_READ_FIELDS = _ADDRESS_FIELDS | _PARAM_FIELDS | {
    "subject", "date", "message-id", "in-reply-to", "references", "auto-submitted", "precedence", "list-id",
    "return-path", "x-autoreply", "x-autorespond", "mime-version", "content-transfer-encoding", "received"}
_READ_FIELD = re.compile(rb"^(" + b"|".join(re.escape(name.encode()) for name in sorted(_READ_FIELDS)) +
                         rb")[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*\n?", re.MULTILINE | re.IGNORECASE)
_BOUNDARY_LINE = re.compile(rb"^--", re.MULTILINE)
_MULTIPART = re.compile(rb"^content-type:[ \t]*(?:\r?\n[ \t]+)?multipart/", re.MULTILINE | re.IGNORECASE)
_ENCODED_WORD_START = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?]*\?=")
# Earliest and latest instants every store takes: Python's datetime range, in UTC.
EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc)
LATEST = datetime(9999, 12, 30, 23, 59, 59, tzinfo=timezone.utc)
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_COMMENT = re.compile(r"\([^()]*\)")
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_BARE_MSG_ID = re.compile(r"[^<>\s@]+@[^<>\s@]+")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_DAEMONS = frozenset({"mailer-daemon", "postmaster"})


# What the parse under way had to cut (set by parse_message; the policy below adds to it).
_CUTS: contextvars.ContextVar[dict[str, None] | None] = contextvars.ContextVar("cuts", default=None)


def _cut(note: str) -> None:
    cuts = _CUTS.get()
    if cuts is not None:
        cuts[note] = None


class _TextHeaders(EmailPolicy):
    """``policy.default``, except that a header is read as text rather than as a header object, cut to
    the parser's budget (:func:`capped_value`).

    The stdlib turns 8-bit bytes in headers (Outlook's raw ISO-8859-1) into U+FFFD; here they are
    decoded (UTF-8 if valid, else windows-1252), and encoded-words are left for
    :func:`decode_words`, which is more forgiving than the stdlib's header parser.
    """

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        return capped_value(name, repair_header(_LINE_BREAKS.sub("", value)))


def capped_value(name: str, value: str) -> str:
    """``value`` of header ``name`` cut to the budget: characters, addresses, encoded-words, parameters.

    Each cut is noted for ``ParsedMessage.degraded``; below the caps the value is returned as it is."""
    lower = name.lower()
    if len(value) > MAX_FIELD:
        _cut(f"{lower}: {len(value)} characters, first {MAX_FIELD} read")
        value = value[:MAX_FIELD]
    if lower in _ADDRESS_FIELDS and value.count("@") > MAX_ADDRESSES:
        _cut(f"{lower}: {value.count('@')} addresses, first {MAX_ADDRESSES} read")
        cut = _nth(value, "@", MAX_ADDRESSES + 1)
        value = value[:max(value.rfind(",", 0, cut), 0)]
    if lower in _PARAM_FIELDS and value.count(";") > MAX_PARAMS:
        _cut(f"{lower}: {value.count(';')} parameters, first {MAX_PARAMS} read")
        value = value[:_nth(value, ";", MAX_PARAMS + 1)]
    if value.count("=?") > MAX_ENCODED_WORDS:
        words = list(itertools.islice(_ENCODED_WORD_START.finditer(value), MAX_ENCODED_WORDS + 1))
        if len(words) > MAX_ENCODED_WORDS:
            _cut(f"{lower}: over {MAX_ENCODED_WORDS} encoded-words, first {MAX_ENCODED_WORDS} read")
            value = value[:words[MAX_ENCODED_WORDS - 1].end()]
    return value


def _nth(text: str, char: str, n: int) -> int:
    """Index of the ``n``-th ``char`` in ``text`` (its length when there are fewer)."""
    position = -1
    for _ in range(n):
        position = text.find(char, position + 1)
        if position < 0:
            return len(text)
    return position


_POLICY = _TextHeaders(message_factory=lifting.Part)
_SERIALIZE = _POLICY.clone(linesep="\r\n", refold_source="none")


def parse_message(raw: bytes, *, mail_domain: str = "localhost") -> ParsedMessage:
    """Parse a message as received over SMTP, within the parser's budget; never raises."""
    over = _screen(raw)
    if over:
        return degraded_parse(raw, mail_domain=mail_domain, why=over)
    cuts: dict[str, None] = {}
    token = _CUTS.set(cuts)
    try:
        return _parse_message(raw, mail_domain, cuts)
    except (RecursionError, MemoryError) as error:
        return degraded_parse(raw, mail_domain=mail_domain, why=f"the parse failed ({type(error).__name__})")
    finally:
        _CUTS.reset(token)


def _parse_message(raw: bytes, mail_domain: str, cuts: dict[str, None]) -> ParsedMessage:
    lifted = lifting.lift(raw)      # long base64 runs set aside while the stdlib reads the structure
    content_hash = content_hash_of(raw, lifted.crlf_spans if lifted else ())
    msg = _mime(raw, lifted)
    if getattr(msg, "_smartbcc_headers_only", False):
        cuts["MIME structure not read"] = None
    return _fields(raw, msg, mail_domain, cuts, content_hash)


def _screen(raw: bytes) -> str:
    """Why ``raw`` is past the parser's structural budget ("" when it is within it); a few C-speed passes."""
    end = _header_end(raw, MAX_HEADER_BYTES + 1)
    if end < 0:
        return f"header section over {MAX_HEADER_BYTES} bytes"
    head = raw[:end]
    fields = head.count(b"\n") - head.count(b"\n ") - head.count(b"\n\t")
    if fields > MAX_HEADER_FIELDS:
        return f"{fields} header fields, over {MAX_HEADER_FIELDS}"
    if b"\n--" in raw:
        boundaries = len(_BOUNDARY_LINE.findall(raw, end))
        if boundaries > MAX_BOUNDARY_LINES:
            return f"{boundaries} MIME boundary lines, over {MAX_BOUNDARY_LINES}"
        multiparts = len(_MULTIPART.findall(raw))
        if multiparts > MAX_MULTIPARTS:
            return f"{multiparts} multipart containers, over {MAX_MULTIPARTS}"
    return ""


def _header_end(raw: bytes, limit: int) -> int:
    """Where the top-level header section ends (its blank line, or the end of ``raw``); -1 when that is
    beyond ``limit`` bytes."""
    ends = [found for found in (raw.find(b"\n\n", 0, limit), raw.find(b"\n\r\n", 0, limit)) if found >= 0]
    if ends:
        return min(ends) + 1
    return len(raw) if len(raw) <= limit else -1


def degraded_parse(raw: bytes, *, mail_domain: str = "localhost", why: str) -> ParsedMessage:
    """A parse that reads a bounded copy of the header section only (and the start of a single-part text
    body), for a message past the budget or whose full parse failed; ``degraded`` says ``why``.

    Linear in the message and small in memory, so it is safe in the serving process; never raises."""
    cuts: dict[str, None] = {why: None}
    token = _CUTS.set(cuts)
    try:
        head, body = _bounded_head(raw)
        kept = b"".join(head) + b"\r\n"
        msg = _parse(kept)
        if _content_type(msg).startswith("text/"):
            msg = _parse(kept + body)
        else:
            _cut("MIME parts not read")
        return _fields(raw, msg, mail_domain, cuts, content_hash_of(raw))
    except Exception as error:    # even the bounded read failed: the bytes are still kept
        cuts[f"headers not read ({type(error).__name__})"] = None
        return _fields(raw, EmailMessage(policy=_POLICY), mail_domain, cuts, content_hash_of(raw))
    finally:
        _CUTS.reset(token)


def _bounded_head(raw: bytes) -> tuple[list[bytes], bytes]:
    """The fields parse_message reads, from the whole header section (at most MAX_ADDRESSES of each name,
    each cut to MAX_FIELD bytes), and the body's first DEGRADED_BODY bytes. One regular-expression pass
    finds them, at C speed, however many other fields there are."""
    end = _header_end(raw, len(raw))
    kept: list[bytes] = []
    counts: dict[bytes, int] = {}
    for found in _READ_FIELD.finditer(raw, 0, end):
        name = found.group(1).lower()
        if counts.get(name, 0) >= MAX_ADDRESSES:
            continue
        counts[name] = counts.get(name, 0) + 1
        field = found.group(0)[:MAX_FIELD]
        kept.append(field if field.endswith(b"\n") else field + b"\r\n")
    return kept, raw[end:end + DEGRADED_BODY]


def _fields(raw: bytes, msg: Message, mail_domain: str, cuts: dict[str, None], content_hash: str) -> ParsedMessage:
    message_id = message_id_of(msg.get("message-id"))
    date = parse_date(msg.get("date"))
    from_ = _addresses(msg, "from")
    senders = mailboxes([msg.get("sender")])
    to, cc = _addresses(msg, "to"), _addresses(msg, "cc")
    subject = header_text(msg.get("subject"))
    text_body, html_body, attachments, attached = _contents(msg)
    forwarded = None
    if _content_type(msg) != "multipart/report":  # a bounce quotes the bounced message: no forward
        forwarded = _original(attached) if attached is not None else find_forwarded(
            text_body, html_body, outer_subject=subject, outer_mailboxes=from_ + to + cc,
            default_tz=(date.tzinfo if date else None) or timezone.utc,
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
        reply_to=_addresses(msg, "reply-to"),
        in_reply_to=message_ids_in(msg.get("in-reply-to")),
        references=message_ids_in(msg.get("references")),
        text_body=text_body,
        html_body=html_body,
        attachments=attachments,
        forwarded=forwarded,
        auto_generated=auto_generated_reason(msg, from_ + senders),
        header_names=tuple(name.lower() for name in msg.keys()),
        sha256=hashlib.sha256(raw).hexdigest(),
        degraded=tuple(cuts),
    )


def _addresses(msg: Message, name: str) -> tuple[Mailbox, ...]:
    """The mailboxes of every ``name`` field, at most MAX_ADDRESSES of them, however many fields."""
    values = msg.get_all(name, [])
    boxes = mailboxes(values[:MAX_ADDRESSES])
    if len(values) > MAX_ADDRESSES or len(boxes) > MAX_ADDRESSES:
        _cut(f"{name}: {len(values)} fields, first {MAX_ADDRESSES} addresses read")
    return boxes[:MAX_ADDRESSES]


def _mime(raw: bytes, lifted: lifting.Lifted | None) -> Message:
    msg = _parse(lifted.raw if lifted else raw)
    if lifted:
        lifted.settle(msg)
    return msg


def _parse(raw: bytes) -> Message:
    try:
        return _feed(raw)
    except Exception:  # the stdlib parser recurses per nesting level: fall back to headers only
        pass
    try:
        msg = BytesHeaderParser(policy=_POLICY).parsebytes(raw)
    except Exception:
        msg = EmailMessage(policy=_POLICY)
    msg._smartbcc_headers_only = True  # type: ignore[attr-defined]  # noted in ParsedMessage.degraded
    return msg


def _feed(raw: bytes) -> Message:
    """``email.message_from_bytes(raw)``, the same parse, fed :data:`FEED` bytes at a time. The stdlib's
    own reads the whole message into an ``io.StringIO``, which holds it as four bytes a character: a
    20 MB message took 100 MB more than its parts before a single line was parsed."""
    parser = BytesFeedParser(policy=_POLICY)
    for start in range(0, len(raw), FEED):
        parser.feed(raw[start:start + FEED])
    return parser.close()


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
    """A Date header as a timezone-aware datetime every store takes; None when missing or unreadable.

    Odd values are kept as far as they can be: a field out of its range (second 60, day 31 of a short
    month, hour 24) is clamped into it, a zone offset of a day or more is read as UTC, and an instant
    outside what a datetime can hold in UTC (``31 Dec 9999 23:59:59 -2359``, year 0) is clamped to
    :data:`LATEST` or :data:`EARLIEST`, given in UTC. The header itself stays in the raw bytes."""
    if not value or not value.strip():
        return None
    text = value.strip()[:200]
    try:
        date: datetime | None = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        date = _clamped_date(text)
    if date is None:
        return None
    if date.tzinfo is None:
        date = date.replace(tzinfo=timezone.utc)
    return safe_instant(date)


def safe_instant(date: datetime) -> datetime:
    """``date`` (aware) if its UTC form lies within EARLIEST..LATEST, else the bound it passed, in UTC."""
    offset = date.utcoffset() or timedelta(0)
    naive = date.replace(tzinfo=None)
    if naive - datetime.min < offset + timedelta(days=1):       # its UTC form would fall before year 1
        return EARLIEST
    if datetime.max - naive < -offset + timedelta(days=1):      # ... or after year 9999
        return LATEST
    return date


def _clamped_date(text: str) -> datetime | None:
    """A date the stdlib refuses, its fields clamped into range; None when it has no date at all."""
    try:
        fields = _parsedate_tz(text)
    except Exception:   # the stdlib's date tokenizer on hostile input
        return None
    if not fields:
        return None
    year, month, day, hour, minute, second = (int(f) for f in fields[:6])
    year, month = min(max(year, 1), 9999), min(max(month, 1), 12)
    day = min(max(day, 1), calendar.monthrange(year, month)[1])
    hour, minute, second = min(max(hour, 0), 23), min(max(minute, 0), 59), min(max(second, 0), 59)
    offset = fields[9]
    zone = timezone(timedelta(seconds=offset)) if offset is not None and abs(offset) < 86400 else timezone.utc
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


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
                stack.extend((child, depth + 1) for child in reversed(children) if isinstance(child, Message))
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
        size, sha256 = lifting.size_and_sha256(part) or _attachment_digest(part)
        attachments.append(Attachment(
            filename=_safe_filename(filename, len(attachments) + 1),
            content_type=kind,
            size=size,
            sha256=sha256,
        ))
    return text or "", html or "", tuple(attachments), attached


def _size_and_sha256(data: bytes) -> tuple[int, str]:
    return len(data), hashlib.sha256(data).hexdigest()


def _attachment_digest(part: Message) -> tuple[int, str]:
    """The size and SHA-256 of :func:`_payload`; an attached message is hashed as it is serialized,
    never held whole (:class:`_DigestGenerator`)."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return _size_and_sha256(_payload(part))
    digest = _Digest()
    for item in payload:
        if isinstance(item, Message):
            mark = digest.size, digest.sha256.copy()
            try:
                _DigestGenerator(digest, policy=_SERIALIZE).flatten(item)
            except Exception:   # as _serialize: what the generator fails on counts as nothing
                digest.size, digest.sha256 = mark
    return digest.size, digest.sha256.hexdigest()


class _Digest:
    """A binary file that only counts and hashes what is written to it."""

    def __init__(self) -> None:
        self.size = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        self.sha256.update(data)
        return len(data)


class _DigestGenerator(BytesGenerator):
    """``BytesGenerator`` writing the same bytes straight to its file, in order, a slice at a time.

    The stdlib's buffers every part (to write its headers after its body, in case the body makes it
    change them) and splits every body into a list of lines: an attached message of 20 MB took three
    times its size to hash. With an 8-bit policy no part's headers change, unless a multipart has an
    empty boundary (a new one is made): such a part is generated the stdlib's way."""

    _SLICE = 64 * 1024

    def _write(self, msg):
        payload = msg._payload
        if isinstance(payload, list) and msg.is_multipart() and not msg.get_boundary():
            return super()._write(msg)
        self._munge_cte = None
        meth = getattr(msg, "_write_headers", None)
        if meth is None:
            self._write_headers(msg)
        else:
            meth(self)
        self._dispatch(msg)
        assert not self._munge_cte, "an 8-bit policy never changes a part's transfer encoding"
        del self._munge_cte

    def _handle_multipart(self, msg):
        subparts = msg.get_payload()
        boundary = msg.get_boundary()
        if not isinstance(subparts, list) or not boundary or self._mangle_from_:
            return super()._handle_multipart(msg)
        if msg.preamble is not None:
            self._write_lines(msg.preamble)
            self.write(self._NL)
        self.write("--" + boundary + self._NL)
        for index, part in enumerate(subparts):
            if index:
                self.write(self._NL + "--" + boundary + self._NL)
            self.clone(self._fp).flatten(part, unixfrom=False, linesep=self._NL)
        self.write(self._NL + "--" + boundary + "--" + self._NL)
        if msg.epilogue is not None:
            self._write_lines(msg.epilogue)

    def _handle_message(self, msg):
        if not isinstance(msg._payload, list):
            return super()._handle_message(msg)
        self.clone(self._fp).flatten(msg.get_payload(0), unixfrom=False, linesep=self._NL)

    def _write_lines(self, lines):
        if not lines:
            return
        held: list[str] = []
        size = start = 0
        for found in _LINE_BREAKS.finditer(lines):     # email.generator.NLCRE
            held += [lines[start:found.start()], self._NL]
            size += found.end() - start
            start = found.end()
            if size >= self._SLICE:
                self.write("".join(held))
                held, size = [], 0
        if start < len(lines):
            held.append(lines[start:])
        if held:
            self.write("".join(held))


def _body_text(part: Message) -> str:
    """A body part as text with "\n" line ends (and no NUL, which no database column takes).

    A large body is one copy of its bytes and one of its text at the worst moment: a body kept aside by
    gateway.mail.lifting is decoded from the message's bytes a piece at a time, its line ends made LF
    on the bytes (in a charset where CR and LF are those bytes, as in ASCII), and each piece made text
    and dropped in turn (gateway.mail.encodings.decode_pieces). Only its first :data:`MAX_BODY_TEXT`
    bytes (to a line end) are made text, for display and search: past them the body stays in the raw
    bytes alone, and the cut is noted for ``ParsedMessage.degraded``."""
    charset = _param(part.get_content_charset)
    found = lifting.pieces(part)
    if found is None:
        found = iter((_payload(part),))
    if not _ascii_line_ends(charset):       # UTF-16 and the like: cut as text, where its line ends are
        data = b"".join(found)
        text = decode_bytes(data, charset)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if len(text) > MAX_BODY_TEXT:
            line_end = text.rfind("\n", 0, MAX_BODY_TEXT)
            text = text[:line_end + 1 if line_end >= 0 else MAX_BODY_TEXT]
            _cut(f"{_content_type(part)} body: {len(data)} bytes, first {len(text)} characters {TEXT_CUT}")
    else:
        text = decode_pieces(list(_lf_line_ends(_first_bytes(found, MAX_BODY_TEXT, _content_type(part)))), charset)
    return text.replace("\x00", "") if "\x00" in text else text


def _first_bytes(pieces: Iterable[bytes], limit: int, kind: str) -> Iterator[bytes]:
    """The first ``limit`` bytes of ``pieces`` (cut after the last line end within them, if there is one),
    the rest never decoded; a cut is noted for ``ParsedMessage.degraded`` with the body's whole size."""
    kept = 0
    pieces = iter(pieces)
    for piece in pieces:
        if kept + len(piece) <= limit:
            kept += len(piece)
            yield piece
            continue
        room = limit - kept
        line_end = piece.rfind(b"\n", 0, room)
        cut = line_end + 1 if line_end >= 0 else room
        total = kept + len(piece) + sum(len(rest) for rest in pieces)
        _cut(f"{kind} body: {total} bytes, first {kept + cut} {TEXT_CUT}")
        if cut:
            yield piece[:cut]
        return


def _ascii_line_ends(charset: str | None) -> bool:
    """Whether CR and LF are the bytes 13 and 10 in ``charset`` (as decode_bytes reads it), and never a
    part of another character: ASCII and its supersets, not UTF-16, UTF-32 or EBCDIC."""
    codec = charset_codec(charset)
    if codec is None:
        return True
    try:
        return "\r\n".encode(codec) == b"\r\n" and not codec.startswith(("utf-16", "utf-32"))
    except (UnicodeError, LookupError, ValueError):
        return False


def _lf_line_ends(pieces: Iterable[bytes]) -> Iterable[bytes]:
    """``pieces`` with CRLF and CR made LF, a piece at a time (a CRLF cut between two pieces included)."""
    carry = b""
    for piece in pieces:
        if carry:
            piece, carry = carry + piece, b""
        if piece.endswith(b"\r"):
            piece, carry = piece[:-1], b"\r"
        if b"\r" in piece:
            piece = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        yield piece
    if carry:
        yield b"\n"


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
            payload_bytes = part.get_payload(decode=True)
            data = payload_bytes if isinstance(payload_bytes, bytes) else None
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
