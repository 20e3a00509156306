"""The CSV shapes of other CRMs' exports, read and written as they are: pure data and pure functions.

A shape names, for one kind of record, the columns that hold each of our fields. A field holds one
value (the first non-empty of its columns: ``name``, ``org``, ``owner``...) or several (``emails``,
``phones``: every column, each cell split at ``;`` or ``,``). Column names compare case-insensitively,
spaces collapsed, and Pipedrive's older ``Person - Email (Work)`` spelling reads as ``Person - Email - Work``.
An export writes each field under its first column; a multi-value field puts its first value in the
first column and the rest, joined by ``;``, in the last one (HubSpot's ``Additional email addresses``,
Pipedrive's ``... - Other``); phone numbers all go in the first phone column, ``; `` between them, as
smartbcc keeps them.

Where the column names come from (what the exports of each CRM hold):

- Pipedrive: exports name each column ``Kind - Field`` (``Person - Name``, ``Person - Email - Work``,
  ``Person - Phone - Mobile``, ``Person - Organization``, ``Organization - Name``, ``Deal - Title``,
  ``Deal - Value``, ``Deal - Status``, ``Deal - Contact person``, ``Deal - Organization``, ``Lead - Title``),
  one column per labelled email and phone (Work, Home, Mobile, Other). Seen in the readers of Pipedrive
  exports in public repositories found through code search (scripts reading ``Person - Email - Work``/
  ``Home``/``Other``, ``Person - Phone - Mobile``, ``Deal - Value``, ``Deal - Contact person``), and in
  https://getcapt.com/blog/pipedrive-import-csv (``Person - Name``, ``Person - Email``, ``Organization -
  Name``; Pipedrive's own merge of duplicates fills the empty fields and keeps the rest, as ours does).
- HubSpot: the contacts export (``Record ID``, ``First Name``, ``Last Name``, ``Email``, ``Phone Number``,
  ``Company Name``, ``Contact owner``, ``Additional email addresses`` with ``;`` between addresses, per
  HubSpot's knowledge base article on importing records, as public repositories quote it: "To include
  multiple emails or domains in a cell, separate the values with semi-colons"), companies
  (``Company name``, ``Company Domain Name``, ``Company owner``) and deals (``Deal Name``, ``Amount``,
  ``Deal Stage``, ``Pipeline``, ``Deal owner``, ``Associated Company``). Spreadsheets saved from it by Excel
  are often UTF-16 with a BOM and tab-separated ("Unicode text").
- Bitrix24: the CRM export in English (``Name``, ``Second name``, ``Last name``, ``Work e-mail``, ``Home
  e-mail``, ``Work phone``, ``Mobile phone``, ``Company``, ``Responsible person``) or in the portal's
  language; the Russian names (``Имя``, ``Фамилия``, ``Рабочий e-mail``, ``Рабочий телефон``, ``Мобильный
  телефон``, ``Название компании``, ``Ответственный``, ``Корпоративный сайт``) as public scripts reading
  Bitrix24 company exports use them. Bitrix24's own training course (importing users from CSV,
  https://training.bitrix24.com/support/training/course/?COURSE_ID=26&LESSON_ID=1418) says a file may
  use ``,`` ``;`` tab or space between values, in the portal's own encoding (UTF-8, or windows-1251 on
  older Russian installations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Mapping

from gateway.crm.kinds import Kind, Status

MULTI_FIELDS = ("emails", "phones")
# what each kind takes from a row (a mapping file names its columns with these)
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    Kind.PERSON: ("name", "first_name", "middle_name", "last_name", "emails", "phones", "org", "owner"),
    Kind.ORG: ("name", "domain", "emails", "phones", "owner"),
    Kind.LEAD: ("title", "name", "first_name", "middle_name", "last_name", "emails", "phones", "company_name",
                "value", "currency", "status", "owner"),
    Kind.DEAL: ("title", "value", "currency", "status", "pipeline", "person", "person_email", "org", "owner"),
}
SOURCES = ("pipedrive", "hubspot", "bitrix24", "smartbcc")
Shape = Mapping[str, tuple[str, ...]]      # field -> its columns, the first one the name an export writes

_PD_EMAILS = ("Person - Email - Work", "Person - Email - Home", "Person - Email - Other", "Person - Email")
_PD_PHONES = ("Person - Phone - Work", "Person - Phone - Home", "Person - Phone - Mobile", "Person - Phone - Other",
              "Person - Phone")
_B24_FIRST = ("Name", "First name", "Имя")
_B24_MIDDLE = ("Second name", "Middle name", "Отчество")
_B24_LAST = ("Last name", "Фамилия")
_B24_EMAILS = ("Work e-mail", "Home e-mail", "E-mail for newsletters", "Other e-mail", "Рабочий e-mail",
               "Частный e-mail", "E-mail для рассылок", "Другой e-mail")
_B24_PHONES = ("Work phone", "Mobile phone", "Home phone", "Other phone", "Рабочий телефон", "Мобильный телефон",
               "Домашний телефон", "Другой телефон")
_B24_OWNER = ("Responsible person", "Responsible", "Ответственный")

SHAPES: dict[str, dict[str, Shape]] = {
    "pipedrive": {
        Kind.PERSON: {"name": ("Person - Name",), "first_name": ("Person - First name",),
                      "last_name": ("Person - Last name",), "emails": _PD_EMAILS, "phones": _PD_PHONES,
                      "org": ("Person - Organization",), "owner": ("Person - Owner",)},
        Kind.ORG: {"name": ("Organization - Name",), "domain": ("Organization - Website",),
                   "owner": ("Organization - Owner",)},
        Kind.LEAD: {"title": ("Lead - Title",), "name": ("Person - Name",), "emails": _PD_EMAILS,
                    "phones": _PD_PHONES, "company_name": ("Organization - Name",), "value": ("Lead - Value",),
                    "currency": ("Lead - Currency of Value", "Lead - Currency"), "owner": ("Lead - Owner",)},
        Kind.DEAL: {"title": ("Deal - Title",), "value": ("Deal - Value",),
                    "currency": ("Deal - Currency of Value", "Deal - Currency"), "status": ("Deal - Status",),
                    "pipeline": ("Deal - Pipeline",), "person": ("Deal - Contact person",),
                    "person_email": _PD_EMAILS, "org": ("Deal - Organization",), "owner": ("Deal - Owner",)},
    },
    "hubspot": {
        Kind.PERSON: {"first_name": ("First Name",), "last_name": ("Last Name",),
                      "emails": ("Email", "Additional email addresses"),
                      "phones": ("Phone Number", "Mobile Phone Number"),
                      "org": ("Company Name", "Associated Company"), "owner": ("Contact owner",)},
        Kind.ORG: {"name": ("Company name",), "domain": ("Company Domain Name", "Website URL"),
                   "phones": ("Phone Number",), "owner": ("Company owner",)},
        Kind.LEAD: {"title": ("Lead name",), "first_name": ("First Name",), "last_name": ("Last Name",),
                    "emails": ("Email", "Additional email addresses"), "phones": ("Phone Number",),
                    "company_name": ("Company Name",), "owner": ("Lead owner",)},
        Kind.DEAL: {"title": ("Deal Name",), "value": ("Amount",), "currency": ("Currency",),
                    "status": ("Deal Stage",),
                    "pipeline": ("Pipeline",), "person": ("Associated Contact",),
                    "person_email": ("Contact Email",), "org": ("Associated Company",),
                    "owner": ("Deal owner",)},
    },
    "bitrix24": {
        Kind.PERSON: {"first_name": _B24_FIRST, "middle_name": _B24_MIDDLE, "last_name": _B24_LAST,
                      "emails": _B24_EMAILS, "phones": _B24_PHONES, "org": ("Company", "Компания"),
                      "owner": _B24_OWNER},
        Kind.ORG: {"name": ("Company name", "Название компании"), "domain": ("Corporate website", "Корпоративный сайт"),
                   "emails": _B24_EMAILS, "phones": _B24_PHONES, "owner": _B24_OWNER},
        Kind.LEAD: {"title": ("Lead name", "Название лида"), "first_name": _B24_FIRST, "middle_name": _B24_MIDDLE,
                    "last_name": _B24_LAST, "emails": _B24_EMAILS, "phones": _B24_PHONES,
                    "company_name": ("Company name", "Название компании"), "owner": _B24_OWNER},
        Kind.DEAL: {"title": ("Deal name", "Название сделки"), "value": ("Income", "Amount", "Сумма"),
                    "currency": ("Currency", "Валюта"),
                    "status": ("Stage", "Стадия сделки"), "pipeline": ("Pipeline", "Направление"),
                    "person": ("Contact", "Контакт"), "org": ("Company", "Компания"), "owner": _B24_OWNER},
    },
    "smartbcc": {
        Kind.PERSON: {"name": ("Name",), "emails": ("Email", "Other emails"), "phones": ("Phone",),
                      "org": ("Organization",), "owner": ("Owner",)},
        Kind.ORG: {"name": ("Name",), "domain": ("Domain",), "emails": ("Email", "Other emails"),
                   "phones": ("Phone",), "owner": ("Owner",)},
        Kind.LEAD: {"title": ("Title",), "name": ("Name",), "emails": ("Email", "Other emails"),
                    "phones": ("Phone",), "company_name": ("Company name",), "value": ("Value",),
                    "currency": ("Currency",), "status": ("Status",), "owner": ("Owner",)},
        Kind.DEAL: {"title": ("Title",), "value": ("Value",), "currency": ("Currency",), "status": ("Status",),
                    "pipeline": ("Pipeline",),
                    "person": ("Contact",), "person_email": ("Contact email",), "org": ("Organization",),
                    "owner": ("Owner",)},
    },
}

# a deal's or lead's stage as the CRMs write it -> how it ended (anything else: open)
_CLOSED = {
    "won": Status.WON, "closed won": Status.WON, "closedwon": Status.WON, "сделка успешна": Status.WON,
    "успешно": Status.WON, "выиграна": Status.WON,
    "lost": Status.LOST, "closed lost": Status.LOST, "closedlost": Status.LOST, "сделка провалена": Status.LOST,
    "провалена": Status.LOST, "проиграна": Status.LOST, "junk": Status.LOST, "некачественный лид": Status.LOST,
    "converted": Status.CONVERTED, "качественный лид": Status.CONVERTED,
}
_EMAIL_IN = re.compile(r"[^\s<>(),;\"']+@[^\s<>(),;\"']+")
_SPACES = re.compile(r"\s+")
_LABEL_IN_PARENS = re.compile(r"\s*\(([^()]+)\)$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def header_key(header: str) -> str:
    """How a column name compares: BOM and quotes dropped, spaces collapsed, case folded,
    ``Email (Work)`` as ``Email - Work``."""
    header = _SPACES.sub(" ", header.replace("\ufeff", "").strip().strip('"').strip())
    return _LABEL_IN_PARENS.sub(r" - \1", header).casefold()


@dataclass(frozen=True)
class Columns:
    """Where each field of a shape is in one file's header row: field -> column positions."""

    positions: Mapping[str, tuple[int, ...]]
    unused: tuple[str, ...]          # the file's columns no field reads

    def read(self, row: list[str]) -> dict[str, str | list[str]]:
        values: dict[str, str | list[str]] = {}
        for field, where in self.positions.items():
            cells = [unneutralize(row[i].strip()) for i in where if i < len(row) and row[i].strip()]
            if field in MULTI_FIELDS:
                values[field] = [part for cell in cells for part in _split(field, cell)]
            elif cells:
                values[field] = cells[0]
        return values


