"""The dedup identity of a message: :func:`content_hash_of` and the :data:`TRACE_HEADERS` it leaves out.

Two deliveries of one message (a sender's retry, the same mail through another relay, a copy saved as
an mbox file) hash the same: trace headers are left out, header fields unfolded, line ends made CRLF
and an mbox envelope line skipped. The store keeps a message once per (Message-ID, content hash).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable

# Added or rewritten by every hop: two deliveries of one message differ only in these.
TRACE_HEADERS = frozenset({
    "received", "return-path", "delivered-to", "x-original-to", "authentication-results",
    "arc-seal", "arc-message-signature", "arc-authentication-results", "received-spf", "x-received",
})
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")


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
