"""Inline forwards: each client's block, localized labels, printed dates and addresses, and no false positives."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.mail.encodings import html_to_text
from gateway.mail.forwards import client_date, find_forwarded, printed_mailboxes
from gateway.mail.message import Mailbox

CET = timezone(timedelta(hours=1))
JOHN = Mailbox("john.doe@customer.example", "John Doe")


def forward(body: str, **kwargs):
    return find_forwarded(body, "", default_tz=CET, **kwargs)


# ------------------------------------------------------------------ the clients' blocks

CLIENT_BLOCKS = {
    "gmail en": ("inline-gmail", """FYI

---------- Forwarded message ---------
From: John Doe <john.doe@customer.example>
Date: Mon, Jan 6, 2025 at 10:15\u202fAM
Subject: Pricing question
To: Ada Lovelace <ada@acme.example>
Cc: Mary Major <mary.major@customer.example>


Hi Ada,"""),
    "gmail de, older localized separator": ("inline-gmail", """---------- Weitergeleitete Nachricht ---------
Von: John Doe <john.doe@customer.example>
Date: Mo., 6. Jan. 2025 um 10:15 Uhr
Subject: Pricing question
To: <ada@acme.example>
"""),
    "gmail fr, narrow space before the colon": ("inline-gmail", """---------- Forwarded message ---------
De\u00a0: John Doe <john.doe@customer.example>
Date: lun. 6 janv. 2025 à 10:15
Subject: Pricing question
To: <ada@acme.example>
"""),
    "outlook en": ("inline-outlook", """FYI
________________________________
From: John Doe <john.doe@customer.example>
Sent: Monday, January 6, 2025 10:15 AM
To: Ada Lovelace <ada@acme.example>
Cc: Mary Major <mary.major@customer.example>
Subject: Pricing question
"""),
    "outlook de, no separator (from its HTML)": ("inline-outlook", """Zur Info

Von: John Doe <john.doe@customer.example>
Gesendet: Montag, 6. Januar 2025 10:15
An: Ada Lovelace <ada@acme.example>
Betreff: Pricing question
"""),
    "outlook it": ("inline-outlook", """________________________________
Da: John Doe <john.doe@customer.example>
Inviato: lunedì 6 gennaio 2025 10:15
A: Ada Lovelace <ada@acme.example>
Oggetto: Pricing question
"""),
    "outlook fr": ("inline-outlook", """________________________________
De : John Doe <john.doe@customer.example>
Envoyé : lundi 6 janvier 2025 10:15
À : Ada Lovelace <ada@acme.example>
Objet : Pricing question
"""),
    "outlook es": ("inline-outlook", """________________________________
De: John Doe <john.doe@customer.example>
Enviado el: lunes, 6 de enero de 2025 10:15
Para: Ada Lovelace <ada@acme.example>
CC: Mary Major <mary.major@customer.example>
Asunto: Pricing question
"""),
    "outlook pt": ("inline-outlook", """________________________________
De: John Doe <john.doe@customer.example>
Enviado: segunda-feira, 6 de janeiro de 2025 10:15
Para: Ada Lovelace <ada@acme.example>
Assunto: Pricing question
"""),
    "outlook nl, older with mailto": ("inline-outlook", """-----Oorspronkelijk bericht-----
Van: John Doe [mailto:john.doe@customer.example]
Verzonden: maandag 6 januari 2025 10:15
Aan: Ada Lovelace
Onderwerp: Pricing question
"""),
    "outlook en, older with mailto": ("inline-outlook", """-----Original Message-----
From: John Doe [mailto:john.doe@customer.example]
Sent: Monday, January 06, 2025 10:15 AM
To: Ada Lovelace
Subject: Pricing question
"""),
    "outlook, address with mailto link text": ("inline-outlook", """________________________________
From: John Doe <john.doe@customer.example<mailto:john.doe@customer.example>>
Sent: Monday, January 6, 2025 10:15 AM
Subject: Pricing question
"""),
    "apple en, quoted": ("inline-apple", """FYI