def _split(field: str, cell: str) -> list[str]:
    """The values of a multi-value cell; for addresses, those inside ``Ada <ada@example.com>`` too, and
    what holds none as it is (the import refuses it, saying what it was)."""
    parts = [part.strip() for part in re.split(r"[;,]", cell) if part.strip()]
    if field != "emails":
        return parts
    return [found for part in parts for found in (_EMAIL_IN.findall(part) or [part])]


def locate(shape: Shape, header: list[str]) -> Columns:
    keys = [header_key(name) for name in header]
    positions: dict[str, tuple[int, ...]] = {}
    used: set[int] = set()
    for field, names in shape.items():
        found = tuple(i for name in names for i, key in enumerate(keys) if key == header_key(name))
        if found:
            positions[field] = found
            used.update(found)
    unused = tuple(name for i, name in enumerate(header) if i not in used and name.strip())
    return Columns(MappingProxyType(positions), unused)


def guess_source(kind: str, header: list[str]) -> str | None:
    """The source whose columns for ``kind`` the header holds most of; None when it holds none."""
    best, score = None, 0
    keys = {header_key(name) for name in header}
    for source in SOURCES:
        names = {header_key(name) for names in SHAPES[source][kind].values() for name in names}
        hits = len(keys & names)
        if hits > score:
            best, score = source, hits
    return best


