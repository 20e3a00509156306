"""Forwards from every common client and language, each in the format that client really writes.

- tests/data/forwards/: the fixtures of crisp-oss/email-forward-parser (see its README): Apple Mail,
  Gmail, HubSpot, IONOS, MailMate, Missive, Outlook Live/365, Outlook 2013/2019, New Outlook 2019,
  Thunderbird and Yahoo Mail in their locales;
- THUNDERBIRD below: Thunderbird's plain-text forward in the locales those fixtures lack, written from
  Thunderbird's own localization (thunderbird-l10n: composeMsgs.properties, mime.properties);
- HTML forwards (Thunderbird's moz-forward table, Outlook's and Gmail's HTML) read from the HTML part;
- replies and quotes in those languages, which never yield a sender.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gateway.mail.forwards import find_forwarded
from gateway.mail.message import Mailbox

FIXTURES = Path(__file__).parent.parent / "data" / "forwards"
JOHN = Mailbox("john.doe@acme.com", "John Doe")
SUBJECT = "Integer consequat non purus"


def _fixture_cases() -> dict[str, tuple[str, str]]:
    """Case name -> (body file, the forward's own subject): the fixtures as their tests pair them."""
    cases: dict[str, tuple[str, str]] = {}
    for body in sorted(FIXTURES.glob("*_body.txt")):
        name = body.name.removesuffix("_body.txt")
        if name == "outlook_live":       # one body, the subject each locale gives it
            for subject in sorted(FIXTURES.glob("outlook_live_*_subject.txt")):
                cases[subject.name.removesuffix("_subject.txt")] = (body.name, subject.name)
        elif name.startswith("outlook_2019_"):
            cases[name] = (body.name, "outlook_2019_subject.txt")
        elif (FIXTURES / f"{name}_subject.txt").exists():
            cases[name] = (body.name, f"{name}_subject.txt")
        else:
            cases[name] = (body.name, "")
    return cases


FIXTURE_CASES = _fixture_cases()


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=FIXTURE_CASES.keys())
def test_each_client_and_language(case):
    body_file, subject_file = FIXTURE_CASES[case]
    body = (FIXTURES / body_file).read_text(encoding="utf-8")
    subject = (FIXTURES / subject_file).read_text(encoding="utf-8").strip() if subject_file else f"Fwd: {SUBJECT}"
    original = find_forwarded(body, "", outer_subject=subject)
    assert original is not None and original.sender == JOHN
    if case.startswith("outlook_2019_"):     # the reply-style first line names the sender alone
        assert original.source == "inline-outlook-2019"
    elif case != "yahoo_pt":                 # Yahoo's Portuguese "Assunto" has no colon
        assert original.subject == SUBJECT


def test_the_fixtures_cover_every_client():
    clients = {name.rsplit("_", 1)[0] for name in FIXTURE_CASES if not name.startswith("outlook_live_")}
    assert {"apple_mail", "gmail", "yahoo", "thunderbird", "new_outlook_2019", "outlook_2019", "hubspot"} <= {
        client.removesuffix("_pt") for client in clients}
    assert len(FIXTURE_CASES) >= 150


# Thunderbird's plain-text forward: the separator (mailnews.forward_header_originalmessage) and the labels
# of mime.properties (1000 Subject, 1007 Date, 1009 From, 1012 To, 1013 CC), a tab after each colon.
THUNDERBIRD = {
    "el": ("-------- Προωθημένο μήνυμα --------", "Θέμα", "Ημερομηνία", "Από", "Προς", "Κοιν."),
    "et": ("-------- Edastatud kiri --------", "Teema", "Kuupäev", "Saatja", "Saaja", "Koopia"),
    "ja": ("-------- Forwarded Message --------", "Subject", "Date", "From", "To", "CC"),
    "ko": ("-------- 전달된 메시지 --------", "제목", "날짜", "보낸 사람", "받는 사람", "참조"),
    "zh-CN": ("-------- 转发的消息 --------", "主题", "日期", "发件人", "收件人", "抄送"),
    "zh-TW": ("-------- 轉寄郵件 --------", "主旨", "日期", "從", "到", "副本"),
    "ar": ("-------- رسالة ممرّرة --------", "الموضوع", "التاريخ", "مِن", "إلى", "CC"),
    "nn-NO": ("-------- Vidaresend melding --------", "Emne", "Dato", "Fra", "Til", "CC"),
    "da": ("-------- Videresendt meddelelse --------", "Emne", "Dato", "Fra", "Til", "Kopi til (CC)"),
    "pl": ("--- Treść przekazanej wiadomości ---", "Temat", "Data", "Nadawca", "Adresat", "Kopia"),
    "ro": ("-------- Mesaj redirecționat --------", "Subiect", "Dată", "de la", "Către", "CC"),
}