> Begin forwarded message:
>
> From: John Doe <john.doe@customer.example>
> Subject: Pricing question
> Date: January 6, 2025 at 10:15:00\u202fAM GMT+1
> To: Ada Lovelace <ada@acme.example>
>
> Hi Ada,"""),
    "apple de": ("inline-apple", """Anfang der weitergeleiteten Nachricht:

Von: John Doe <john.doe@customer.example>
Betreff: Pricing question
Datum: 6. Januar 2025 um 10:15:00 MEZ
An: Ada Lovelace <ada@acme.example>
"""),
    "apple it": ("inline-apple", """Inizio messaggio inoltrato:

Da: John Doe <john.doe@customer.example>
Oggetto: Pricing question
Data: 6 gennaio 2025 10:15:00 CET
A: Ada Lovelace <ada@acme.example>
"""),
    "apple fr": ("inline-apple", """> Début du message réexpédié :
>
> De: John Doe <john.doe@customer.example>
> Objet: Pricing question
> Date: 6 janvier 2025 à 10:15:00 UTC+1
> À: Ada Lovelace <ada@acme.example>
"""),
    "apple es": ("inline-apple", """Inicio del mensaje reenviado:

De: John Doe <john.doe@customer.example>
Asunto: Pricing question
Fecha: 6 de enero de 2025, 10:15:00 CET
Para: Ada Lovelace <ada@acme.example>
"""),
    "apple nl": ("inline-apple", """Begin doorgestuurd bericht:

Van: John Doe <john.doe@customer.example>
Onderwerp: Pricing question
Datum: 6 januari 2025 om 10:15:00 CET
Aan: Ada Lovelace <ada@acme.example>
"""),
    "apple pt": ("inline-apple", """Início da mensagem reencaminhada:

De: John Doe <john.doe@customer.example>
Assunto: Pricing question
Data: 6 de janeiro de 2025, 10:15:00 CET
Para: Ada Lovelace <ada@acme.example>
"""),
    "thunderbird en": ("inline-thunderbird", """-------- Forwarded Message --------
Subject: \tPricing question
Date: \tMon, 6 Jan 2025 10:15:00 +0100
From: \tJohn Doe <john.doe@customer.example>
To: \tAda Lovelace <ada@acme.example>
CC: \tMary Major <mary.major@customer.example>
"""),
    "thunderbird de": ("inline-thunderbird", """-------- Weitergeleitete Nachricht --------
Betreff: \tPricing question
Datum: \tMon, 6 Jan 2025 10:15:00 +0100
Von: \tJohn Doe <john.doe@customer.example>
An: \tAda Lovelace <ada@acme.example>
Kopie (CC): \tMary Major <mary.major@customer.example>
"""),
    "thunderbird it": ("inline-thunderbird", """-------- Messaggio Inoltrato --------
Oggetto: \tPricing question
Data: \tMon, 6 Jan 2025 10:15:00 +0100
Mittente: \tJohn Doe <john.doe@customer.example>
A: \tAda Lovelace <ada@acme.example>
"""),
    "thunderbird fr": ("inline-thunderbird", """-------- Message transféré --------
Sujet : \tPricing question
Date : \tMon, 6 Jan 2025 10:15:00 +0100
De : \tJohn Doe <john.doe@customer.example>
Pour : \tAda Lovelace <ada@acme.example>
Copie à : \tMary Major <mary.major@customer.example>
"""),
    "thunderbird es": ("inline-thunderbird", """-------- Mensaje reenviado --------
Asunto: \tPricing question
Fecha: \tMon, 6 Jan 2025 10:15:00 +0100
De: \tJohn Doe <john.doe@customer.example>
Para: \tAda Lovelace <ada@acme.example>
"""),
    "thunderbird nl": ("inline-thunderbird", """-------- Doorgestuurd bericht --------