def mapping_shape(kind: str, columns: Mapping[str, object]) -> Shape:
    """A mapping file's ``[columns]`` table as a shape; raises ValueError naming what is wrong."""
    shape: dict[str, tuple[str, ...]] = {}
    for field, value in columns.items():
        if field not in KIND_FIELDS[kind]:
            raise ValueError(f"a {kind} has no field {field!r}; its fields are {', '.join(KIND_FIELDS[kind])}")
        names = (value,) if isinstance(value, str) else value
        if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
            raise ValueError(f"columns.{field} is a column name or a list of column names")
        shape[field] = tuple(names)
    return shape


def full_name(values: Mapping[str, object]) -> str:
    """The ``name`` column, or the first, middle and last names joined."""
    name = values.get("name")
    if isinstance(name, str) and name.strip():
        return _SPACES.sub(" ", name).strip()
    parts = [values.get(part) for part in ("first_name", "middle_name", "last_name")]
    return " ".join(p for p in parts if isinstance(p, str) and p)


def split_name(name: str) -> tuple[str, str]:
    """(first name, the rest): how a name goes into first/last name columns."""
    first, _, rest = name.partition(" ")
    return first, rest


def email_in(text: str) -> str | None:
    """The address in ``Ada Lovelace (ada@example.com)`` or a bare one; None when there is none."""
    match = _EMAIL_IN.search(text)
    return match.group() if match else None