@pytest.mark.parametrize("locale", THUNDERBIRD)
def test_thunderbird_in_its_other_locales(locale):
    separator, subject, date, sender, to, cc = THUNDERBIRD[locale]
    body = (f"FYI\n\n{separator}\n{subject}: \t{SUBJECT}\n{date}: \tWed, 3 Nov 2021 15:51:30 +0100\n"
            f"{sender}: \tJohn Doe <john.doe@acme.com>\n{to}: \tbessie.berry@acme.com\n"
            f"{cc}: \tWalter Sheltan <walter.sheltan@acme.com>\n\n\nHello\n")
    original = find_forwarded(body, "", outer_subject=f"Fwd: {SUBJECT}")
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

THUNDERBIRD_HTML = """<html><head><meta http-equiv="content-type" content="text/html; charset=UTF-8"></head><body>
    <p>FYI</p>
    <div class="moz-forward-container"><br>
      <br>
      -------- Weitergeleitete Nachricht --------
      <table class="moz-email-headers-table" cellspacing="0" cellpadding="0" border="0">
        <tbody>
          <tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">Betreff: </th><td>Integer consequat non purus</td></tr>
          <tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">Datum: </th><td>Wed, 3 Nov 2021 15:51:30 +0100</td></tr>
          <tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">Von: </th><td>John Doe <a class="moz-txt-link-rfc2396E"
            href="mailto:john.doe@acme.com">&lt;john.doe@acme.com&gt;</a></td></tr>
          <tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">An: </th><td><a class="moz-txt-link-abbreviated"
            href="mailto:bessie.berry@acme.com">bessie.berry@acme.com</a></td></tr>
        </tbody>
      </table>
      <br><p>Aenean quis diam urna.</p></div></body></html>"""
OUTLOOK_HTML = """<div class=WordSection1><p class=MsoNormal>FYI<o:p></o:p></p>
    <div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>
    <p class=MsoNormal><b><span lang=SV>Från:</span></b><span lang=SV> John Doe &lt;john.doe@acme.com&gt;
    <br><b>Skickat:</b> den 27 oktober 2021 15:14<br><b>Till:</b> bessie.berry@acme.com<br>
    <b>Ämne:</b> Integer consequat non purus<o:p></o:p></span></p></div>"""
GMAIL_HTML = """<div dir="ltr">FYI<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">
    ---------- Forwarded message ---------<br>От: <strong class="gmail_sendername" dir="auto">John Doe</strong>
    <span dir="auto">&lt;<a href="mailto:john.doe@acme.com">john.doe@acme.com</a>&gt;</span><br>
    Date: ср, 27 окт. 2021 г. в 09:31<br>Subject: Integer consequat non purus<br>To: &lt;bessie.berry@acme.com&gt;<br>
    </div><br><br><div dir="ltr">Aenean quis diam urna.</div></div></div>"""


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


def test_hostile_bodies_take_bounded_time():
    lines = ['On ' + 'x' * 150 + ', "' + 'a' * 100 + '" <b@c' + ' ' * 100 + ':' for _ in range(3000)]
    started = time.perf_counter()
    assert find_forwarded("\n\n".join(lines), "", outer_subject="FW: x") is None
    one_line = "----- Forwarded Message ----- From: " + "To: " * 300_000
    find_forwarded(one_line, "", outer_subject="Fwd: x")
    assert time.perf_counter() - started < 2
