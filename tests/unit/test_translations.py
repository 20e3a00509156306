"""The catalogs: every English string of the web app and its mail is translated into every language we
speak, the template (.pot) holds exactly what the code says today, the compiled .mo files are those of the
.po files, and the Accept-Language header picks the right language."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from gateway import locale
from gateway.crm.kinds import NOUNS, NotificationKind, Status
from gateway.services.record_pages import _FIELD_NAMES, PLURALS
from gateway.web.vocabulary import WORDS

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [language for language in locale.LANGUAGES if language != locale.DEFAULT]
PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w*)\}")


def po(language: str) -> Catalog:
    with open(locale.CATALOGS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def ids(catalog: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_is_translated_with_the_same_placeholders(language):
    catalog = po(language)
    untranslated, broken = [], []
    for message in catalog:
        if not message.id:
            continue
        english = [message.id] if isinstance(message.id, str) else list(message.id)
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.fuzzy or not all(forms) or len(forms) != (1 if isinstance(message.id, str) else catalog.num_plurals):
            untranslated.append(english[0])
            continue
        wanted = set().union(*(placeholders(e) for e in english)) - {"num"}
        if any(placeholders(form) - {"num"} != wanted for form in forms):
            broken.append(english[0])
    assert not untranslated, f"{language}: translate these in {language}/LC_MESSAGES/messages.po: {untranslated}"
    assert not broken, f"{language}: placeholders differ from the English in: {broken}"


def test_the_template_and_every_catalog_hold_what_the_code_says_now():
    """A new or changed English string fails here until `scripts/i18n` is run (and the test above until
    it is translated)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {message if isinstance(message, str) else message[0]
             for _file, _line, message, _comments, _context in extract_from_dir(
                 str(ROOT), method_map, options_map, keywords={"_": None, "gettext": None, "N_": None,
                                                               "ngettext": (1, 2)})}
    with open(locale.CATALOGS / "messages.pot", "rb") as handle:
        template = ids(read_po(handle))
    assert found - template == set(), "new strings not in messages.pot: run scripts/i18n"
    assert template - found == set(), "strings no longer in the code: run scripts/i18n"
    for language in TRANSLATED:
        assert ids(po(language)) == template, f"{language}/LC_MESSAGES/messages.po is behind: run scripts/i18n"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalog_is_the_po_file(language):
    with open(locale.CATALOGS / language / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = read_mo(BytesIO(handle.read()))
    source = po(language)
    def pairs(catalog: Catalog) -> dict[object, object]:
        return {tuple(m.id) if not isinstance(m.id, str) else m.id:
                tuple(m.string) if not isinstance(m.string, str) else m.string for m in catalog if m.id}
    assert pairs(compiled) == pairs(source), "run scripts/i18n compile"


def test_the_words_that_are_data_are_in_the_catalogs():
    words = set(WORDS)
    assert set(NOUNS.values()) | set(PLURALS.values()) | {str(s) for s in Status} <= words
    assert {str(kind) for kind in NotificationKind} <= words
    assert set(_FIELD_NAMES.values()) <= words


@pytest.mark.parametrize("header, language", [
    ("de-CH,de;q=0.9,en;q=0.5", "de"), ("fr-FR, it;q=0.8", "it"), ("en-US", "en"), ("fr;q=1, de;q=0.1", "de"),
    ("it;q=0, de;q=0.5", "de"), ("xx-YY", None), ("", None), ("de;q=nonsense, it", "it"), (";;,,q=", None),
])
def test_the_browser_asks_for_a_language(header, language):
    assert locale.negotiate(header) == language
    assert locale.chosen("it", header) == "it" and locale.chosen(None, header) == (language or "en")


def test_dates_and_numbers_are_written_as_each_language_writes_them():
    from datetime import datetime, timezone
    moment = datetime(2026, 12, 4, 14, 50, tzinfo=timezone.utc)
    written = {}
    for language in locale.LANGUAGES:
        with locale.speaking(language):
            written[language] = (locale.when(moment), locale.number(1234.5), locale.gettext("Sign in"))
    assert written["de"] == ("04.12.2026, 14:50", "1.234,5", "Anmelden")
    assert written["it"] == ("4 dic 2026, 14:50", "1.234,5", "Accedi")
    assert written["en"][1:] == ("1,234.5", "Sign in") and "2026" in written["en"][0]
    assert locale.current() == "en"


def test_what_a_page_translates_is_escaped_unless_it_is_our_own_text():
    from gateway.web.pages import TEMPLATES
    page = TEMPLATES.from_string('{{ _("Search: %(q)s", q=q) }} {{ word(status) }} {{ word("open") }}')
    with locale.speaking("de"):
        shown = page.render(q="<b>x</b>", status="<script>")
    assert shown == "Suche: &lt;b&gt;x&lt;/b&gt; &lt;script&gt; offen"