Onderwerp: \tPricing question
Datum: \tMon, 6 Jan 2025 10:15:00 +0100
Van: \tJohn Doe <john.doe@customer.example>
Aan: \tAda Lovelace <ada@acme.example>
"""),
    "thunderbird pt": ("inline-thunderbird", """-------- Mensagem encaminhada --------
Assunto: \tPricing question
Data: \tMon, 6 Jan 2025 10:15:00 +0100
De: \tJohn Doe <john.doe@customer.example>
Para: \tAda Lovelace <ada@acme.example>
"""),
    "yahoo-style dashes": ("inline-generic", """----- Forwarded Message -----
From: John Doe <john.doe@customer.example>
To: Ada Lovelace <ada@acme.example>
Sent: Monday, January 6, 2025, 10:15:00 AM GMT+1
Subject: Pricing question
"""),
    "doubly quoted": ("inline-gmail", """> > ---------- Forwarded message ---------
> > From: John Doe <john.doe@customer.example>
> > Date: Mon, Jan 6, 2025 at 10:15 AM
> > Subject: Pricing question
"""),
    "generic block after a rule line": ("inline-generic", """see below
==========
From: John Doe <john.doe@customer.example>
Date: Monday, January 6, 2025 10:15 AM
Subject: Pricing question
"""),
}


@pytest.mark.parametrize("case", CLIENT_BLOCKS, ids=CLIENT_BLOCKS.keys())
def test_client_forward_blocks(case):
    source, body = CLIENT_BLOCKS[case]
    original = forward(body)
    assert original is not None
    assert original.source == source
    assert original.sender == JOHN
    assert original.subject == "Pricing question"
    assert original.date == datetime(2025, 1, 6, 10, 15, tzinfo=CET)


def test_recipients_of_the_original_are_kept():
    original = forward(CLIENT_BLOCKS["gmail en"][1])
    assert original.to == (Mailbox("ada@acme.example", "Ada Lovelace"),)
    assert original.cc == (Mailbox("mary.major@customer.example", "Mary Major"),)


def test_wrapped_recipient_lines_are_joined():
    original = forward("""________________________________
From: John Doe <john.doe@customer.example>
Sent: Monday, January 6, 2025 10:15 AM
To: Ada Lovelace <ada@acme.example>; Mary Major <mary.major@customer.example>;
 Bob Stone <bob.stone@customer.example>
Subject: Pricing question
""")
    assert [box.email for box in original.to] == [
        "ada@acme.example", "mary.major@customer.example", "bob.stone@customer.example"]


def test_a_name_only_sender_takes_the_address_from_the_outer_message():
    body = """________________________________
From: John Doe
Sent: Monday, January 6, 2025 10:15 AM
To: Ada Lovelace
Subject: Pricing question
"""
    known = (Mailbox("ada@acme.example", "Ada Lovelace"), Mailbox("john.doe@customer.example", "John  Doe"))
    assert forward(body, outer_mailboxes=known).sender == Mailbox("john.doe@customer.example", "John  Doe")
    unresolved = forward(body, outer_mailboxes=known[:1])
    assert unresolved is not None and unresolved.sender is None


def test_a_mailto_on_the_line_after_a_name_only_sender():
    original = forward("""________________________________
From: John Doe
 <mailto:john.doe@customer.example>
Sent: Monday, January 6, 2025 10:15 AM
Subject: Pricing question
""")
    assert original.sender == JOHN


def test_an_unreadable_localized_date_leaves_the_date_empty():
    original = forward("""---------- Forwarded message ---------
