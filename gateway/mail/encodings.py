"""Header and body bytes to text, the way mail clients really write them.

Four jobs, each forgiving on purpose (the parser must never raise on what a client sent):

- :func:`decode_bytes`: bytes in a declared charset to ``str``. Labels lie (UTF-8 labelled
  ISO-8859-1 and the reverse), are unknown, or are missing; we fall back to UTF-8 when the bytes
  are valid UTF-8 and to windows-1252 otherwise, replacing what cannot be decoded.
- :func:`decode_words`: RFC 2047 encoded-words (``=?utf-8?B?...?=``), joining adjacent words of one
  charset before decoding so that a character split across two words survives.
- :func:`mailboxes`: an address header (To, Cc, ...) to normalized :class:`Mailbox` values,
  skipping groups, empty lists and anything that is not an address.
- :func:`html_to_text`: an HTML body as the lines a reader sees (for finding forwards in it).
"""

from __future__ import annotations

import base64
import codecs
import re
from collections.abc import Iterable
from email.utils import getaddresses
from html.parser import HTMLParser

from gateway.mail.address import InvalidAddress, normalize_email
from gateway.mail.message import Mailbox

# ASCII and Latin-1 labels are read as windows-1252, their superset in practice (as browsers do).
_WINDOWS_1252 = frozenset({"ascii", "iso8859-1", "cp1252"})
# Single-byte charsets: valid UTF-8 in them is almost surely mislabelled UTF-8.
_SINGLE_BYTE = re.compile(r"^(ascii|iso8859-\d+|cp125\d|koi8-[ru]|mac-\w+)$")
_ALIASES = {
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac-roman",
    "windows-874": "cp874",
}
# Codecs that exist but are not charsets a message could be written in.
_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"})
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_ADDRESS_HEADER = 256 * 1024


def charset_codec(label: str | None) -> str | None:
    """The Python codec name for a MIME charset label, or None when it is unknown or not a charset."""
    if not label:
        return None
    label = label.strip().strip("\"'").split("*", 1)[0].lower()  # RFC 2231 "utf-8*en"
    label = _ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return None
    try:
        b"\0\0\0\0".decode(name)
    except LookupError:  # a codec that is not a text encoding (base64, zlib, ...)
        return None
    except (UnicodeError, ValueError):
        pass
    return None if name in _NOT_CHARSETS else name


def _guess(data: bytes) -> str:
    """Decode bytes of unknown charset: UTF-8 when it looks like UTF-8, windows-1252 otherwise."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _UTF8_SEQUENCE.search(data):
        return data.decode("utf-8", "replace")
    return data.decode("cp1252", "replace")


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode ``data`` declared as ``charset``; never raises, replaces what cannot be decoded."""
    codec = charset_codec(charset)
    if codec is None or codec == "utf-8" or _SINGLE_BYTE.match(codec):
        if data.isascii():
            return data.decode("ascii")
        if codec in (None, "utf-8"):
            return _guess(data)
        try:
            return data.decode("utf-8")  # a single-byte label on UTF-8 bytes: the label is wrong
        except UnicodeDecodeError:
            return data.decode("cp1252" if codec in _WINDOWS_1252 else codec, "replace")
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError, ValueError):
        pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(codec, "replace")
    except (UnicodeError, LookupError, ValueError):
        return _guess(data)


def decode_pieces(pieces: list[bytes], charset: str | None = None) -> str:
    """``decode_bytes(b"".join(pieces), charset)``, the same text, without ever holding the joined bytes:
    each piece is decoded on its own (by an incremental decoder, which carries a character cut between
    two pieces) and dropped from ``pieces`` once decoded, so a large body costs one copy of its bytes and
    one of its text at the worst moment. ``pieces`` is empty afterwards."""
    codec = charset_codec(charset)
    if not (codec is None or codec == "utf-8" or _SINGLE_BYTE.match(codec)):
        data = b"".join(pieces)
        pieces.clear()
        return decode_bytes(data, charset)
    text = _decode_each(pieces, "utf-8", "strict")   # ASCII is UTF-8; UTF-8 wins over a single-byte label
    if text is not None:
        return text
    if codec in (None, "utf-8"):
        fallback = "utf-8" if _has_utf8_sequence(pieces) else "cp1252"
    else:
        fallback = "cp1252" if codec in _WINDOWS_1252 else codec
    text = _decode_each(pieces, fallback, "replace")
    assert text is not None
    return text