def number(text: str) -> Decimal:
    """A money amount as CRMs and spreadsheets write it: ``1,234.50``, ``1 234,50``, ``€ 99``, ``1e3``.
    Raises ValueError when it is not a number."""
    cleaned = re.sub(r"[\s\u00a0\u202f'’]|[^\d.,eE+-]+$|^[^\d.,+-]+", "", text)
    if "," in cleaned and "." in cleaned:
        decimal_mark = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        cleaned = cleaned.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
    elif cleaned.count(",") == 1 and len(cleaned.split(",")[1]) != 3:
        cleaned = cleaned.replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"value {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"value {text!r} is not a number")
    return value


MAX_VALUE = Decimal(10) ** 12          # what a value column holds: 12 digits, and two decimals
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_CODE_IN = re.compile(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])")


def money(value: str, currency: str = "") -> tuple[Decimal, str | None]:
    """A value and its currency: ``1,234.50`` with ``eur`` -> (1234.50, ``EUR``); a code written beside the
    amount (``1 000 RUB``) counts when there is no currency column. Raises ValueError saying what is wrong."""
    amount = number(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if abs(amount) >= MAX_VALUE:
        raise ValueError(f"value {value!r} is too large (at most 12 digits before the decimal point)")
    code = currency.strip() or next(iter(_CODE_IN.findall(value)), "")
    if code and not _CURRENCY.fullmatch(code):
        raise ValueError(f"currency {currency!r} is not a three-letter code such as EUR or USD")
    return amount, code.upper() or None


def status(text: str | None, allowed: tuple[str, ...]) -> str:
    """A stage or status as the source names it -> ours; what does not say how it ended is open."""
    found = _CLOSED.get(_SPACES.sub(" ", (text or "").strip().casefold()), Status.OPEN)
    if found not in allowed:
        return Status.OPEN
    return found


def _runs_as_formula(cell: str) -> bool:
    """Whether a spreadsheet would run the cell, or it reads as a cell :func:`neutralize` wrote."""
    return cell.startswith(_FORMULA_START) or (cell.startswith("'") and _runs_as_formula(cell[1:]))


def neutralize(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) gets a leading ``'``."""
    return "'" + cell if _runs_as_formula(cell) else cell


def unneutralize(cell: str) -> str:
    """What :func:`neutralize` wrote, read back."""
    return cell[1:] if cell.startswith("'") and _runs_as_formula(cell[1:]) else cell


def domain_of(website: str) -> str:
    """``https://www.Acme.example/about`` -> ``acme.example``."""
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", website.strip(), flags=re.I).split("/")[0].split(":")[0]
    host = host.rsplit("@", 1)[-1]
    return host[4:] if host.lower().startswith("www.") else host
