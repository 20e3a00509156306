"""SMTP DATA framing on large chunks (RFC 5321 4.5.2), as pure code over bytes: no I/O.

The data of DATA is read in chunks of whatever size the socket delivers, never line by line.
:class:`DataFramer` is fed those chunks in order and says where the data ends: only ``<CR><LF>.<CR><LF>``
ends it, the data starting right after the 354 reply at the start of a line (so ``.<CR><LF>`` first is
the empty message). A bare LF or CR around a dot (``<LF>.<LF>``, ``<CR><LF>.<LF>``, ``<CR>.<CR>``, ...)
never ends it: those bytes stay in the message (SMTP smuggling, CVE-2023-51764). Lines are what
``<CR><LF>`` ends, as aiosmtpd reads them. Their length and the message size are checked as the chunks
arrive, like aiosmtpd's own DATA: the first limit overrun decides the refusal, and the data is dropped
from then on (the end of the data is still awaited). A line too long that holds a bare LF is told
apart (:attr:`Overrun.BARE_LF`): its sender ends lines with LF alone, it did not write a long line.
The caller may also give up on the message (:meth:`DataFramer.abandon`) and read on to the end.
"""

from __future__ import annotations

import enum

END = b"\r\n.\r\n"
START = b"\r\n"      # the data starts a line: as if a CRLF came just before it
_DOT_LINE = len(b".\r\n")      # the end of the data that is not message
_KEEP = len(END) - 1


class Overrun(enum.Enum):
    TOO_LONG = "a line longer than the line length limit"
    BARE_LF = "a line longer than the line length limit, for its lines end with a bare LF"
    TOO_MUCH = "more data than the size limit"
    ABANDONED = "the message could not be kept"


def find_end(tail: bytes, chunk: bytes) -> int:
    """Where ``<CR><LF>.<CR><LF>`` finishes in ``chunk``: the index just past it, or -1.

    ``tail`` is what came just before ``chunk`` (its last four bytes are enough; :data:`START` before
    the first chunk), so an end split across chunks is found in the chunk that completes it."""
    tail = tail[-_KEEP:]
    seam = (tail + chunk[:_KEEP]).find(END)
    if seam >= 0:
        return seam + len(END) - len(tail)
    inside = chunk.find(END) if b"." in chunk else -1     # a dot-less chunk (base64, mostly) is quick to rule out
    return inside + len(END) if inside >= 0 else -1


def line_lengths(open_line: int, after_cr: bool, chunk: bytes) -> tuple[list[int], int]:
    """The lengths (CRLF included) of the lines that ``chunk`` completes, and the length of the line it
    leaves open. ``open_line`` is the length of the line left open before ``chunk``; ``after_cr`` says it
    ends with a CR, whose LF may start ``chunk``."""
    parts = chunk.split(b"\r\n")
    closed = [len(part) + 2 for part in parts[:-1]]
    left_open = len(parts[-1])
    if after_cr and chunk.startswith(b"\n"):       # a CRLF across the seam: the LF closes the open line
        if closed:
            closed[0] -= 1
        else:
            left_open -= 1
        return [open_line + 1, *closed], left_open
    if closed:
        closed[0] += open_line
    else:
        left_open += open_line
    return closed, left_open


def lines_fit(open_line: int, after_cr: bool, chunk: bytes, limit: int) -> tuple[bool, int]:
    """Whether the lines ``chunk`` completes, and the line it leaves open, are all at most ``limit`` long
    (as :func:`line_lengths` counts them); and the length of that open line (meaningful when they fit).

    It jumps from each line start to the last CRLF within ``limit`` bytes: a step per ``limit`` bytes
    or so, not one per line."""
    size = len(chunk)
    if after_cr and chunk.startswith(b"\n"):       # a CRLF across the seam closes the open line
        if open_line + 1 > limit:
            return False, 0
        start = 1
    else:
        first = chunk.find(b"\r\n")
        if first < 0:
            return open_line + size <= limit, open_line + size
        if open_line + first + 2 > limit:
            return False, 0
        start = first + 2
    while True:
        last = chunk.rfind(b"\r\n", start, min(start + limit, size))
        if last < 0:
            return start + limit >= size, size - start
        start = last + 2


def unstuff(data: bytes, before: bytes = START) -> bytes:
    """RFC 5321 4.5.2 transparency undone: a line that begins with a dot loses that dot. Only CRLF
    ends a line, so a dot after a bare CR or LF stays. ``before``: the (stuffed) bytes that came just
    before ``data`` (its last two are enough; :data:`START` when ``data`` starts the message)."""
    if b"." not in data:
        return data
    if before.endswith(b"\r\n") and data.startswith(b"."):
        data = data[1:]
    elif before.endswith(b"\r") and data.startswith(b"\n."):
        data = b"\n" + data[2:]
    return data.replace(b"\r\n.", b"\r\n")


