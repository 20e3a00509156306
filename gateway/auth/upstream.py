"""Authentication-Results (RFC 8601): parse the header, and take a trusted relay's verdicts.

In ``upstream`` mode only the topmost header whose authserv-id is the configured one counts (the relay
prepends its own, and a conforming relay removes forged ones claiming its id); every other
Authentication-Results header is ignored for the decision. "Stripped" means ignored: the stored raw
message keeps every byte as received.

The same parser reads the ARC-Authentication-Results of an ARC set (``i=N;`` in front).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32

from gateway.auth.alignment import domain_of
from gateway.auth.dmarc import evaluate
from gateway.auth.verdicts import Arc, Dkim, Dmarc, Results, Spf

_PAIR = re.compile(r'([A-Za-z0-9_.\-/]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_INSTANCE = re.compile(r"^\s*i\s*=\s*\d+\s*;", re.I)
_POLICY_IN_COMMENT = re.compile(r"\bp=(none|quarantine|reject)\b", re.I)


@dataclass(frozen=True)
class Method:
    """One ``method=result`` with its reason and ``ptype.property=value`` pairs."""

    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Header:
    authserv_id: str
    methods: tuple[Method, ...] = ()


def _segments(value: str) -> list[tuple[str, str]]:
    """Split on ``;`` outside quotes and comments; each part as (text without comments, comments)."""
    parts: list[tuple[str, str]] = []
    text: list[str] = []
    comment: list[str] = []
    depth, quoted, escaped = 0, False, False
    for char in value:
        if escaped:
            (comment if depth else text).append(char)
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
            if not depth:
                text.append(char)
        elif quoted:
            text.append(char)
            quoted = char != '"'
        elif char == "(":
            depth += 1
            if depth > 1:
                comment.append(char)
        elif char == ")" and depth:
            depth -= 1
            comment.append(" " if depth == 0 else char)
        elif depth:
            comment.append(char)
        elif char == '"':
            text.append(char)
            quoted = True
        elif char == ";":
            parts.append(("".join(text).strip(), "".join(comment).strip()))
            text, comment = [], []
        else:
            text.append(char)
    parts.append(("".join(text).strip(), "".join(comment).strip()))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse(value: str) -> Header | None:
    """One header's value; None when it has no authserv-id."""
    value = _INSTANCE.sub("", " ".join(value.split()), count=1)
    segments = _segments(value)
    head = segments[0][0].split()
    if not head:
        return None
    methods = []
    for text, comment in segments[1:]:
        pairs = _PAIR.findall(re.sub(r"\s*=\s*", "=", text))
        if not pairs:
            continue
        method, result = pairs[0]
        props = {key.lower(): _unquote(val) for key, val in pairs[1:] if key.lower() != "reason"}
        reason = next((_unquote(val) for key, val in pairs[1:] if key.lower() == "reason"), "")
        methods.append(Method(method.split("/")[0].lower(), _unquote(result).lower(), props, reason, comment))
    return Header(head[0].lower(), tuple(methods))


def header_values(raw: bytes, name: str = "Authentication-Results") -> list[str]:
    """The message's ``name`` headers, top first (only the header block is read)."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    return [str(v) for v in headers.get_all(name, [])]


def to_results(header: Header, from_domain: str) -> Results:
    """A relay's (or an ARC sealer's) verdicts in the shape the decision reads."""
    spf = dmarc = arc = None
    dkim: list[Dkim] = []
    for m in header.methods:
        if m.method == "spf" and spf is None:
            identity = m.props.get("smtp.mailfrom") or m.props.get("smtp.helo") or ""
            spf = Spf(m.result, domain_of(identity), m.reason)
        elif m.method == "dkim":
            domain = m.props.get("header.d") or domain_of(m.props.get("header.i", ""))
            dkim.append(Dkim(m.result, domain.lower(), m.props.get("header.s", ""), m.reason))
        elif m.method == "dmarc" and dmarc is None:
            found = _POLICY_IN_COMMENT.search(m.comment)
            policy = m.props.get("policy.dmarc") or (found.group(1) if found else "")
            dmarc = Dmarc(m.result, (m.props.get("header.from") or from_domain).lower(), policy.lower(),
                          aligned=m.result == "pass", pending=m.result == "temperror")
        elif m.method == "arc" and arc is None:
            arc = Arc(m.result, detail=f"as {header.authserv_id} reports it")
    if (dmarc is None or dmarc.result == "none") and from_domain:
        dmarc = evaluate(from_domain, None, spf, tuple(dkim))
    return Results(spf, tuple(dkim), dmarc, arc)


def upstream_results(raw: bytes, authserv_id: str, from_domain: str) -> Results:
    """The verdicts of the relay named ``authserv_id``; the others are listed in the note, unused."""
    wanted = authserv_id.strip().lower()
    trusted: Header | None = None
    ignored: list[str] = []
    for value in header_values(raw):
        header = parse(value)
        if header is None:
            continue
        if header.authserv_id == wanted and trusted is None:
            trusted = header
        elif header.authserv_id != wanted:
            ignored.append(header.authserv_id)
    note = f"ignored Authentication-Results of {', '.join(ignored)}" if ignored else ""
    if trusted is None:
        return Results(note="; ".join(filter(None, [f"no Authentication-Results from {wanted}", note])))
    results = to_results(trusted, from_domain)
    return Results(results.spf, results.dkim, results.dmarc, results.arc,
                   note="; ".join(filter(None, [f"from {wanted}", note])))
