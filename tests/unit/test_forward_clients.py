"""Forwards from every common client and language, each in the format that client really writes.

- tests/data/forwards/: the fixtures of crisp-oss/email-forward-parser (see its README): Apple Mail,
  Gmail, HubSpot, IONOS, MailMate, Missive, Outlook Live/365, Outlook 2013/2019, New Outlook 2019,
  Thunderbird and Yahoo Mail in their locales;
- THUNDERBIRD: Thunderbird's plain-text forward in the locales those fixtures lack, written from
  Thunderbird's own localization (thunderbird-l10n: composeMsgs.properties, mime.properties);
- HTML forwards (Thunderbird's moz-forward table, Outlook's and Gmail's HTML) read from the HTML part;
- replies and quotes in those languages, which never yield a sender.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gateway.mail.forwards import find_forwarded
from tests.support.forwards import (
    FIXTURE_CASES, FIXTURES, GMAIL_HTML, JOHN, OUTLOOK_HTML, SUBJECT, THUNDERBIRD, THUNDERBIRD_HTML, thunderbird_body,
)


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=FIXTURE_CASES.keys())
def test_each_client_and_language(case):
    body_file, subject_file = FIXTURE_CASES[case]
    body = (FIXTURES / body_file).read_text(encoding="utf-8")
    subject = (FIXTURES / subject_file).read_text(encoding="utf-8").strip() if subject_file else f"Fwd: {SUBJECT}"
    original = find_forwarded(body, "", outer_subject=subject)
    assert original is not None and original.sender == JOHN
    if case.startswith("outlook_2019_"):     # the reply-style first line names the sender alone
        assert original.source == "inline-outlook-2019"
        return
    if case != "yahoo_pt":                   # Yahoo's Portuguese "Assunto" has no colon
        assert original.subject == SUBJECT
    assert (original.date is None) == (case in UNREAD_DATES)
    assert [box.email for box in original.to][:1] == ["bessie.berry@acme.com"]


UNREAD_DATES = {
    "apple_mail_hr": "listopada: October in Croatian, November in Polish",
    "gmail_hr": "lis: the same",
    "yahoo_pl": "listopada: the same",
    "gmail_pt": "27/10/2021: day or month first",
    "ionos_one_and_one_en": "02/10/2023: the same",
}


def test_the_fixtures_cover_every_client():
    clients = {name.rsplit("_", 1)[0] for name in FIXTURE_CASES if not name.startswith("outlook_live_")}
    assert {"apple_mail", "gmail", "yahoo", "thunderbird", "new_outlook_2019", "outlook_2019", "hubspot"} <= {
        client.removesuffix("_pt") for client in clients}
    assert len(FIXTURE_CASES) >= 150


@pytest.mark.parametrize("locale", THUNDERBIRD)
def test_thunderbird_in_its_other_locales(locale):
    original = find_forwarded(thunderbird_body(locale), "", outer_subject=f"Fwd: {SUBJECT}")
    assert original is not None and original.source == ("inline-generic" if locale == "pl" else "inline-thunderbird")
    assert (original.sender, original.subject) == (JOHN, SUBJECT)
    assert original.date == datetime(2021, 11, 3, 15, 51, 30, tzinfo=timezone(timedelta(hours=1)))
    assert [box.email for box in original.to] == ["bessie.berry@acme.com"]
    assert [box.email for box in original.cc] == ["walter.sheltan@acme.com"]


LANGUAGES = {    # issue #20's list: today's eight and the nineteen more, each with its cases above
    "en": ["gmail_en"], "de": ["gmail_de"], "fr": ["gmail_fr"], "it": ["gmail_it"], "es": ["gmail_es"],
    "pt": ["gmail_pt"], "nl": ["gmail_nl"], "pt-br": ["gmail_pt_br"],
    "cs": ["gmail_cs"], "da": ["gmail_da"], "et": ["gmail_et"], "fi": ["gmail_fi"], "hr": ["gmail_hr"],
    "hu": ["gmail_hu"], "no": ["gmail_no"], "pl": ["gmail_pl"], "ro": ["gmail_ro"], "ru": ["gmail_ru"],
    "sk": ["gmail_sk"], "sv": ["gmail_sv"], "tr": ["gmail_tr"], "uk": ["gmail_uk"], "ja": ["hubspot_ja"],
    "zh": ["zh-CN", "zh-TW"], "ko": ["ko"], "el": ["el"], "ar": ["ar"],
}


def test_every_language_of_the_issue_has_cases():
    assert len(LANGUAGES) >= 27
    for cases in LANGUAGES.values():
        assert all(case in FIXTURE_CASES or case in THUNDERBIRD for case in cases)


# ------------------------------------------------------------------ HTML forwards

@pytest.mark.parametrize("html", [THUNDERBIRD_HTML, OUTLOOK_HTML, GMAIL_HTML], ids=["thunderbird", "outlook", "gmail"])
def test_html_only_forwards(html):
    original = find_forwarded("", html, outer_subject=f"Fwd: {SUBJECT}")
    assert original is not None and (original.sender, original.subject) == (JOHN, SUBJECT)


@pytest.mark.parametrize("html", [THUNDERBIRD_HTML, OUTLOOK_HTML, GMAIL_HTML], ids=["thunderbird", "outlook", "gmail"])
def test_html_first_forwards_whose_text_part_lost_the_block(html):
    # a text alternative made from the HTML by a tool that keeps the words and drops the lines
    flattened = " ".join(html_words for html_words in ["FYI", "Forwarded message", "John Doe john.doe@acme.com",
                                                        SUBJECT, "Aenean quis diam urna."])
    original = find_forwarded(flattened, html, outer_subject=f"WG: {SUBJECT}")
    assert original is not None and original.sender == JOHN


def test_html_with_a_separator_the_text_part_cut_short():
    text = "FYI\n\n-------- Weitergeleitete Nachricht --------\n\nAenean quis diam urna.\n"
    original = find_forwarded(text, THUNDERBIRD_HTML, outer_subject="Interessant")
    assert original is not None and original.sender == JOHN


def test_the_message_id_of_a_thunderbird_block_with_every_header():
    body = """-------- Forwarded Message --------