From: John Doe <john.doe@customer.example>
Date: 6/1/2025 10:15
Subject: Pricing question
""")
    assert original.sender == JOHN and original.date is None


def test_html_body_is_read_when_there_is_no_text_body():
    html = """<div dir="ltr">FYI<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">
    ---------- Forwarded message ---------<br>From: <strong class="gmail_sendername" dir="auto">John Doe</strong>
    <span dir="auto">&lt;<a href="mailto:john.doe@customer.example">john.doe@customer.example</a>&gt;</span><br>
    Date: Mon, Jan 6, 2025 at 10:15 AM<br>Subject: Pricing question<br>To: &lt;ada@acme.example&gt;<br></div></div></div>"""
    original = find_forwarded("", html, default_tz=CET)
    assert original.source == "inline-gmail" and original.sender == JOHN


def test_outlook_desktop_html_without_separator():
    html = """<div class=WordSection1><p class=MsoNormal>FYI<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>
    <div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>
    <p class=MsoNormal><b><span lang=EN-US>From:</span></b><span lang=EN-US> John Doe &lt;john.doe@customer.example&gt;
    <br><b>Sent:</b> Monday, January 6, 2025 10:15 AM<br><b>To:</b> Ada Lovelace &lt;ada@acme.example&gt;<br>
    <b>Subject:</b> Pricing question<o:p></o:p></span></p></div>"""
    original = find_forwarded("", html, outer_subject="FW: Pricing question", default_tz=CET)
    assert original.source == "inline-outlook" and original.sender == JOHN


# ------------------------------------------------------------------ not forwards

NOT_FORWARDS = {
    "a reply quoting the original": ("Re: Pricing question", """Sure, see attached.

On Mon, Jan 6, 2025 at 10:15 AM John Doe <john.doe@customer.example> wrote:
> Hi Ada,
> could you send us a quote?
"""),
    "From: inside a paragraph": ("Your quote", """Hi John,

the prices quoted From: our list are valid until March. Subject: to change.
Date: to be agreed.
"""),
    "a From: line without date and subject": ("Your quote", """Hi John,

From: our finance team, the invoice follows.
"""),
    "an Outlook reply": ("RE: Pricing question", """Thanks!

________________________________
From: John Doe <john.doe@customer.example>
Sent: Monday, January 6, 2025 10:15 AM
To: Ada Lovelace <ada@acme.example>
Subject: Pricing question
"""),
    "a German Outlook reply": ("AW: Preisanfrage", """Danke!

Von: John Doe <john.doe@customer.example>
Gesendet: Montag, 6. Januar 2025 10:15
An: Ada Lovelace <ada@acme.example>
Betreff: Preisanfrage
"""),
    "a signature rule": ("Your quote", """Best,
Ada
________________________________
Acme Corp. · Registered in Example City
"""),
    "a header block in the middle of a paragraph": ("Your quote", """As discussed:
