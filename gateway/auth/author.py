"""The header From as sender authorization reads it: strictly, or not at all.

A message is attributed to a user through its header From only when that header leaves no doubt about
who wrote it: exactly one From field, holding exactly one mailbox, which the RFC 5322 parser of the
stdlib (``email.headerregistry``, not the lenient ``email.utils.getaddresses``) reads without a defect,
whose local part holds no address specials, and whose display name does not look like an address.
Anything else (two From fields, ``a@x, b@y``, ``"bob@victim.example" <x@evil.example>``, the
CVE-2023-27043 shapes such as ``alice@example.org)<bob@example.org>`` or ``"a@b.com"@c.com``) names
no author: only the envelope sender can then authorize the message (SPEC "Who may send").

The From fields are read from the raw header section (a bounded scan), and their number must agree
with what the message parser saw, so that the two readings cannot differ about which From there is.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from email.errors import NonASCIILocalPartDefect
from email.policy import default

from gateway.mail.address import InvalidAddress, normalize_email

MAX_FROM = 1000                 # characters of one From field; a real one is well under 300
MAX_HEADER_SECTION = 1 << 20    # bytes of header section scanned for From fields
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]*:")       # as the stdlib parser recognizes a field
_AT = re.compile("[@\uff20\ufe6b]")                        # @, and its fullwidth and small look-alikes
_LOCAL_SPECIALS = re.compile(r'[@<>()\[\],;:\\"\s]')


@dataclass(frozen=True)
class HeaderAuthor:
    """``address``: the normalized author, or "" when the header From names none; ``problem`` says why
    (empty when there is no From field at all)."""

    address: str = ""
    problem: str = ""


def from_fields(raw: bytes) -> list[str] | None:
    """The values of the header section's From fields, unfolded, in order; None when the header
    section is larger than :data:`MAX_HEADER_SECTION`."""
    fields: list[list[bytes]] = []
    current: list[bytes] | None = None
    position, end = 0, len(raw)
    while position < end:
        if position > MAX_HEADER_SECTION:
            return None
        newline = raw.find(b"\n", position)
        following = end if newline == -1 else newline + 1
        line = raw[position:following].rstrip(b"\r\n")
        position = following
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current.append(line)
            continue
        if line.startswith(b"From "):          # an mbox envelope line: the parser sets it aside too
            current = None
            continue
        name = _FIELD_NAME.match(line)
        if name is None:
            break                               # not a header line: the body starts here
        current = [line[name.end():]] if name.group().lower() == b"from:" else None
        if current is not None:
            fields.append(current)
    return [_text(b"".join(lines)).strip() for lines in fields]


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def strict_author(values: list[str]) -> HeaderAuthor:
    """The author named by these From field values, read strictly (module docstring)."""
    if not values:
        return HeaderAuthor()
    if len(values) > 1:
        return HeaderAuthor(problem=f"{len(values)} From fields")
    value = values[0].strip()
    if len(value) > MAX_FROM:
        return HeaderAuthor(problem=f"a From field of {len(value)} characters")
    return _one_from(value)


@functools.lru_cache(maxsize=4096)
def _one_from(value: str) -> HeaderAuthor:
    """One From field's author. The stdlib's strict parser costs about as much as the rest of deciding on
    a small message, and a company's users send the same From field again and again: the answer (a
    frozen value, for a value of at most MAX_FROM characters) is kept for the 4,096 last seen."""
    try:
        header = default.header_factory("From", value)
        groups, defects = header.groups, header.defects
    except Exception as error:  # noqa: BLE001 - the stdlib parser on hostile input
        return HeaderAuthor(problem=f"the From field cannot be parsed ({type(error).__name__})")
    defects = [d for d in defects if not isinstance(d, NonASCIILocalPartDefect)]   # SMTPUTF8 is fine
    if defects:
        return HeaderAuthor(problem=f"the From field is malformed ({type(defects[0]).__name__})")
    boxes = [box for group in groups for box in group.addresses]
    if len(groups) == 1 and groups[0].display_name is not None:
        return HeaderAuthor(problem="the From field is a group")
    if len(boxes) != 1:
        return HeaderAuthor(problem=f"the From field names {len(boxes)} mailboxes, not one")
    box = boxes[0]
    if not box.username or not box.domain or _LOCAL_SPECIALS.search(box.username) or box.domain.startswith("["):
        return HeaderAuthor(problem="the From address has a quoted or special local part or domain")
    if _AT.search(box.display_name) or any(_AT.search(text) for text in _comments(header)):
        return HeaderAuthor(problem="the From display name looks like an address")
    try:
        return HeaderAuthor(normalize_email(f"{box.username}@{box.domain}"))
    except InvalidAddress as error:
        return HeaderAuthor(problem=str(error))


def _comments(header: object) -> list[str]:
    """The comments of a parsed From field (``ada@acme.example (bob@victim.example)``: some clients
    show one as the name), found without recursion."""
    found, stack = [], [getattr(header, "_parse_tree", None)]
    while stack:
        token = stack.pop()
        if getattr(token, "token_type", "") == "comment":
            found.append(str(token))
        if isinstance(token, list):
            stack.extend(token)
    return found


def header_author(raw: bytes, parsed_from_fields: int) -> HeaderAuthor:
    """The author of the raw message; ``parsed_from_fields``: how many From fields the parser saw."""
    values = from_fields(raw)
    if values is None:
        return HeaderAuthor(problem="the header section is too large to read the From field")
    if len(values) != parsed_from_fields:
        return HeaderAuthor(problem=f"the From fields cannot be counted ({len(values)} here, "
                                    f"{parsed_from_fields} by the parser)")
    return strict_author(values)