class DataFramer:
    """The chunks of one DATA, fed in order, until the end of the data (:meth:`feed`); then the message
    (:meth:`message`) or the limit it overran (:attr:`overrun`). ``size_limit`` 0 or None: no limit."""

    def __init__(self, size_limit: int | None, line_limit: int) -> None:
        self.size_limit = size_limit or None
        self.line_limit = line_limit
        self.size = 0                        # bytes of the message so far, as sent (dot-stuffed)
        self.overrun: Overrun | None = None
        self._chunks: list[bytes] = []       # the message so far, unstuffed (what take() has not taken)
        self.pending = 0                     # their bytes
        self._seam = START                   # the last two bytes of the message so far, as sent
        self._tail = START                   # the last bytes of the data so far
        self._held = b""                     # "." or ".\r" after a CRLF: message, or the end's start
        self._open_line = 0
        self._after_cr = False
        self._open_lf = False                # the line left open holds a bare LF
        self._long_open = False              # the line found too long goes on (a bare LF in it may come)

    def feed(self, chunk: bytes) -> int:
        """Take the next chunk. -1: the data goes on; else the index in ``chunk`` just past the end of
        the data (what follows is the client's next command)."""
        end = find_end(self._tail, chunk)
        data = self._held + chunk if self._held else chunk
        if end >= 0:
            body, self._held = data[:len(self._held) + end - _DOT_LINE], b""
        else:
            self._tail = chunk[-_KEEP:] if len(chunk) >= _KEEP else (self._tail + chunk)[-_KEEP:]
            hold = 1 if self._tail.endswith(END[:3]) else 2 if self._tail == END[:4] else 0
            body, self._held = (data[:-hold], data[-hold:]) if hold else (data, b"")
        if self.overrun is Overrun.TOO_LONG and self._long_open and body:
            self._follow_long_line(body)
        if self.overrun is None and body:
            self._check(body)
            if self.overrun is None:
                piece, self._seam = unstuff(body, self._seam), (self._seam + body[-2:])[-2:]
                self._chunks.append(piece)
                self.pending += len(piece)
        self.size += len(body)
        return end

    def take(self) -> list[bytes]:
        """The message's bytes so far, dot-unstuffed, handed over: the framer keeps no copy of them."""
        pieces, self._chunks, self.pending = self._chunks, [], 0
        return pieces

    def message(self) -> bytes:
        """The message (what :meth:`take` has not taken), dot-unstuffed, once the end was found with no
        overrun. Call it once."""
        assert self.overrun is None
        data = b"".join(self._chunks)
        self._chunks.clear()
        self.pending = 0
        return data

    def abandon(self) -> None:
        """Give up on the message (it cannot be kept): forget what is held, and drop the data from now on."""
        if self.overrun is None:
            self.overrun = Overrun.ABANDONED
        self._chunks.clear()
        self.pending = 0

    def _check(self, body: bytes) -> None:
        opened_before, after_cr, open_lf = self._open_line, self._after_cr, self._open_lf
        fit, self._open_line = lines_fit(opened_before, after_cr, body, self.line_limit)
        self._after_cr = body.endswith(b"\r")
        self._open_lf = self._open_line_has_lf(open_lf, after_cr, body)
        too_much = self.size_limit is not None and self.size + len(body) > self.size_limit
        too_long = not fit
        if too_long:
            closed, left_open = line_lengths(opened_before, after_cr, body)
            lengths = [*closed, left_open]
            index, start, length = self._first_too_long(-opened_before, lengths)
            self._long_open = index == len(lengths) - 1      # the line left open: its end is yet to come
            if too_much:                     # both in this chunk: the limit reached first counts
                too_long = start + self.line_limit < self.size_limit - self.size   # type: ignore[operator]
            if too_long:
                line = body[max(start, 1 if start < 0 and after_cr and body.startswith(b"\n") else 0):start + length]
                bare_lf = (start < 0 and open_lf) or b"\n" in line.replace(b"\r\n", b"")
                self.overrun = Overrun.BARE_LF if bare_lf else Overrun.TOO_LONG
        if too_much and not too_long:
            self.overrun = Overrun.TOO_MUCH
        if self.overrun is not None:
            self._chunks.clear()
            self.pending = 0

    def _follow_long_line(self, body: bytes) -> None:
        """After a line too long: what ``body`` adds to it until its CRLF; a bare LF there makes it BARE_LF."""
        if self._after_cr and body.startswith(b"\n"):    # its CRLF across the seam
            self._long_open = False
            return
        end = body.find(b"\r\n")
        if body.find(b"\n", 0, len(body) if end < 0 else end) >= 0:
            self.overrun, self._long_open = Overrun.BARE_LF, False
        elif end >= 0:
            self._long_open = False
        self._after_cr = body.endswith(b"\r")

    @staticmethod
    def _open_line_has_lf(open_lf: bool, after_cr: bool, body: bytes) -> bool:
        """Whether the line ``body`` leaves open holds a bare LF (``open_lf``: the one open before did)."""
        start = 0
        if after_cr and body.startswith(b"\n"):       # a CRLF across the seam ends the open line
            start, open_lf = 1, False
        last = body.rfind(b"\r\n", start)
        if last >= 0:
            start, open_lf = last + 2, False
        return open_lf or body.find(b"\n", start) >= 0

    def _first_too_long(self, start: int, lengths: list[int]) -> tuple[int, int, int]:
        """The first line too long: its index in ``lengths``, where it starts in the chunk (negative:
        before it), and its length."""
        for index, length in enumerate(lengths):
            if length > self.line_limit:
                return index, start, length
            start += length
        raise AssertionError("no line is too long")