From: John Doe <john.doe@customer.example>
Date: Monday, January 6, 2025 10:15 AM
Subject: Pricing question
"""),
    "empty": ("", ""),
}


@pytest.mark.parametrize("case", NOT_FORWARDS, ids=NOT_FORWARDS.keys())
def test_not_a_forward(case):
    subject, body = NOT_FORWARDS[case]
    assert find_forwarded(body, "", outer_subject=subject) is None


def test_an_explicit_forward_counts_even_in_a_reply():
    assert forward(CLIENT_BLOCKS["gmail en"][1], outer_subject="Re: Fwd: Pricing question").sender == JOHN


def test_html_is_not_read_when_the_text_body_has_no_forward():
    html = "<p>---------- Forwarded message ---------<br>From: John Doe &lt;john.doe@customer.example&gt;</p>"
    assert find_forwarded("Hello", html) is None


# ------------------------------------------------------------------ printed dates

@pytest.mark.parametrize(("printed", "expected"), [
    ("Mon, Jan 6, 2025 at 10:15 AM", datetime(2025, 1, 6, 10, 15, tzinfo=CET)),
    ("Mon, Jan 6, 2025 at 10:15\u202fPM", datetime(2025, 1, 6, 22, 15, tzinfo=CET)),
    ("Mon, 6 Jan 2025 at 12:05 AM", datetime(2025, 1, 6, 0, 5, tzinfo=CET)),
    ("Monday, January 6, 2025 12:15 PM", datetime(2025, 1, 6, 12, 15, tzinfo=CET)),
    ("Thursday, 28 October 2021 at 12:46", datetime(2021, 10, 28, 12, 46, tzinfo=CET)),
    ("January 6, 2025 at 10:15:30 AM GMT+1", datetime(2025, 1, 6, 10, 15, 30, tzinfo=CET)),
    ("January 6, 2025 at 10:15:00 AM GMT-5:30", datetime(2025, 1, 6, 10, 15, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
    ("January 6, 2025 at 10:15 AM PST", datetime(2025, 1, 6, 10, 15, tzinfo=timezone(timedelta(hours=-8)))),
    ("Wed, 3 Nov 2021 15:51:30 +0100", datetime(2021, 11, 3, 15, 51, 30, tzinfo=CET)),
    ("Wed, 3 Nov 2021 15:51:30 +0000", datetime(2021, 11, 3, 15, 51, 30, tzinfo=timezone.utc)),
    ("Mi., 27. Okt. 2021 um 09:31 Uhr", datetime(2021, 10, 27, 9, 31, tzinfo=CET)),
    ("Montag, 6. Januar 2025 10:15", datetime(2025, 1, 6, 10, 15, tzinfo=CET)),
    ("6. März 2025 um 10:15:00 MEZ", datetime(2025, 3, 6, 10, 15, tzinfo=CET)),
    ("mer. 27 oct. 2021 à 09:31", datetime(2021, 10, 27, 9, 31, tzinfo=CET)),
    ("mar. 7 janv. 2025 à 14:05", datetime(2025, 1, 7, 14, 5, tzinfo=CET)),
    ("mar, 7 ene 2025 a las 14:05", datetime(2025, 1, 7, 14, 5, tzinfo=CET)),
    ("lunes, 6 de enero de 2025 10:15", datetime(2025, 1, 6, 10, 15, tzinfo=CET)),
    ("lunedì 6 gennaio 2025 10:15", datetime(2025, 1, 6, 10, 15, tzinfo=CET)),
    ("seg., 6 de jan. de 2025 às 10:15", datetime(2025, 1, 6, 10, 15, tzinfo=CET)),
    ("ma 6 jan 2025 om 10:15", datetime(2025, 1, 6, 10, 15, tzinfo=CET)),
    ("2025-01-06 10:15", datetime(2025, 1, 6, 10, 15, tzinfo=CET)),
    # the languages of the clients' fixtures (tests/data/forwards)
    ("26. října 2021 14:25:08 GMT+1", datetime(2021, 10, 26, 14, 25, 8, tzinfo=CET)),        # cs
    ("st 27. 10. 2021 v 9:31", datetime(2021, 10, 27, 9, 31, tzinfo=CET)),                   # cs, sk: numeric
    ("K, 27. oktoober 2021 kell 09:31", datetime(2021, 10, 27, 9, 31, tzinfo=CET)),          # et
    ("ke 27. lokak. 2021 klo 9.31", datetime(2021, 10, 27, 9, 31, tzinfo=CET)),              # fi
    ("26. lokakuuta 2021 klo 14.25.08 UTC+1", datetime(2021, 10, 26, 14, 25, 8, tzinfo=CET)),  # fi
    ("2021. október 26. 14:25:08", datetime(2021, 10, 26, 14, 25, 8, tzinfo=CET)),           # hu
    ("śr., 27 paź 2021 o 09:31", datetime(2021, 10, 27, 9, 31, tzinfo=CET)),                 # pl
    ("marți, 2 noiembrie 2021, 09:26:50 CET", datetime(2021, 11, 2, 9, 26, 50, tzinfo=CET)),  # ro
    ("четверг, 28 октября 2021 г. в 12:46", datetime(2021, 10, 28, 12, 46, tzinfo=CET)),     # ru
    ("štvrtok, 28. októbra 2021, 12:46", datetime(2021, 10, 28, 12, 46, tzinfo=CET)),        # sk
    ("tisdag 2 november 2021 09:26", datetime(2021, 11, 2, 9, 26, tzinfo=CET)),              # sv
    ("27 Eki 2021 Çar, 09:31", datetime(2021, 10, 27, 9, 31, tzinfo=CET)),                   # tr
    ("ср, 27 жовт. 2021 о 09:31", datetime(2021, 10, 27, 9, 31, tzinfo=CET)),                # uk
    ("Τετάρτη, 3 Νοεμβρίου 2021 15:51", datetime(2021, 11, 3, 15, 51, tzinfo=CET)),         # el
    ("2022年9月19日月曜日 17:55:44 +0100", datetime(2022, 9, 19, 17, 55, 44, tzinfo=CET)),      # ja
    ("2022년 9월 19일 (월) 오후 5:55", datetime(2022, 9, 19, 17, 55, tzinfo=CET)),               # ko, afternoon
    ("2022年9月19日 下午5:55", datetime(2022, 9, 19, 17, 55, tzinfo=CET)),                       # zh, afternoon
])
def test_client_dates(printed, expected):
    date = client_date(printed, CET)
    assert date == expected and date.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("printed", ["", "yesterday", "06/01/2025 10:15", "26. listopada 2021. u 14:25", "Monday 10:15", "February 30, 2025 10:00",
                                     "Jan 2025", "99:99 Jan 6, 2025"])
def test_unreadable_client_dates(printed):
    assert client_date(printed, CET) is None


def test_a_date_without_zone_defaults_to_utc():
    assert client_date("Mon, Jan 6, 2025 at 10:15 AM").tzinfo == timezone.utc


# ------------------------------------------------------------------ printed addresses

@pytest.mark.parametrize(("printed", "expected"), [
    ("John Doe <John.Doe@Customer.example>", [("john.doe@customer.example", "John Doe")]),
    ("<john.doe@customer.example>", [("john.doe@customer.example", "")]),
    ("john.doe@customer.example", [("john.doe@customer.example", "")]),
    ('"Doe, John" <j@x.example>; \'Mary\' <m@x.example>', [("j@x.example", "Doe, John"), ("m@x.example", "Mary")]),
    ("John Doe [mailto:j@x.example]", [("j@x.example", "John Doe")]),
    ("John Doe <mailto:j@x.example>", [("j@x.example", "John Doe")]),
    ("j@x.example <j@x.example>", [("j@x.example", "")]),
    ("John <j@x.example<mailto:j@x.example>>, Mary <m@x.example<mailto:m@x.example>>",
     [("j@x.example", "John"), ("m@x.example", "Mary")]),
    ("*John Doe* <j@x.example>", [("j@x.example", "John Doe")]),
    ("Jörg <jörg@bäckerei.example>", [("jörg@bäckerei.example", "Jörg")]),
    ("John Doe", []),
    ("", []),
])
def test_printed_mailboxes(printed, expected):
    assert [(box.email, box.name) for box in printed_mailboxes(printed)] == expected


# ------------------------------------------------------------------ HTML to text

def test_html_to_text_breaks_lines_like_a_reader_sees_them():
    html = """<html><head><title>t</title><style>p {color: red}</style></head><body>
    <p>Hello&nbsp;<b>you</b> &amp; me</p><div>one<br>two</div><hr><table><tr><th>Subject:</th><td>Hi</td></tr></table>
    <script>var x = "<p>no</p>";</script></body></html>"""
    assert html_to_text(html) == "Hello you & me\n\none\ntwo\n\n" + "_" * 32 + "\n\nSubject: Hi"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_html_to_text_never_raises(html):
    assert isinstance(html_to_text(html), str)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000), st.text(max_size=3000), st.text(max_size=60))
def test_find_forwarded_never_raises(text, html, subject):
    find_forwarded(text, html, outer_subject=subject)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_client_date_never_raises_and_is_aware(printed):
    date = client_date(printed)
    assert date is None or date.tzinfo is not None