Subject: \tInteger consequat non purus
Date: \tWed, 3 Nov 2021 15:51:30 +0100
From: \tJohn Doe <john.doe@acme.com>
Reply-To: \tJohn Doe <john.doe@acme.com>
To: \tbessie.berry@acme.com
Message-ID: \t<5c0f9a1e-77aa-4f1e@acme.com>
"""
    original = find_forwarded(body, "")
    assert original.sender == JOHN and original.message_id == "<5c0f9a1e-77aa-4f1e@acme.com>"
    assert find_forwarded(body.replace("Message-ID", "Nachricht-ID"), "").message_id == "<5c0f9a1e-77aa-4f1e@acme.com>"


# ------------------------------------------------------------------ never a forward

NOT_FORWARDS = {
    "an Outlook 2019 reply line under Re:": ("Re: Integer consequat non purus",
                                             'On 28/10/2021 12:46, "John Doe" <john.doe@acme.com> wrote:\n\n    Hi\n'),
    "a German reply line under AW:": ("AW: Angebot", 'Am 28/10/2021, 12:46 schrieb "John Doe" <john.doe@acme.com>:\n'),
    "a reply line with no prefix": ("Angebot", 'Am 28/10/2021, 12:46 schrieb "John Doe" <john.doe@acme.com>:\n'),
    "a Gmail reply quote under a forward subject": (
        "Fwd: Angebot", "Danke!\n\nOn Mon, Jan 6, 2025 at 10:15 AM John Doe <john.doe@acme.com> wrote:\n> Hallo\n"),
    "a Finnish reply (VS: is a reply there)": (
        "VS: Tarjous", "Kiitos\n\nJohn Doe <john.doe@acme.com> kirjoitti 28/10/2021 12.46:\n> Hei\n"),
    "a Polish reply": ("Odp: Oferta", "Dnia 28/10/2021, 12:46 użytkownik „John Doe” <john.doe@acme.com> napisał:\n"),
    "a Russian Outlook reply": ("RE: Предложение", "Спасибо\n\nОт: John Doe <john.doe@acme.com>\n"
                                "Отправлено: 28 октября 2021 г. 12:46\nКому: bessie.berry@acme.com\nТема: Предложение\n"),
    "a Swedish Outlook reply": ("SV: Offert", "Tack\n________________________________\nFrån: John Doe <john.doe@acme.com>\n"
                                "Skickat: den 27 oktober 2021 15:14\nTill: bessie.berry@acme.com\nÄmne: Offert\n"),
    "a pasted header inside a reply": ("Re: Offer", "See what he sent me:\n\nFrom: John Doe <john.doe@acme.com>\n"
                                       "Date: Mon, Jan 6, 2025 at 10:15 AM\nSubject: Offer\n"),
    "a forward separator inside a sentence": ("Note", "I saw ----- Forwarded Message ----- written there. From: me\n"),
    "a Yahoo-like line without labels": ("Note", "----- Forwarded Message ----- and nothing else\n"),
    "labels in prose": ("Note", "Temat: ważny. Od: zaraz. Data: jutro.\n"),
}


@pytest.mark.parametrize("case", NOT_FORWARDS, ids=NOT_FORWARDS.keys())
def test_never_a_forward(case):
    subject, body = NOT_FORWARDS[case]
    assert find_forwarded(body, "", outer_subject=subject) is None


def test_hostile_bodies_are_read_to_an_answer():
    """Shapes that would make a backtracking pattern run for ever are answered (their time is measured
    by bench/, not asserted here)."""
    lines = ['On ' + 'x' * 150 + ', "' + 'a' * 100 + '" <b@c' + ' ' * 100 + ':' for _ in range(3000)]
    assert find_forwarded("\n\n".join(lines), "", outer_subject="FW: x") is None
    one_line = "----- Forwarded Message ----- From: " + "To: " * 300_000
    found = find_forwarded(one_line, "", outer_subject="Fwd: x")
    assert found is None or not found.sender
