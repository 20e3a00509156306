"""Finding the original of an inline forward in its body, as the common mail clients write it in their
many languages. What each client writes is data (gateway.mail.forward_tables); this module reads it.

A forward is a separator followed by a block of ``Label: value`` lines:

- a dashed line naming a forward (Gmail ``---------- Forwarded message ---------``, Thunderbird
  ``-------- Forwarded Message --------``, Yahoo ``----- Forwarded Message -----``, localized);
  Yahoo writes the whole block on the separator's own line (``... ----- From: ...To: ...Subject: ...``);
- an introducing line (Apple Mail ``Begin forwarded message:``), often quoted with ``>``;
- Outlook: a line of underscores or ``-----Original Message-----`` (or, from Outlook's HTML, no
  separator at all), From/Sent/To/Cc/Subject;
- Outlook 2019: under a forward subject (``FW:``), the reply-style line ``On ..., "Name" <address> wrote:``.

Outlook writes the same block for replies, so an Outlook-style block only counts when the outer
subject is not a reply (``RE:``, ``AW:``...), and a block without a separator must have a From, a
date and a subject line. ``On ... wrote:`` quotes are replies and never count but under a forward
subject. When the text part holds no forward but looks like one (a forward subject, a separator), the
HTML part is read instead: a client's text rendering may lose the block's lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

from gateway.mail import forward_tables as tables
from gateway.mail.encodings import html_to_text, mailbox
from gateway.mail.message import ForwardedOriginal, Mailbox

MAX_LINES = 3000        # a forward's header block sits near the top of the body
MAX_TEXT = 1_000_000    # characters of the body looked at
MAX_FIELD = 20_000      # characters of one header line of the block
MAX_ONE_LINE = 4_000    # characters after a separator read as a one-line block (Yahoo)
MAX_INTRO = 400         # longest reply-style first line read (Outlook 2019)


def _key(label: str) -> str:
    """A label as compared: lower-cased, each run of spaces one space."""
    return " ".join(label.lower().split())


def _alternatives(words: Sequence[str]) -> str:
    """A regex alternation of literal ``words``, longest first (so that no word hides a longer one)."""
    return "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))


FIELD_OF_LABEL = {_key(label): field for field, labels in tables.LABELS.items() for label in labels}
FIELD_OF_LABEL.update({_key(label): "date" for label in tables.SENT})
SENT_LABELS = frozenset(_key(label) for label in tables.SENT)
_APPLE = re.compile(rf"({_alternatives(tables.INTRO_FORWARD)})\s*:?", re.I)
_DASHED = re.compile(
    rf"(-{{2,}})\s*(?:({_alternatives(tables.DASHED_FORWARD)})|({_alternatives(tables.DASHED_ORIGINAL)}))\s*-{{2,}}",
    re.I)
# a label inside a one-line block (Yahoo glues them: "...<a@b>To: ...GMT+1Subject: ...", "...MEZBetreff: ...")
_INLINE_LABEL = re.compile(rf"({_alternatives([*tables.SENT, *(l for ls in tables.LABELS.values() for l in ls)])})\s?[:：]",
                           re.I)
_UNDERSCORES = re.compile(r"_{10,}")
_RULE = re.compile(r"[-_=*~]{5,}")
_LABEL_LINE = re.compile(r"\*?([^\W\d_][^:：]{0,24}?)\*?\s*[:：]\*?\s*(.*)")
_QUOTE = re.compile(r"^(?:\s*>)+ ?")
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))
_SPACES = dict.fromkeys(map(ord, "\u00a0\u202f\u2007\u2009"), " ")
_REPLY_PREFIX = re.compile(rf"\s*({_alternatives(tables.REPLY_PREFIXES)})\s*(\[\d+\])?\s*[:：]", re.I)
_FORWARD_PREFIX = re.compile(rf"\s*({_alternatives(tables.FORWARD_PREFIXES)})\s*(\[\d+\])?\s*[:：]", re.I)
# any reply or forward prefix, at the start of a subject, for a title made from it: "AW:", "Fwd[2]:", "[Fwd]"
_ANY_PREFIX_WORDS = _alternatives((*tables.REPLY_PREFIXES, *tables.FORWARD_PREFIXES, *tables.TITLE_ONLY_PREFIXES))
_ANY_PREFIX = re.compile(rf"^\s*(?:(?:{_ANY_PREFIX_WORDS})(?:\[\d+\])?\s*[:：]\s*|\[(?:fwd?|re)\]\s*)", re.I)
_INTROS = tuple(
    re.compile(pattern.replace(" ", r"\s*")
               .replace("(?P<name>{N})", r"(?P<name>[^\"<>\[\]«»„”\n]{1,200}?)")
               .replace("(?P<address>{N})", r"(?P<address>[^\s<>\[\]()\"]{1,254})")
               .replace("{N}", r"[^\n]{1,200}?"), re.I)
    for pattern in tables.REPLY_STYLE_INTROS)
INTROS_TRIED = 5        # reply-style lines tried per body (each is one bounded match per language)
_ADDRESS_CHARS = r"[^\s<>\[\]()\"',;:]+@[^\s<>\[\]()\"',;:]+"
_ADDRESS = re.compile(  # starts only after a delimiter: linear time on long runs without "@"
    rf"(?<![^\s<>\[\]()\"',;:])(?:mailto:)?({_ADDRESS_CHARS})(?:\s*[<\[]\s*mailto:{_ADDRESS_CHARS}\s*[>\]])?", re.I)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,900}@[^<>\s]{1,200}>")
_NAME_JUNK = " \t<>[]()\"',;*«»„”“"


def find_forwarded(
    text_body: str,
    html_body: str = "",
    *,
    outer_subject: str = "",
    outer_mailboxes: Sequence[Mailbox] = (),
    default_tz: tzinfo = timezone.utc,
) -> ForwardedOriginal | None:
    """The original inside an inline forward, or None when the body holds no forward.

    ``outer_mailboxes`` (the forward's own From/To/Cc) give an address to a From line that only has
    a name; ``default_tz`` is the zone of dates written without one (the forwarder's, from Date).
    The HTML body is read when there is no text body, or when the text body holds no forward but
    hints at one (a forward subject, a separator line): its rendering may have lost the block.
    """
    is_reply = bool(_REPLY_PREFIX.match(outer_subject))
    is_forward = not is_reply and bool(_FORWARD_PREFIX.match(outer_subject))
    if not text_body.strip():
        if not html_body.strip():
            return None
        return _in_lines(_lines(html_to_text(html_body)), is_reply, is_forward, outer_mailboxes, default_tz)
    lines = _lines(text_body)
    found = _in_lines(lines, is_reply, is_forward, outer_mailboxes, default_tz)
    if found is None and html_body.strip() and (is_forward or any(_separator(line)[0] for line in lines)):
        found = _in_lines(_lines(html_to_text(html_body)), is_reply, is_forward, outer_mailboxes, default_tz)
    return found


def _in_lines(
    lines: list[str], is_reply: bool, is_forward: bool, known: Sequence[Mailbox], default_tz: tzinfo,
) -> ForwardedOriginal | None:
    intros_left = INTROS_TRIED
    for number, line in enumerate(lines):
        source, explicit, rest = _separator(line)
        if source:
            if is_reply and not explicit:
                continue
            if rest:
                fields, labels = _one_line_block(rest)
                source = "inline-yahoo" if explicit else source
            else:
                fields, labels = _block(lines, number + 1)
            if "from" in fields or (explicit and ("subject" in fields or "date" in fields)):
                return _original(fields, source, known, default_tz)
        elif not is_reply and _labelled(line)[1] == "from" and _starts_block(lines, number):
            fields, labels = _block(lines, number)
            if {"from", "date", "subject"} <= fields.keys():
                source = "inline-outlook" if labels & SENT_LABELS else "inline-generic"
                return _original(fields, source, known, default_tz)
        elif (is_forward and intros_left and len(line) <= MAX_INTRO and line.endswith((":", "：")) and "@" in line
              and _starts_block(lines, number, rule=False)):
            intros_left -= 1
            for intro in _INTROS:
                found = intro.fullmatch(line)
                if found:
                    sender = printed_mailboxes(f"{found.group('name')} <{found.group('address')}>")
                    return ForwardedOriginal(sender=sender[0] if sender else None, source="inline-outlook-2019")
    return None


def _lines(text: str) -> list[str]:
    text = text[:MAX_TEXT].translate(_INVISIBLE).translate(_SPACES)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n", MAX_LINES)[:MAX_LINES]
    return [_QUOTE.sub("", line).strip() for line in lines]


def _separator(line: str) -> tuple[str, bool, str]:
    """(source, whether the line says "forwarded", what follows it on the line) for a separator line,
    ("", False, "") otherwise."""
    if _APPLE.fullmatch(line):
        return "inline-apple", True, ""
    dashed = _DASHED.match(line)
    if dashed:
        rest = line[dashed.end():MAX_ONE_LINE].strip()
        if rest and not _INLINE_LABEL.match(rest):
            return "", False, ""
        if dashed.group(2):
            dashes = len(dashed.group(1))
            source = "inline-gmail" if dashes >= 10 else "inline-thunderbird" if dashes == 8 else "inline-generic"
            return source, True, rest
        return "inline-outlook", False, rest
    if _UNDERSCORES.fullmatch(line):
        return "inline-outlook", False, ""
    return "", False, ""


def _labelled(line: str) -> tuple[str, str, str]:
    """(label, field, value) of a ``Label: value`` line; field is "" for an unknown label."""
    match = _LABEL_LINE.fullmatch(line)
    if not match:
        return "", "", ""
    label = _key(match.group(1))
    return label, FIELD_OF_LABEL.get(label, ""), match.group(2).strip()[:MAX_FIELD]


def _starts_block(lines: list[str], number: int, rule: bool = True) -> bool:
    previous = lines[number - 1] if number else ""
    return not previous or (rule and bool(_RULE.fullmatch(previous)))


def _block(lines: list[str], start: int) -> tuple[dict[str, str], set[str]]:
    """The ``Label: value`` lines from ``start``: fields by name and the labels seen."""
    fields: dict[str, str] = {}
    labels: set[str] = set()
    last = ""
    window = lines[start:start + 40]
    for number, line in enumerate(window):
        if not line:
            # a blank line ends the block, but between two fields (an HTML table's rows, as rendered)
            if fields and not (number + 1 < len(window) and _labelled(window[number + 1])[1]):
                break
            continue
        label, field, value = _labelled(line)
        if field:
            fields.setdefault(field, value)
            labels.add(label)
            last = field
        elif last in ("from", "to", "cc") and ("@" in line or "mailto:" in line):
            fields[last] = (fields[last] + " " + line)[:MAX_FIELD]  # wrapped list, Outlook's <mailto:> line
        else:
            break
    return fields, labels


def _one_line_block(text: str) -> tuple[dict[str, str], set[str]]:
    """A header block written on one line (Yahoo): each known label starts a field; the subject, last
    in Yahoo's order, takes the rest of the line."""
    fields: dict[str, str] = {}
    labels: set[str] = set()
    # a label counts at the start, after a non-letter, or capitalized (glued to the previous value's last word)
    found = [match for match in _INLINE_LABEL.finditer(text)
             if not match.start() or not text[match.start() - 1].isalpha() or match.group()[0].isupper()]
    for number, match in enumerate(found):
        label = _key(match.group(1))
        field = FIELD_OF_LABEL.get(label, "")
        if not field:
            continue
        end = len(text) if field == "subject" or number + 1 == len(found) else found[number + 1].start()
        fields.setdefault(field, text[match.end():end].strip())
        labels.add(label)
        if field == "subject":
            break
    return fields, labels


def _original(
    fields: dict[str, str], source: str, known: Sequence[Mailbox], default_tz: tzinfo,
) -> ForwardedOriginal:
    senders = printed_mailboxes(fields.get("from", ""))
    sender = senders[0] if senders else _by_name(fields.get("from", ""), known)
    return ForwardedOriginal(
        sender=sender,
        to=printed_mailboxes(fields.get("to", "")),
        cc=printed_mailboxes(fields.get("cc", "")),
        date=client_date(fields.get("date", ""), default_tz),
        subject=fields.get("subject", "").strip(" *"),
        message_id=_message_id(fields.get("message_id", "")),
        source=source,
    )


def _message_id(text: str) -> str:
    """The first ``<id@host>`` of a printed Message-ID line (Thunderbird's block with all headers)."""
    found = _MESSAGE_ID.search(text)
    return found.group() if found else ""


def printed_mailboxes(text: str) -> tuple[Mailbox, ...]:
    """Addresses as clients print them: ``Name <a@b>``, ``Name [mailto:a@b]``, ``a@b<mailto:a@b>``."""
    found: dict[str, Mailbox] = {}
    position = 0
    for match in _ADDRESS.finditer(text):
        name = text[position:match.start()].strip(_NAME_JUNK)
        position = match.end()
        box = mailbox(match.group(1).rstrip("."), "" if "@" in name else name)
        if box is not None and box.email not in found:
            found[box.email] = box
    return tuple(found.values())


def _by_name(text: str, known: Sequence[Mailbox]) -> Mailbox | None:
    """A name-only From line (some Outlook versions): the outer message's mailbox of that name."""
    name = " ".join(text.strip(_NAME_JUNK).split()).casefold()
    for box in known:
        if name and " ".join(box.name.split()).casefold() == name:
            return box
    return None


def _months() -> dict[str, int]:
    """Month number by name, over every language; a name two languages give different months is left out."""
    found: dict[str, set[int]] = {}
    for names in tables.MONTH_NAMES.values():
        for number, words in enumerate(names, 1):
            for word in words.split():
                found.setdefault(word, set()).add(number)
    return {word: numbers.pop() for word, numbers in found.items() if len(numbers) == 1}


MONTHS = _months()
_ZONES = {"gmt": 0, "utc": 0, "ut": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
          "mst": -7, "mdt": -6, "pst": -8, "pdt": -7, "cet": 1, "cest": 2, "bst": 1, "wet": 0,
          "west": 1, "eet": 2, "eest": 3}
_RFC_DATE = re.compile(r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}.*")
_OFFSET = re.compile(r"\b(?:gmt|utc)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\b|(?<![\d:])([+-])(\d{2}):?(\d{2})\b")
_TIME = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?\s?m\b\.?)?")
_YEAR = re.compile(r"\b(19\d{2}|2\d{3})\b")
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_CJK_DAY = re.compile(r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]")   # ja, zh, ko
_DOTTED_DAY = re.compile(r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})\b")       # day first: "27. 10. 2021"
_CJK_PM = ("오후", "午後", "下午")     # CLDR's "pm" of ko, ja, zh
_DOTTED_TIME = re.compile(r"\bklo\s+(\d{1,2})\.(\d{2})(?:\.(\d{2}))?\b")            # fi: "klo 14.25.08"
_WORD = re.compile(r"[^\W\d_]+")


