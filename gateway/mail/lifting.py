"""Long runs of lines taken out of a large message before the stdlib parser reads it.

The stdlib's parser reads a message line by line, in Python: a 20 MB attachment is 270,000 lines
and takes about eight times the message's size in memory. Yet a line of base64 (the alphabet
``A-Za-z0-9+/`` in groups of four) can never be a MIME boundary, which begins with ``--``, nor a
header field, which has a colon: a run of such lines always lies inside one body (of a part, or a
preamble or epilogue). Lines of text are the same when they follow a blank line (which ends every
header section), the first of them does not look like a header field (else it may start the header
section of an attached message) and none begins with ``--`` (a bare CR counting as a line end, as it
does for the stdlib); the one place where a blank line matters inside a body, the header blocks of a
``message/delivery-status``, is avoided by lifting no text from a message that names that type.

:func:`lift` replaces each long run with one line that names it, so the parser sees the same structure
in a fraction of the bytes. :meth:`Lifted.settle` then goes over the parsed parts: a base64 part whose
body starts with a run keeps it aside, and so does a text part (not inside an attached message, not
base64 or uuencoded) whatever runs its body holds; :func:`pieces` gives such a part's decoded bytes from
the runs directly, a piece at a time, exactly as the stdlib would decode the whole body. Every other run
goes back where it was, so every other value is the stdlib's own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
import secrets
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from typing import Iterator

MIN_MESSAGE = 256 * 1024       # smaller messages are parsed as they are
MIN_RUN = 32 * 1024            # shorter runs stay in place
PIECE = 1024 * 1024            # a run is decoded this much at a time for its size and hash
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_RUN_START = re.compile(rb"^[A-Za-z0-9+/]{64}", re.MULTILINE)    # a line that may start a run
_BLOCK = 64                    # lines checked at once
_B64_TEXT = re.compile(r"[A-Za-z0-9+/=\r\n]*")
_DASH_LINE = re.compile(rb"[\r\n]--")         # a line that may be a MIME boundary starts after its first byte
_BLANK_LINE = re.compile(rb"\n\r?\n")        # a blank line, ending where the lines after it start
_HEADER_LIKE = re.compile(rb"From |[\041-\071\073-\176]*:|[\t ]|\r|\n|--")   # email.feedparser.headerRE, more
_DELIVERY_STATUS = re.compile(rb"(?i)delivery-status")
_NOT_KEPT = frozenset({"base64", "x-uuencode", "uuencode", "uue", "x-uue"})
BLANK_LINES_TRIED = 100        # blank lines looked at, in one stretch between dash lines, for a run to start


@dataclass(frozen=True)
class Run:
    """Lines of base64 in ``raw``, from ``start`` to ``end`` (without the last line's end)."""

    raw: bytes
    start: int
    end: int

    def text(self) -> str:
        """The run as the stdlib reads bytes: ASCII, any other byte as a surrogate."""
        return self.raw[self.start:self.end].decode("ascii", "surrogateescape")

    def slices(self) -> Iterator[memoryview]:
        """The run's bytes, a piece at a time; each piece but the last ends just after an LF."""
        view, position = memoryview(self.raw), self.start
        while position < self.end:
            cut = self.raw.find(b"\n", min(position + PIECE, self.end) - 1, self.end)
            cut = self.end if cut < 0 else cut + 1
            yield view[position:cut]
            position = cut

    def pieces(self) -> Iterator[bytes]:
        """The run decoded from base64, a piece at a time; each piece ends at a line end, so at a whole quad."""
        for piece in self.slices():
            yield binascii.a2b_base64(piece)


class Part(EmailMessage):
    """A parsed part; ``lifted`` holds the run its base64 body starts with, and the rest of the body
    decoded; ``kept`` holds a text body as it was sent (its runs and the text between them, in order)
    and its transfer encoding."""

    lifted: tuple[Run, bytes] | None = None
    kept: tuple[tuple[Run | str, ...], str] | None = None


@dataclass
class Lifted:
    raw: bytes                                   # the message, each long run replaced by a token line
    runs: dict[str, Run] = field(default_factory=dict)          # token -> the run it replaces
    token: re.Pattern[str] = re.compile("(?!)")
    # (start, end) in the original of each run whose lines end with CRLF, the last one's included:
    # bytes known to hold no bare LF (gateway.mail.fingerprint.content_hash_of need not look there)
    crlf_spans: list[tuple[int, int]] = field(default_factory=list)

    def settle(self, msg: Message) -> None:
        """Put every run back into the parsed ``msg``, but those that base64 leaf parts start with."""
        stack: list[tuple[Message, bool]] = [(msg, False)]
        while stack:
            part, inside_message = stack.pop()
            for name in ("preamble", "epilogue"):
                text = getattr(part, name, None)
                if isinstance(text, str) and self.token.search(text):
                    setattr(part, name, self._restore(text))
            # the body as parsed (get_payload() may convert it); typeshed does not declare the attribute
            payload = part._payload  # type: ignore[attr-defined]
            if isinstance(payload, list):
                try:
                    enclosed = inside_message or part.get_content_maintype() == "message"
                except Exception:    # the stdlib's parameter parsing on hostile input
                    enclosed = True
                stack.extend((child, enclosed) for child in payload if isinstance(child, Message))
            elif isinstance(payload, str) and self.token.search(payload):
                if inside_message or not (self._keep_aside(part, payload) or self._keep_text(part, payload)):
                    part.set_payload(self._restore(payload))

    def _keep_aside(self, part: Message, payload: str) -> bool:
        """Keep the run of a base64 part whose body is that run and then valid base64 (or nothing)."""
        first = self.token.match(payload)
        if first is None or not isinstance(part, Part):
            return False
        if str(part.get("content-transfer-encoding", "")).lower() != "base64":
            return False
        rest = payload[first.end():]
        if self.token.search(rest) or not _B64_TEXT.fullmatch(rest):
            return False
        joined = "".join(rest.splitlines()).encode("ascii")
        try:     # the stdlib's first try (email._encoded_words.decode_b): padded, validated
            tail = base64.b64decode(joined + b"==="[:(4 - len(joined) % 4) % 4], validate=True)
        except binascii.Error:
            return False
        part.lifted = (self.runs[first.group()], tail)
        return True

    def _keep_text(self, part: Message, payload: str) -> bool:
        """Keep the body of a text part aside, as its runs and the text between them (any encoding but
        base64 and uuencode, which :meth:`_keep_aside` or the stdlib decode)."""
        if not isinstance(part, Part):
            return False
        try:
            if part.get_content_maintype() != "text":
                return False
        except Exception:    # the stdlib's parameter parsing on hostile input
            return False
        encoding = str(part.get("content-transfer-encoding", "")).lower()     # as the stdlib reads it
        if encoding in _NOT_KEPT:
            return False
        segments: list[Run | str] = []
        position = 0
        for found in self.token.finditer(payload):
            if found.start() > position:
                segments.append(payload[position:found.start()])
            segments.append(self.runs[found.group()])
            position = found.end()
        if position < len(payload):
            segments.append(payload[position:])
        part.kept = (tuple(segments), encoding)
        return True

    def _restore(self, text: str) -> str:
        return self.token.sub(lambda found: self.runs[found.group()].text(), text)


def lift(raw: bytes) -> Lifted | None:
    """``raw`` with its long runs (of base64, and of text) replaced by token lines; None when it has none
    to lift."""
    if len(raw) < MIN_MESSAGE:
        return None
    spans = list(_runs(raw))
    if not _DELIVERY_STATUS.search(raw):
        spans = sorted(spans + list(_text_runs(raw, spans)))
    if not spans:
        return None
    nonce = secrets.token_hex(8)
    while nonce.encode() in raw:       # the token names no text of the message
        nonce = secrets.token_hex(8)
    lifted = Lifted(b"", token=re.compile(rf"smartbcc\.lifted\.{nonce}\.\d+"))
    view = memoryview(raw)
    pieces: list[bytes | memoryview] = []
    position = 0
    for number, (start, end) in enumerate(spans):
        crlf = raw[end - 2:end] == b"\r\n"      # a base64 run's lines all end alike (_runs); text's may not
        if crlf and raw.count(b"\n", start, end) == raw.count(b"\r\n", start, end):
            lifted.crlf_spans.append((start, end))
        last_line_end = end - (2 if crlf else 1)   # stays: it may end the body
        token = f"smartbcc.lifted.{nonce}.{number}"
        lifted.runs[token] = Run(raw, start, last_line_end)
        pieces += [view[position:start], token.encode()]
        position = last_line_end
    pieces.append(view[position:])
    lifted.raw = b"".join(pieces)
    return lifted


def _runs(raw: bytes) -> Iterator[tuple[int, int]]:
    """Where the long runs of base64 lines are: (start, end just past the last line end), in order.

    A run is lines of one width (a multiple of four characters of the alphabet) with one kind of line
    end, as encoders write them; it is checked a block of lines at a time, with C-speed operations only.
    """
    position = 0
    while (found := _RUN_START.search(raw, position)) is not None:
        start = found.start()
        newline = raw.find(b"\n", start)
        if newline < 0:
            return
        eol = b"\r\n" if raw[newline - 1:newline] == b"\r" else b"\n"
        width = newline + 1 - len(eol) - start
        end = start
        if width % 4 == 0:
            for lines in (_BLOCK, 1):
                span = (width + len(eol)) * lines
                while end + span <= len(raw) and _are_lines(raw[end:end + span], width, eol, lines):
                    end += span
        if end - start >= MIN_RUN:
            yield start, end
        position = max(end, newline + 1)


def _text_runs(raw: bytes, taken: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Where the long runs of text lines are, outside the base64 runs ``taken`` (in order): (start, end
    just past the last line end). A run starts after a blank line, at a line that looks like no header
    field, and ends before the next line that starts with ``--`` (or a base64 run, or the last line end)."""
    for gap_start, gap_end in zip([0] + [end for _, end in taken], [start for start, _ in taken] + [len(raw)]):
        stretch = gap_start
        for dash in itertools.chain(_DASH_LINE.finditer(raw, max(gap_start - 1, 0), gap_end), [None]):
            stretch_end = gap_end if dash is None else dash.start() + 1
            start = _run_start(raw, stretch, stretch_end)
            if start >= 0:
                last = max(raw.rfind(b"\n", start, stretch_end), raw.rfind(b"\r", start, stretch_end))
                if last >= start and last + 1 - start >= MIN_RUN:
                    yield start, last + 1
            stretch = stretch_end


def _run_start(raw: bytes, start: int, end: int) -> int:
    """Where a run of text may start in ``raw[start:end]``: just after a blank line, at a line that is
    not blank and looks like no header field; -1 if nowhere (among the first few blank lines)."""
    for blank in itertools.islice(_BLANK_LINE.finditer(raw, start, end), BLANK_LINES_TRIED):
        if blank.end() < end and not _HEADER_LIKE.match(raw, blank.end()):
            return blank.end()
    return -1


def _are_lines(piece: bytes, width: int, eol: bytes, lines: int) -> bool:
    """``piece`` is ``lines`` lines of ``width`` base64 characters, each ended by ``eol``."""
    step = width + len(eol)
    # nothing but the alphabet and the line ends, and each line end where a line of that width ends
    return (piece.translate(None, _ALPHABET) == eol * lines and piece[step - 1::step] == b"\n" * lines
            and (eol == b"\n" or piece[width::step] == b"\r" * lines))


def pieces(part: Message) -> Iterator[bytes] | None:
    """The decoded body of a part whose body was kept aside (:meth:`Lifted.settle`), a piece at a time,
    as ``get_payload(decode=True)`` would give it whole; None for any other part."""
    lifted = getattr(part, "lifted", None)
    if lifted is not None:
        run, tail = lifted
        return itertools.chain(run.pieces(), [tail])
    kept = getattr(part, "kept", None)
    if kept is None:
        return None
    segments, encoding = kept
    sent = _sent_pieces(segments)
    if encoding == "quoted-printable":       # quopri.decodestring, a line at a time
        return (binascii.a2b_qp(piece) for piece in _whole_lines(sent))
    return sent


def _sent_pieces(segments: tuple[Run | str, ...]) -> Iterator[bytes]:
    """A kept body's bytes as sent (as the stdlib's get_payload makes them of its text), a piece at a time."""
    for segment in segments:
        if isinstance(segment, Run):
            yield from (bytes(piece) for piece in segment.slices())
        else:
            yield segment.encode("ascii", "surrogateescape")


def _whole_lines(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """``pieces`` cut anew so that each but the last ends just after an LF."""
    carry = b""
    for piece in pieces:
        if carry:
            piece = carry + piece
        cut = piece.rfind(b"\n") + 1
        carry = piece[cut:]
        if cut:
            yield piece[:cut]
    if carry:
        yield carry


def decoded(part: Message) -> bytes | None:
    """The decoded body of a part whose body was kept aside, whole; else None."""
    found = pieces(part)
    return None if found is None else b"".join(found)


def size_and_sha256(part: Message) -> tuple[int, str] | None:
    """What :func:`decoded` would give, measured and hashed a piece at a time, without holding it."""
    found = pieces(part)
    if found is None:
        return None
    digest, size = hashlib.sha256(), 0
    for piece in found:
        digest.update(piece)
        size += len(piece)
    return size, digest.hexdigest()
