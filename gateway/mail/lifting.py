"""Long runs of base64 lines taken out of a large message before the stdlib parser reads it.

The stdlib's parser reads a message line by line, in Python: a 20 MB attachment is 270,000 lines
and takes about eight times the message's size in memory. Yet a line of base64 (the alphabet
``A-Za-z0-9+/`` in groups of four) can never be a MIME boundary, which begins with ``--``, nor a
header field, which has a colon: a run of such lines always lies inside one body (of a part, or a
preamble or epilogue). :func:`lift` replaces each long run with one line that names it, so the parser
sees the same structure in a fraction of the bytes. :meth:`Lifted.settle` then goes over the parsed
parts: a base64 part whose body starts with a run keeps it aside, and :func:`decoded` gives that
part's decoded bytes from the run directly, exactly as the stdlib would decode the whole body; every
other run goes back where it was, so every other value is the stdlib's own.
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


@dataclass(frozen=True)
class Run:
    """Lines of base64 in ``raw``, from ``start`` to ``end`` (without the last line's end)."""

    raw: bytes
    start: int
    end: int

    def text(self) -> str:
        return self.raw[self.start:self.end].decode("ascii")

    def pieces(self) -> Iterator[bytes]:
        """The run decoded, a piece at a time; each piece ends at a line end, so at a whole quad."""
        view, position = memoryview(self.raw), self.start
        while position < self.end:
            cut = self.raw.find(b"\n", min(position + PIECE, self.end), self.end)
            cut = self.end if cut < 0 else cut + 1
            yield binascii.a2b_base64(view[position:cut])
            position = cut


class Part(EmailMessage):
    """A parsed part; ``lifted`` holds the run its base64 body starts with, and the rest of the body
    decoded."""

    lifted: tuple[Run, bytes] | None = None


@dataclass
class Lifted:
    raw: bytes                                   # the message, each long run replaced by a token line
    runs: dict[str, Run] = field(default_factory=dict)          # token -> the run it replaces
    token: re.Pattern[str] = re.compile("(?!)")
    # (start, end) in the original of each run whose lines end with CRLF, the last one's included:
    # bytes known to hold no bare LF (gateway.mail.parsing.content_hash_of need not look there)
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
            payload = part._payload      # the body as parsed (get_payload() may convert it)
            if isinstance(payload, list):
                try:
                    enclosed = inside_message or part.get_content_maintype() == "message"
                except Exception:    # the stdlib's parameter parsing on hostile input
                    enclosed = True
                stack.extend((child, enclosed) for child in payload if isinstance(child, Message))
            elif isinstance(payload, str) and self.token.search(payload):
                if inside_message or not self._keep_aside(part, payload):
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

    def _restore(self, text: str) -> str:
        return self.token.sub(lambda found: self.runs[found.group()].text(), text)


def lift(raw: bytes) -> Lifted | None:
    """``raw`` with its long base64 runs replaced by token lines; None when it has none to lift."""
    if len(raw) < MIN_MESSAGE:
        return None
    spans = list(_runs(raw))
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
        crlf = raw[end - 2:end] == b"\r\n"      # a run's lines all end alike (_runs)
        if crlf:
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


def _are_lines(piece: bytes, width: int, eol: bytes, lines: int) -> bool:
    """``piece`` is ``lines`` lines of ``width`` base64 characters, each ended by ``eol``."""
    step = width + len(eol)
    # nothing but the alphabet and the line ends, and each line end where a line of that width ends
    return (piece.translate(None, _ALPHABET) == eol * lines and piece[step - 1::step] == b"\n" * lines
            and (eol == b"\n" or piece[width::step] == b"\r" * lines))


def _decoded_pieces(part: Message) -> Iterator[bytes] | None:
    """The decoded body of a part whose run was kept aside (:meth:`Lifted.settle`), a piece at a time;
    None for any other part."""
    lifted = getattr(part, "lifted", None)
    if lifted is None:
        return None
    run, tail = lifted
    return itertools.chain(run.pieces(), [tail])


def decoded(part: Message) -> bytes | None:
    """The decoded body of a part whose run was kept aside, whole; else None."""
    pieces = _decoded_pieces(part)
    return None if pieces is None else b"".join(pieces)


def size_and_sha256(part: Message) -> tuple[int, str] | None:
    """What :func:`decoded` would give, measured and hashed a piece at a time, without holding it."""
    pieces = _decoded_pieces(part)
    if pieces is None:
        return None
    digest, size = hashlib.sha256(), 0
    for piece in pieces:
        digest.update(piece)
        size += len(piece)
    return size, digest.hexdigest()