def client_date(value: str, default_tz: tzinfo = timezone.utc) -> datetime | None:
    """A date as a mail client prints it ("Mon, Jan 6, 2025 at 10:15 AM", "6. Januar 2025 um
    10:15"), aware; ``default_tz`` when it names no zone. None when it cannot be read."""
    text = " ".join(value.split()).lower()
    if not text:
        return None
    if _RFC_DATE.fullmatch(text):
        try:
            date = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None
        if date is not None:
            return date if date.tzinfo else date.replace(tzinfo=default_tz)
    zone, text = _zone(text, default_tz)
    time = _TIME.search(text) or _DOTTED_TIME.search(text)
    hour = minute = second = 0
    if time:
        hour, minute, second = int(time.group(1)), int(time.group(2)), int(time.group(3) or 0)
        if time.re is _TIME and time.group(4):
            hour = hour % 12 + (12 if time.group(4) == "p" else 0)
        elif hour < 12 and any(pm in text for pm in _CJK_PM):
            hour += 12
        text = text[:time.start()] + " " + text[time.end():]
    year_first = _ISO_DAY.search(text) or _CJK_DAY.search(text)
    dotted = _DOTTED_DAY.search(text)
    if year_first:
        year, month, day = (int(part) for part in year_first.groups())
    elif dotted:
        day, month, year = (int(part) for part in dotted.groups())
    else:
        year_match = _YEAR.search(text)
        months = [MONTHS[word] for word in _WORD.findall(text) if word in MONTHS]
        if not year_match or not months:
            return None
        year, month = int(year_match.group(1)), months[-1]  # the first word may be a weekday
        rest = text[:year_match.start()] + " " + text[year_match.end():]
        days = [int(day) for day in re.findall(r"\b(\d{1,2})\b", rest) if 1 <= int(day) <= 31]
        if not days:
            return None
        day = days[0]
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None


def _zone(text: str, default_tz: tzinfo) -> tuple[tzinfo, str]:
    """The zone a printed date names ("GMT+1", "+0100", "PST") and the text without it."""
    offset = _OFFSET.search(text)
    if offset:
        sign, hours, minutes = offset.group(1, 2, 3) if offset.group(1) else offset.group(4, 5, 6)
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta < timedelta(hours=15):
            zone = timezone(-delta if sign == "-" else delta)
            return zone, text[:offset.start()] + " " + text[offset.end():]
    for word in _WORD.findall(text):
        if word in _ZONES:
            return timezone(timedelta(hours=_ZONES[word])), re.sub(rf"\b{word}\b", " ", text)
    return default_tz, text


def bare_subject(subject: str) -> str:
    """A subject without its reply and forward prefixes, however many are stacked: ``Fwd: RE: Quote`` ->
    ``Quote`` (the prefixes of every client and language in gateway.mail.forward_tables)."""
    text = " ".join(subject.split())
    while True:
        shorter = _ANY_PREFIX.sub("", text, count=1)
        if shorter == text:
            return text.strip()
        text = shorter
