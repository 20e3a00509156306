"""Forwards as mail clients write them, shared by the unit tests of the parser and the end-to-end ones.

- tests/data/forwards/: the fixtures of crisp-oss/email-forward-parser (see its README);
- THUNDERBIRD: Thunderbird's plain-text forward in the locales those fixtures lack, from Thunderbird's own
  localization (thunderbird-l10n: composeMsgs.properties, mime.properties);
- Thunderbird's, Outlook's and Gmail's HTML forwards.
"""

from __future__ import annotations

from pathlib import Path

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


def thunderbird_body(locale: str, sender: str = "john.doe@acme.com") -> str:
    """A plain-text forward as Thunderbird writes it in ``locale``, of a message from John Doe <``sender``>."""
    separator, subject, date, from_, to, cc = THUNDERBIRD[locale]
    return (f"FYI\n\n{separator}\n{subject}: \t{SUBJECT}\n{date}: \tWed, 3 Nov 2021 15:51:30 +0100\n"
            f"{from_}: \tJohn Doe <{sender}>\n{to}: \tbessie.berry@acme.com\n"
            f"{cc}: \tWalter Sheltan <walter.sheltan@acme.com>\n\n\nHello\n")


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
