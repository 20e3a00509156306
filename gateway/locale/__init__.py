"""The languages the product speaks to people: the web app and the mail it writes (sign-in codes,
confirmations, digests), in English, Italian and German.

The English text is in the code (``_()`` / ``ngettext`` in Python, ``{% trans %}`` and ``_()`` in
templates); the translations are gettext catalogs beside this file (``<lang>/LC_MESSAGES/messages.po``,
compiled to ``messages.mo``; ``scripts/i18n`` extracts, updates and compiles them). The language of the
moment is a context variable: the web app sets it per request (the user's choice, else the browser's
Accept-Language), the mail services around each mail (its recipient's choice), so code deep inside needs
no language argument. Dates and numbers are formatted for that language with Babel, in UTC.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from functools import cache
from pathlib import Path
from typing import Iterator

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

CATALOGS = Path(__file__).parent
DOMAIN = "messages"
DEFAULT = "en"
# each language, named in itself (the settings page offers them so)
LANGUAGES: dict[str, str] = {"en": "English", "it": "Italiano", "de": "Deutsch"}

_current: ContextVar[str] = ContextVar("smartbcc_language", default=DEFAULT)


@cache
def catalog(language: str) -> NullTranslations:
    """The compiled catalog of ``language``; English (and anything unknown) is the text as written."""
    if language not in LANGUAGES or language == DEFAULT:
        return NullTranslations()
    return Translations.load(str(CATALOGS), [language], DOMAIN)


def current() -> str:
    return _current.get()


def use(language: str | None) -> None:
    """Speak ``language`` (one of LANGUAGES, else English) from here on in this context (a request)."""
    _current.set(language if language in LANGUAGES else DEFAULT)


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Speak ``language`` inside the block (a mail to one recipient), then as before."""
    token = _current.set(language if language in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return catalog(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(_current.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark a constant for the catalogs; it is translated where it is shown (``_(constant)``)."""
    return message


def negotiate(accept_language: str) -> str | None:
    """The language an Accept-Language header asks for first among ours (``de-CH`` is ``de``), or None."""
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            wanted.append((-quality, position, tag.strip()))
    preferred = [tag for _q, _p, tag in sorted(wanted)]
    try:
        found = Locale.negotiate(preferred, list(LANGUAGES), sep="-")
    except (UnknownLocaleError, ValueError):
        return None
    return found.language if found is not None else None


def chosen(stored: str | None, accept_language: str = "") -> str:
    """A user's language: their own choice, else their browser's, else English."""
    if stored in LANGUAGES:
        return stored
    return negotiate(accept_language) or DEFAULT


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def when(value: datetime | date | None, zone: bool = False) -> str:
    """A date and time (UTC) as the current language writes it: 4 Dec 2026, 14:50 / 04.12.2026, 14:50."""
    if value is None:
        return ""
    locale = Locale.parse(_current.get())
    if not isinstance(value, datetime):
        return format_date(value, "medium", locale=locale)
    pattern = str(locale.datetime_formats["medium"]).format(
        locale.time_formats["short"].pattern, locale.date_formats["medium"].pattern)
    text = format_datetime(_utc(value), pattern, tzinfo=timezone.utc, locale=locale)
    return text + " UTC" if zone else text


def day(value: datetime | date | None) -> str:
    """A date alone, as the current language writes it."""
    if value is None:
        return ""
    return format_date(_utc(value).date() if isinstance(value, datetime) else value, "medium",
                       locale=Locale.parse(_current.get()))


def number(value: int | float) -> str:
    """A count or an amount with the current language's separators (1,234.5 / 1.234,5)."""
    return format_decimal(value, locale=Locale.parse(_current.get()))