def _decode_each(pieces: list[bytes], codec: str, errors: str) -> str | None:
    """``pieces`` decoded one by one and joined, each dropped once its text is made; None (and ``pieces``
    left whole) when ``errors`` is strict and they do not decode."""
    decoder = codecs.getincrementaldecoder(codec)(errors)
    texts: list[str] = []
    try:
        for index, piece in enumerate(pieces):
            texts.append(decoder.decode(piece))
            if errors != "strict":
                pieces[index] = b""
        texts.append(decoder.decode(b"", True))
    except UnicodeDecodeError:
        return None
    pieces.clear()
    return "".join(texts)


def _has_utf8_sequence(pieces: list[bytes]) -> bool:
    """Whether ``_UTF8_SEQUENCE`` occurs in the pieces joined (a sequence cut between pieces included)."""
    tail = b""
    for piece in pieces:
        if _UTF8_SEQUENCE.search(piece) or _UTF8_SEQUENCE.search(tail + piece[:3]):
            return True
        tail = (tail + piece)[-3:] if len(piece) < 3 else piece[-3:]
    return False


def repair_header(value: str) -> str:
    """Turn the surrogate-escaped 8-bit bytes the email parser leaves in a header into text."""
    if value.isascii():
        return value
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return decode_bytes(data)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    """The bytes an encoded-word's text stands for; None when it is not valid base64."""
    if encoding in "bB":
        text = text.rstrip("=")
        if _NOT_BASE64.search(text) or len(text) % 4 == 1:
            return None
        return base64.b64decode(text + "=" * (-len(text) % 4))
    data = text.replace("_", " ").encode("utf-8", "replace")
    return _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded-words anywhere in ``text`` (also inside quotes, as clients do).

    Adjacent words of one charset are decoded together, so a character split across two words
    survives; a word that is not valid base64 stays as it was written.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    run_charset: str | None = None
    run = bytearray()
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        data = _word_bytes(match.group(2), match.group(3))
        gap = text[position:match.start()]
        charset = match.group(1).lower()
        adjacent = run_charset is not None and not gap.strip() and data is not None
        if run_charset is not None and not (adjacent and charset == run_charset):
            out.append(decode_bytes(bytes(run), run_charset))
            run_charset, run = None, bytearray()
        if not adjacent:
            out.append(gap)
        if data is None:
            out.append(match.group(0))
        else:
            run_charset = charset
            run += data
        position = match.end()
    if run_charset is not None:
        out.append(decode_bytes(bytes(run), run_charset))
    out.append(text[position:])
    return "".join(out)


def header_text(value: str | None) -> str:
    """An unstructured header (Subject, a display name) as one line of readable text."""
    if not value:
        return ""
    text = decode_words(repair_header(value))
    return " ".join(_CONTROL.sub("", text).split())


def mailbox(address: str, name: str = "") -> Mailbox | None:
    """A Mailbox for ``address`` (normalized), or None when it is not a usable address."""
    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or len(address) > 320:
        return None
    if any(c.isspace() or c in "<>" or ord(c) < 32 or ord(c) == 127 for c in address):
        return None
    try:
        email = normalize_email(address)
    except InvalidAddress:
        return None
    name = header_text(name).strip("\"' ")
    if name.lower() in (email, address.lower()):
        name = ""
    return Mailbox(email=email, name=name)


def mailboxes(values: Iterable[str | None]) -> tuple[Mailbox, ...]:
    """Every address in the given header values, in order, once each."""
    found: dict[str, Mailbox] = {}
    for value in values:
        if not value:
            continue
        text = repair_header(value)[:_MAX_ADDRESS_HEADER]
        try:
            pairs = getaddresses([text])
        except (ValueError, IndexError, TypeError):  # the stdlib's address parser on hostile input
            continue
        for name, address in pairs:
            box = mailbox(address, name) if address else None
            if box is not None and box.email not in found:
                found[box.email] = box
    return tuple(found.values())


class _TextOfHtml(HTMLParser):
    BREAKS = frozenset({"p", "div", "tr", "li", "ul", "ol", "table", "blockquote", "pre", "dt", "dd",
                        "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer"})
    HIDDEN = frozenset({"script", "style", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "br" or tag in self.BREAKS:
            self.parts.append("\n")
        elif tag == "hr":  # Outlook on the web puts an <hr> above the forwarded header block
            self.parts.append("\n" + "_" * 32 + "\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(_WHITESPACE.sub(" ", data))


_MAX_HTML = 2 * 1024 * 1024
_WHITESPACE = re.compile(r"\s+")


def html_to_text(html: str) -> str:
    """The text of an HTML body, one line per <br>, <p>, <div>, table row...; never raises."""
    if not html:
        return ""
    parser = _TextOfHtml()
    try:
        parser.feed(html[:_MAX_HTML])
        parser.close()
    except Exception:  # html.parser on hostile markup; keep what was read so far
        pass
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
