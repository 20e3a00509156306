"""Writes tests/data/*.eml as the named clients produce them. Run once; the .eml files are the data."""
import base64, quopri, hashlib, sys, pathlib

OUT = pathlib.Path(__file__).resolve().parent.parent
OUT.mkdir(parents=True, exist_ok=True)
SIZES = {}

def qp(text, charset="utf-8"):
    return quopri.encodestring(text.encode(charset)).decode("ascii")

def b64(data):
    return base64.encodebytes(data).decode("ascii")

def write(name, text, charset="utf-8", crlf=True):
    if text.startswith("\n"):
        text = text[1:]
    data = text.encode(charset, "surrogateescape")
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    (OUT / name).write_bytes(data)

RECEIVED_GOOGLE = """Received: from mail-wr1-f54.google.com (mail-wr1-f54.google.com [209.85.221.54])
	by mx.bcc.example.net (Postfix) with ESMTPS id 4YSm2B0xQzz1XLy
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 08:02:13 +0000 (UTC)
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;
        d=acme.example; s=google; t=1736236931; x=1736841731; darn=bcc.example.net;
        h=to:subject:message-id:date:from:mime-version:from:to:cc:subject
         :date:message-id:reply-to;
        bh=Qx3ak2EjEhGJ3w8lnrZ3xk0nXyO9I6W1a2N2b+0Pj1E=;
        b=Vd1Jq3yC9Z0r6gkA8XU0oZ8Cj1vEoXn1mZ1bQ0WQq7bqHnU6m3eQx2l4dVt0zN0QbS
         6n8L1W9gZ0y1f8x7pK3QvD2sE4fG5hJ6kL7mN8oP9qR0sT1uV2wX3yZ4aB5cD6eF7gH8
X-Google-Smtp-Source: AGHT+IF3mJ0bq8v0Xx7u2c9Yk1n4x0tq1vGk9bH2a8mY4PzE0w==
X-Received: by 2002:a05:6000:2a2:b0:38a:2b7d:5e0f with SMTP id ffacd0b85a97d-38a8730d1a4mr41157893f8f.25.1736236932497;
        Tue, 07 Jan 2025 00:02:12 -0800 (PST)
"""

# ---------------------------------------------------------------- Gmail forwards
GMAIL = {
    # locale: (separator, from label, date, subject, to, cc, note)
    "en": ("---------- Forwarded message ---------", "From", "Mon, Jan 6, 2025 at 10:15\u202fAM",
           "Pricing question", "FYI, see John's question below.", "Ada Lovelace <ada@acme.example>"),
    "de": ("---------- Weitergeleitete Nachricht ---------", "Von", "Mo., 6. Jan. 2025 um 10:15 Uhr",
           "Preisanfrage für 2025", "Zur Info, siehe unten.", "<ada@acme.example>"),
    "it": ("---------- Messaggio inoltrato ---------", "Da", "lun 6 gen 2025 alle ore 10:15",
           "Richiesta di preventivo", "Per conoscenza.", "Ada Lovelace <ada@acme.example>"),
    "fr": ("---------- Forwarded message ---------", "De\u00a0", "lun. 6 janv. 2025 à 10:15",
           "Demande de devis", "Pour info.", "<ada@acme.example>"),
    "es": ("---------- Mensaje reenviado ---------", "De", "lun, 6 ene 2025 a las 10:15",
           "Solicitud de presupuesto", "Para tu información.", "Ada Lovelace <ada@acme.example>"),
    "pt": ("---------- Mensagem encaminhada ---------", "De", "seg., 6 de jan. de 2025 às 10:15",
           "Pedido de orçamento", "Para conhecimento.", "<ada@acme.example>"),
    "nl": ("---------- Forwarded message ---------", "Van", "ma 6 jan 2025 om 10:15",
           "Offerteaanvraag", "Ter info.", "Ada Lovelace <ada@acme.example>"),
}
SENDERS = {
    "en": ("John Doe", "john.doe@customer.example"),
    "de": ("Jürgen Weiß", "juergen.weiss@globex.example"),
    "it": ("Giulia Bianchi", "giulia.bianchi@customer.example"),
    "fr": ("Élodie Martin", "elodie.martin@customer.example"),
    "es": ("Carlos Ruiz", "carlos.ruiz@customer.example"),
    "pt": ("João Silva", "joao.silva@customer.example"),
    "nl": ("Jan de Vries", "jan.devries@globex.example"),
}
BODY = {
    "en": "Hi Ada,\n\ncould you send us a quote for 25 seats, billed yearly?\n\nThanks,\nJohn\n",
    "de": "Hallo Ada,\n\nkönnten Sie uns ein Angebot für 25 Lizenzen schicken?\n\nGrüße\nJürgen\n",
    "it": "Ciao Ada,\n\npotresti inviarci un preventivo per 25 licenze?\n\nGrazie,\nGiulia\n",
    "fr": "Bonjour Ada,\n\npourriez-vous nous envoyer un devis pour 25 licences ?\n\nMerci,\nÉlodie\n",
    "es": "Hola Ada,\n\n¿podrías enviarnos un presupuesto para 25 licencias?\n\nGracias,\nCarlos\n",
    "pt": "Olá Ada,\n\npoderia nos enviar um orçamento para 25 licenças?\n\nObrigado,\nJoão\n",
    "nl": "Hoi Ada,\n\nkun je ons een offerte sturen voor 25 licenties?\n\nGroet,\nJan\n",
}
FWD_PREFIX = {"en": "Fwd", "de": "Fwd", "it": "Fwd", "fr": "Fwd", "es": "Fwd", "pt": "Fwd", "nl": "Fwd"}

def html_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

def rfc2047(s):
    if s.isascii():
        return s
    return "=?UTF-8?B?" + base64.b64encode(s.encode()).decode() + "?="

for n, (locale, (sep, from_label, date, subject, note, to_line)) in enumerate(GMAIL.items()):
    name, addr = SENDERS[locale]
    body = BODY[locale]
    cc_line = "Cc: Mary Major <mary.major@customer.example>\n" if locale == "en" else ""
    text = (f"{note}\n\n{sep}\n{from_label}: {name} <{addr}>\nDate: {date}\nSubject: {subject}\n"
            f"To: {to_line}\n{cc_line}\n\n{body}")
    cc_html = ("Cc: Mary Major &lt;<a href=\"mailto:mary.major@customer.example\">mary.major@customer.example</a>&gt;<br>"
               if locale == "en" else "")
    html = (f'<div dir="ltr">{html_escape(note)}<br><br><div class="gmail_quote gmail_quote_container">'
            f'<div dir="ltr" class="gmail_attr">{sep}<br>{html_escape(from_label)}: <strong class="gmail_sendername" dir="auto">'
            f'{html_escape(name)}</strong> <span dir="auto">&lt;<a href="mailto:{addr}">{addr}</a>&gt;</span><br>'
            f'Date: {html_escape(date)}<br>Subject: {html_escape(subject)}<br>To: {html_escape(to_line)}<br>{cc_html}</div><br><br>'
            '<div dir="ltr">' + "<br>".join(html_escape(l) for l in body.split("\n")) + '</div>\n</div></div>\n')
    boundary = f"0000000000004f{n}c2b062b1e4f2a"
    msgid = f"<CAHx8f3kQ{n}mZp7vT1y=Wq2hZ9xB0cVdN4eR_kL5sJ3gU8oA{n}w@mail.gmail.com>"
    orig = f"<CAJ5v1tX{n}qPzK3nM8rT0wY2bE7hF9gD4sL6aC1uV5xQ0oR3i@mail.gmail.com>"
    textpart = (f'Content-Type: text/plain; charset="UTF-8"\nContent-Transfer-Encoding: quoted-printable\n\n{qp(text)}'
                if not text.isascii() else f'Content-Type: text/plain; charset="UTF-8"\n\n{text}')
    msg = f"""{RECEIVED_GOOGLE}MIME-Version: 1.0
References: {orig}
In-Reply-To: {orig}
From: Ada Lovelace <ada@acme.example>
Date: Tue, 7 Jan 2025 09:02:11 +0100
Message-ID: {msgid}
Subject: {rfc2047(f"{FWD_PREFIX[locale]}: {subject}")}
To: acme@bcc.example.net
Content-Type: multipart/alternative; boundary="{boundary}"

--{boundary}
{textpart}
--{boundary}
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp(html)}
--{boundary}--
"""
    write(f"gmail_fwd_{locale}.eml", msg)

# ---------------------------------------------------------------- Outlook desktop forwards
OUTLOOK = {
    # locale: (prefix, separator, labels (from, sent, to, cc, subject), date, subject, from value, lang)
    "en": ("FW", "________________________________", ("From", "Sent", "To", "Cc", "Subject"),
           "Monday, January 6, 2025 10:15 AM", "Pricing question", "John Doe <john.doe@customer.example>", "en-US"),
    "de": ("WG", "", ("Von", "Gesendet", "An", "Cc", "Betreff"),
           "Montag, 6. Januar 2025 10:15", "Preisanfrage für 2025", "Jürgen Weiß <juergen.weiss@globex.example>", "de-DE"),
    "it": ("I", "________________________________", ("Da", "Inviato", "A", "Cc", "Oggetto"),
           "lunedì 6 gennaio 2025 10:15", "Richiesta di preventivo", "Giulia Bianchi <giulia.bianchi@customer.example>", "it-IT"),
    "fr": ("TR", "________________________________", ("De\u00a0", "Envoyé\u00a0", "À\u00a0", "Cc\u00a0", "Objet\u00a0"),
           "lundi 6 janvier 2025 10:15", "Demande de devis", "Élodie Martin <elodie.martin@customer.example>", "fr-FR"),
    "es": ("RV", "", ("De", "Enviado el", "Para", "CC", "Asunto"),
           "lunes, 6 de enero de 2025 10:15", "Solicitud de presupuesto", "Carlos Ruiz", "es-ES"),
    "pt": ("ENC", "________________________________", ("De", "Enviado", "Para", "Cc", "Assunto"),
           "segunda-feira, 6 de janeiro de 2025 10:15", "Pedido de orçamento", "João Silva <joao.silva@customer.example>", "pt-PT"),
    "nl": ("Doorst", "-----Oorspronkelijk bericht-----", ("Van", "Verzonden", "Aan", "CC", "Onderwerp"),
           "maandag 6 januari 2025 10:15", "Offerteaanvraag", "Jan de Vries [mailto:jan.devries@globex.example]", "nl-NL"),
}
for n, (locale, (prefix, sep, labels, date, subject, from_value, lang)) in enumerate(OUTLOOK.items()):
    body = BODY[locale]
    lf, ls, lt, lc, lsub = labels
    to_value = "Ada Lovelace <ada@acme.example>" if locale != "nl" else "Ada Lovelace"
    cc_line = f"{lc}: Mary Major <mary.major@customer.example>\n" if locale in ("en", "de") else ""
    sep_line = f"{sep}\n" if sep else ""
    text = (f"FYI\n\nAda\n\n{sep_line}{lf}: {from_value}\n{ls}: {date}\n"
            f"{lt}: {to_value}\n{cc_line}{lsub}: {subject}\n\n{body}\n")
    html_from = html_escape(from_value)
    cc_html = (f'<br>\n<b>{lc}:</b> Mary Major &lt;mary.major@customer.example&gt;' if locale in ("en", "de") else "")
    html = f"""<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
	{{font-family:"Cambria Math";
	panose-1:2 4 5 3 5 4 6 3 2 4;}}
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{{margin:0cm;
	font-size:11.0pt;
	font-family:"Calibri",sans-serif;}}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]-->
</head>
<body lang="{lang}" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">
<div class="WordSection1">
<p class="MsoNormal">FYI<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">Ada<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">
<p class="MsoNormal"><b>{html_escape(lf)}:</b> {html_from}<br>
<b>{html_escape(ls)}:</b> {html_escape(date)}<br>
<b>{html_escape(lt)}:</b> {html_escape(to_value)}{cc_html}<br>
<b>{html_escape(lsub)}:</b> {html_escape(subject)}<o:p></o:p></p>
</div>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
{"".join(f'<p class="MsoNormal">{html_escape(l)}<o:p></o:p></p>' + chr(10) for l in body.split(chr(10)) if l)}</div>
</body>
</html>
"""
    boundary = f"_000_DB9PR04MB84{n}1E0F4C6B8A2F7D1C9E2B1C0A12DB9PR04MB8421eurp_"
    ident = f"DB9PR04MB84{n}1E0F4C6B8A2F7D1C9E2B1C0A12"
    outer_cc = "Cc: Carlos Ruiz <carlos.ruiz@customer.example>\n" if locale == "es" else ""
    msg = f"""Received: from EUR05-DB8-obe.outbound.protection.outlook.com (mail-db8eur05on2071.outbound.protection.outlook.com [40.107.20.71])
	by mx.bcc.example.net (Postfix) with ESMTPS id 4YSm5Q3kC9z1XM2
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 08:02:13 +0000 (UTC)
ARC-Seal: i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.com; cv=none;
 b=kq1zV0u3Sg5nVx2bWmE8yQdPq0V9n4hXb2mFzJ7cK1aR6tL3oY8wN5uS0eI9gD2fH4jB
ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com;
 s=arcselector10001; h=From:Date:Subject:Message-ID:Content-Type:MIME-Version;
 bh=3kRz0aQ1XwG9nB5mC7vL2pT8sE4yU6iO0hJ1dF3gK5c=;
 b=Zp8nX1yV3wQ5tR7uS9oP2mL4kJ6hG8fD0cB2aZ4xV6nM8qW0eR2tY4uI6oP8aS0dF2gH
From: Ada Lovelace <ada@acme.example>
To: "acme@bcc.example.net" <acme@bcc.example.net>
{outer_cc}Subject: {rfc2047(f"{prefix}: {subject}")}
Thread-Topic: {rfc2047(subject)}
Thread-Index: AQHbYFx0k2Yt1pT9n0Ojf0Jx3m2HvQ==
Date: Tue, 7 Jan 2025 08:02:11 +0000
Message-ID: <{ident}@DB9PR04MB8421.eurprd04.prod.outlook.com>
Accept-Language: {lang}
Content-Language: {lang}
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: multipart/alternative;
	boundary="{boundary}"
MIME-Version: 1.0

--{boundary}
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(text.replace(chr(10), chr(13) + chr(10)).encode())}
--{boundary}
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(html.encode())}
--{boundary}--
"""
    write(f"outlook_fwd_{locale}.eml", msg)

# ---------------------------------------------------------------- Outlook on the web, HTML only
owa_html = """<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">
<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style>
</head>
<body dir="ltr">
<div class="elementToProof" style="font-family: Aptos, Aptos_EmbeddedFont, Aptos_MSFontService, Calibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">
Bitte im CRM ablegen, danke!</div>
<div id="appendonsend"></div>
<hr style="display:inline-block;width:98%" tabindex="-1">
<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>From:</b> J\u00fcrgen Wei\u00df &lt;juergen.weiss@globex.example&gt;<br>
<b>Sent:</b> Monday, January 6, 2025 4:45 PM<br>
<b>To:</b> Ada Lovelace &lt;ada@acme.example&gt;<br>
<b>Cc:</b> Petra Klein &lt;petra.klein@globex.example&gt;; Ada Lovelace &lt;ada@acme.example&gt;<br>
<b>Subject:</b> Angebot Q1 &#8211; R\u00fcckfragen</font>
<div>&nbsp;</div>
</div>
<div class="elementToProof">Hallo Frau Lovelace,<br>
<br>
zu Ihrem Angebot h\u00e4tten wir noch zwei R\u00fcckfragen.<br>
<br>
Gr\u00fc\u00dfe<br>
J\u00fcrgen Wei\u00df</div>
</body>
</html>
"""
write("outlook_web_html_fwd.eml", f"""Received: from DU2PR04MB8982.eurprd04.prod.outlook.com (2603:10a6:10:2e3::9)
	by mx.bcc.example.net (Postfix) with ESMTPS id 4YSn1C0bVbz1XN7
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 10:30:02 +0000 (UTC)
From: Ada Lovelace <ada@acme.example>
To: "acme@bcc.example.net" <acme@bcc.example.net>
Subject: =?iso-8859-1?Q?WG:_Angebot_Q1_=96_R=FCckfragen?=
Thread-Topic: =?iso-8859-1?Q?Angebot_Q1_=96_R=FCckfragen?=
Thread-Index: AQHbYGQ0p1X3l8o1E0mYJ0b2Z7f5rw==
Date: Tue, 7 Jan 2025 10:30:00 +0000
Message-ID: <DU2PR04MB89829C1C9E0F2A3B4C5D6E7F8A9B0C1D2E3F@DU2PR04MB8982.eurprd04.prod.outlook.com>
Accept-Language: de-DE, en-US
Content-Language: de-DE
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
msip_labels:
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

{qp(owa_html, "cp1252")}""")

# ---------------------------------------------------------------- Apple Mail forwards
APPLE = {
    "en": ("Begin forwarded message:", ("From", "Subject", "Date", "To"),
           "January 6, 2025 at 10:15:00\u202fAM GMT+1", "Pricing question"),
    "de": ("Anfang der weitergeleiteten Nachricht:", ("Von", "Betreff", "Datum", "An"),
           "6. Januar 2025 um 10:15:00 MEZ", "Preisanfrage für 2025"),
    "it": ("Inizio messaggio inoltrato:", ("Da", "Oggetto", "Data", "A"),
           "6 gennaio 2025 10:15:00 CET", "Richiesta di preventivo"),
    "fr": ("Début du message réexpédié :", ("De", "Objet", "Date", "À"),
           "6 janvier 2025 à 10:15:00 UTC+1", "Demande de devis"),
}
for n, (locale, (sep, (lf, ls, ld, lt), date, subject)) in enumerate(APPLE.items()):
    name, addr = SENDERS[locale]
    body = BODY[locale]
    quoted = "\n".join(("> " + l) if l else ">" for l in
                       [sep, "", f"{lf}: {name} <{addr}>", f"{ls}: {subject}", f"{ld}: {date}",
                        f"{lt}: Ada Lovelace <ada@acme.example>", ""] + body.rstrip("\n").split("\n"))
    text = f"FYI\n\n{quoted}\n\n"
    html = (f'<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
            f'<body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; line-break: after-white-space;">FYI<br id="lineBreakAtBeginningOfMessage"><div><br><blockquote type="cite">'
            f'<div>{html_escape(sep)}</div><br class="Apple-interchange-newline">'
            f'<div style="margin-top: 0px; margin-right: 0px; margin-bottom: 0px; margin-left: 0px;"><span style="font-family: -webkit-system-font, Helvetica Neue, Helvetica, sans-serif; color:rgba(0, 0, 0, 1.0);"><b>{html_escape(lf)}: </b></span><span style="font-family: -webkit-system-font, Helvetica Neue, Helvetica, sans-serif;">{html_escape(name)} &lt;<a href="mailto:{addr}">{addr}</a>&gt;<br></span></div>'
            f'<div style="margin-top: 0px; margin-right: 0px; margin-bottom: 0px; margin-left: 0px;"><span style="font-family: -webkit-system-font, Helvetica Neue, Helvetica, sans-serif; color:rgba(0, 0, 0, 1.0);"><b>{html_escape(ls)}: </b></span><span style="font-family: -webkit-system-font, Helvetica Neue, Helvetica, sans-serif;"><b>{html_escape(subject)}</b><br></span></div>'
            f'<div style="margin-top: 0px; margin-right: 0px; margin-bottom: 0px; margin-left: 0px;"><span style="font-family: -webkit-system-font, Helvetica Neue, Helvetica, sans-serif; color:rgba(0, 0, 0, 1.0);"><b>{html_escape(ld)}: </b></span><span style="font-family: -webkit-system-font, Helvetica Neue, Helvetica, sans-serif;">{html_escape(date)}<br></span></div>'
            f'<div style="margin-top: 0px; margin-right: 0px; margin-bottom: 0px; margin-left: 0px;"><span style="font-family: -webkit-system-font, Helvetica Neue, Helvetica, sans-serif; color:rgba(0, 0, 0, 1.0);"><b>{html_escape(lt)}: </b></span><span style="font-family: -webkit-system-font, Helvetica Neue, Helvetica, sans-serif;">Ada Lovelace &lt;<a href="mailto:ada@acme.example">ada@acme.example</a>&gt;<br></span></div><br>'
            f'<div><div>{"<br>".join(html_escape(l) for l in body.split(chr(10)))}</div></div></blockquote></div><br></body></html>')
    boundary = f"Apple-Mail=_6B2B3C1E-2F4A-4D7E-9C1B-0A5E3F2D8C7{n}"
    msg = f"""Received: from smtpclient.apple (p5b0c7d2e.dip0.t-ipconnect.de [91.12.125.46])
	by mx.bcc.example.net (Postfix) with ESMTPSA id 4YSm9T2qXgz1XLq
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 08:02:13 +0000 (UTC)
From: Ada Lovelace <ada@acme.example>
Content-Type: multipart/alternative;
	boundary="{boundary}"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.300.87.4.3\\))
Subject: {rfc2047(f"Fwd: {subject}")}
Date: Tue, 7 Jan 2025 09:02:11 +0100
References: <4C2D8E1F-7A3B-4E6C-9D0F-{n}B1A2C3D4E5F6@customer.example>
To: acme@bcc.example.net
Message-Id: <8F3E1D2C-5B4A-4C3D-8E2F-{n}A9B8C7D6E5F4@acme.example>
X-Mailer: Apple Mail (2.3826.300.87.4.3)


--{boundary}
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
	charset=utf-8

{qp(text)}
--{boundary}
Content-Transfer-Encoding: quoted-printable
Content-Type: text/html;
	charset=utf-8

{qp(html)}
--{boundary}--
"""
    write(f"apple_fwd_{locale}.eml", msg)

# ---------------------------------------------------------------- Thunderbird forwards
TB = {
    "en": ("-------- Forwarded Message --------", ("Subject", "Date", "From", "To", "CC")),
    "de": ("-------- Weitergeleitete Nachricht --------", ("Betreff", "Datum", "Von", "An", "Kopie (CC)")),
    "it": ("-------- Messaggio Inoltrato --------", ("Oggetto", "Data", "Mittente", "A", "CC")),
}
TB_SUBJECT = {"en": "Pricing question", "de": "Preisanfrage für 2025", "it": "Richiesta di preventivo"}
for n, (locale, (sep, (ls, ld, lf, lt, lc))) in enumerate(TB.items()):
    name, addr = SENDERS[locale]
    subject = TB_SUBJECT[locale]
    body = BODY[locale]
    header_lines = [f"{ls}: \t{subject}", f"{ld}: \tMon, 6 Jan 2025 10:15:00 +0100",
                    f"{lf}: \t{name} <{addr}>", f"{lt}: \tAda Lovelace <ada@acme.example>",
                    f"{lc}: \tMary Major <mary.major@customer.example>"]
    text = "FYI\n\n\n" + sep + "\n" + "\n".join(header_lines) + "\n\n\n\n" + body
    orig = f"<b7e0c1d2-3f4a-4b5c-8d6e-{n}f7a8b9c0d1e2@customer.example>"
    common = f"""Received: from [192.168.178.23] (p5b0c7d2e.dip0.t-ipconnect.de [91.12.125.46])
	by mx.bcc.example.net (Postfix) with ESMTPSA id 4YSmBv4D1Vz1XLr
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 08:02:13 +0000 (UTC)
Message-ID: <5f1c2d3e-8a9b-4c7d-9e0f-{n}a2b3c4d5e6f@acme.example>
Date: Tue, 7 Jan 2025 09:02:11 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: {rfc2047("Fwd: " + subject)}
Content-Language: {locale}
References: {orig}
To: acme@bcc.example.net
From: Ada Lovelace <ada@acme.example>
X-Forwarded-Message-Id: {orig}
In-Reply-To: {orig}
"""
    if locale == "de":
        rows = "".join(
            f'<tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">{html_escape(l.split(": ")[0])}: </th>'
            f'<td>{html_escape(l.split(chr(9), 1)[1])}</td></tr>\n' for l in header_lines)
        html = f"""<!DOCTYPE html>
<html>
  <head>

    <meta http-equiv="content-type" content="text/html; charset=UTF-8">
  </head>
  <body>
    <p>FYI<br>
    </p>
    <div class="moz-forward-container"><br>
      <br>
      -------- Weitergeleitete Nachricht --------
      <table class="moz-email-headers-table" cellspacing="0"
        cellpadding="0" border="0">
        <tbody>
{rows}        </tbody>
      </table>
      <br>
      <br>
      {"<br>".join(html_escape(l) for l in body.split(chr(10)))}
    </div>
  </body>
</html>
"""
        boundary = "------------0H1nY5kQ7bX2cV9mZ3pL8wRt"
        msg = common + f"""Content-Type: multipart/alternative;
 boundary="{boundary}"

This is a multi-part message in MIME format.
--{boundary}
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{text}
--{boundary}
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: 8bit

{html}
--{boundary}--
"""
    else:
        cte = "7bit" if text.isascii() else "8bit"
        msg = common + f"""Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: {cte}

{text}"""
    write(f"thunderbird_fwd_{locale}.eml", msg, crlf=(locale != "it"))

# ---------------------------------------------------------------- plain Bcc from Thunderbird
write("thunderbird_plain_bcc.eml", """Return-Path: <ada@acme.example>
Delivered-To: acme@bcc.example.net
Received: from [192.168.178.23] (p5b0c7d2e.dip0.t-ipconnect.de [91.12.125.46])
	by mx.bcc.example.net (Postfix) with ESMTPSA id 4YSmCc1nM5z1XLs;
	Tue,  7 Jan 2025 08:12:40 +0000 (UTC)
Message-ID: <0a4b7c2e-1d3f-4e5a-9b6c-7d8e9f0a1b2c@acme.example>
Date: Tue, 7 Jan 2025 09:12:38 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: en-GB
To: John Doe <john.doe@customer.example>
Cc: Mary Major <mary.major@customer.example>
From: Ada Lovelace <ada@acme.example>
Subject: Your quote for 25 seats
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Hi John,

please find the numbers below: 25 seats at 19 € per seat and month,
billed yearly.

From: our finance team, the invoice will follow separately.

Best regards,
Ada

-- 
Ada Lovelace · Acme Sales
""")

# ---------------------------------------------------------------- forwarded as attachment (Thunderbird)
inner = """Return-Path: <giulia.bianchi@customer.example>
Received: from mail.customer.example (mail.customer.example [198.51.100.25])
	by mx.acme.example (Postfix) with ESMTPS id 4YRz7K2pW1z9sLm
	for <ada@acme.example>; Mon,  6 Jan 2025 09:15:02 +0000 (UTC)
Message-ID: <e2f1a0b9-c8d7-4e6f-a5b4-c3d2e1f0a9b8@customer.example>
Date: Mon, 6 Jan 2025 10:15:00 +0100
MIME-Version: 1.0
From: Giulia Bianchi <giulia.bianchi@customer.example>
To: Ada Lovelace <ada@acme.example>
Cc: Marco Rossi <marco.rossi@customer.example>
Subject: =?UTF-8?Q?Richiesta_di_preventivo_=E2=80=93_25_licenze?=
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

Ciao Ada,

potresti inviarci un preventivo per 25 licenze?

Grazie,
Giulia
"""
inner_bytes = inner.replace("\n", "\r\n").encode()
SIZES["thunderbird_fwd_attached.eml"] = [len(inner_bytes), hashlib.sha256(inner_bytes).hexdigest()]
boundary = "------------mR5bX0kP7qZ2wT9vN4cL1sY8"
write("thunderbird_fwd_attached.eml", f"""Received: from [192.168.178.23] (p5b0c7d2e.dip0.t-ipconnect.de [91.12.125.46])
	by mx.bcc.example.net (Postfix) with ESMTPSA id 4YSmDf5XhWz1XLt
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 08:20:13 +0000 (UTC)
Content-Type: multipart/mixed; boundary="{boundary}"
Message-ID: <7c6d5e4f-3a2b-4c1d-8e9f-0a1b2c3d4e5f@acme.example>
Date: Tue, 7 Jan 2025 09:20:11 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: it
To: acme@bcc.example.net
From: Ada Lovelace <ada@acme.example>
Subject: =?UTF-8?Q?Fwd=3A_Richiesta_di_preventivo_=E2=80=93_25_licenze?=

This is a multi-part message in MIME format.
--{boundary}
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

Da archiviare, grazie.

--{boundary}
Content-Type: message/rfc822; charset=UTF-8;
 name="Richiesta di preventivo - 25 licenze.eml"
Content-Disposition: attachment;
 filename="Richiesta di preventivo - 25 licenze.eml"

{inner}
--{boundary}--
""")

# ---------------------------------------------------------------- forwarded as attachment (Outlook, unnamed item)
inner2 = """Received: from mail.globex.example (198.51.100.80) by AM9PR04MB8321.eurprd04.prod.outlook.com
 with Microsoft SMTP Server; Mon, 6 Jan 2025 15:45:03 +0000
From: =?iso-8859-1?Q?J=FCrgen_Wei=DF?= <juergen.weiss@globex.example>
To: Ada Lovelace <ada@acme.example>
Subject: Rahmenvertrag 2025
Date: Mon, 6 Jan 2025 15:45:00 +0000
Message-ID: <GV1PR04MB9183A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6@GV1PR04MB9183.eurprd04.prod.outlook.com>
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

Hallo Frau Lovelace,

anbei unsere Anmerkungen zum Rahmenvertrag.

Gr=FC=DFe
J=FCrgen Wei=DF
"""
inner2_bytes = inner2.replace("\n", "\r\n").encode()
SIZES["outlook_fwd_attached.eml"] = [len(inner2_bytes), hashlib.sha256(inner2_bytes).hexdigest()]
boundary = "_002_AM9PR04MB8321F1E2D3C4B5A697887766554433AM9PR04MB8321eurp_"
write("outlook_fwd_attached.eml", f"""From: Ada Lovelace <ada@acme.example>
To: "acme@bcc.example.net" <acme@bcc.example.net>
Subject: FW: Rahmenvertrag 2025
Thread-Topic: Rahmenvertrag 2025
Thread-Index: AQHbYJ3kq0b8d2x9EUmY1n4m7c2qZw==
Date: Tue, 7 Jan 2025 08:30:00 +0000
Message-ID: <AM9PR04MB8321F1E2D3C4B5A697887766554433@AM9PR04MB8321.eurprd04.prod.outlook.com>
Accept-Language: de-DE, en-US
Content-Language: de-DE
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator:
Content-Type: multipart/mixed;
	boundary="{boundary}"
MIME-Version: 1.0

--{boundary}
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Zur Ablage.


--{boundary}
Content-Type: message/rfc822
Content-Disposition: attachment;
	creation-date="Tue, 07 Jan 2025 08:29:58 GMT";
	modification-date="Tue, 07 Jan 2025 08:29:58 GMT"

{inner2}
--{boundary}--
""")

# ---------------------------------------------------------------- a reply (Gmail), Bcc'd
write("gmail_reply.eml", """Received: from mail-ej1-f45.google.com (mail-ej1-f45.google.com [209.85.218.45])
	by mx.bcc.example.net (Postfix) with ESMTPS id 4YSmFh6YkZz1XLv
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 09:40:01 +0000 (UTC)
MIME-Version: 1.0
References: <CAJ5v1tX0qPzK3nM8rT0wY2bE7hF9gD4sL6aC1uV5xQ0oR3i@mail.gmail.com>
 <CAHx8f3kQ9zZp7vT1y=Wq2hZ9xB0cVdN4eR_kL5sJ3gU8oA0w@mail.gmail.com>
 <CAJ5v1tX0qPzK3nM8rT0wY2bE7hF9gD4sL6aC1uV5xQ0oR3i@mail.gmail.com>
In-Reply-To: <CAHx8f3kQ9zZp7vT1y=Wq2hZ9xB0cVdN4eR_kL5sJ3gU8oA0w@mail.gmail.com>
From: Ada Lovelace <ada@acme.example>
Date: Tue, 7 Jan 2025 10:39:58 +0100
Message-ID: <CAHx8f3kR1aBc2dE3fG4hI5jK6lM7nO8pQ9rS0tU1vW2xY3z@mail.gmail.com>
Subject: Re: Pricing question
To: John Doe <john.doe@customer.example>
Cc: Mary Major <mary.major@customer.example>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3062b1f0d9e"

--000000000000a1b2c3062b1f0d9e
Content-Type: text/plain; charset="UTF-8"

Hi John,

sure, quote attached later today. Note that prices quoted
From: our list are valid until March.

Ada

On Mon, Jan 6, 2025 at 10:15 AM John Doe <john.doe@customer.example> wrote:

> Hi Ada,
>
> could you send us a quote for 25 seats, billed yearly?
>
> Thanks,
> John
>

--000000000000a1b2c3062b1f0d9e
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">Hi John,<div><br></div><div>sure, quote attached later today. Note that prices quoted From: our list are valid until March.</div><div><br></div><div>Ada</div></div><br><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, Jan 6, 2025 at 10:15 AM John Doe &lt;<a href="mailto:john.doe@customer.example">john.doe@customer.example</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex"><div dir="ltr">Hi Ada,<div><br></div><div>could you send us a quote for 25 seats, billed yearly?</div><div><br></div><div>Thanks,</div><div>John</div></div>
</blockquote></div>

--000000000000a1b2c3062b1f0d9e--
""")

# ---------------------------------------------------------------- an Outlook reply: same header block, not a forward
write("outlook_reply.eml", f"""From: Ada Lovelace <ada@acme.example>
To: John Doe <john.doe@customer.example>
CC: "acme@bcc.example.net" <acme@bcc.example.net>
Subject: RE: Pricing question
Thread-Topic: Pricing question
Thread-Index: AQHbYFx0k2Yt1pT9n0Ojf0Jx3m2HvbIAAB4Q
Date: Tue, 7 Jan 2025 09:45:00 +0000
Message-ID: <DB9PR04MB8421AA0F4C6B8A2F7D1C9E2B1C0A99@DB9PR04MB8421.eurprd04.prod.outlook.com>
References: <CAJ5v1tX0qPzK3nM8rT0wY2bE7hF9gD4sL6aC1uV5xQ0oR3i@mail.gmail.com>
In-Reply-To: <CAJ5v1tX0qPzK3nM8rT0wY2bE7hF9gD4sL6aC1uV5xQ0oR3i@mail.gmail.com>
Accept-Language: en-US
Content-Language: en-US
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

Hi John,

the quote follows today.

Ada

________________________________
From: John Doe <john.doe@customer.example>
Sent: Monday, January 6, 2025 10:15 AM
To: Ada Lovelace <ada@acme.example>
Subject: Pricing question

Hi Ada,

could you send us a quote for 25 seats, billed yearly?

Thanks,
John
""")

# ---------------------------------------------------------------- Outlook with raw 8-bit ISO-8859-1 headers
write("outlook_latin1_8bit.eml", """Received: from EXCH01.acme.example (10.0.0.12) by mx.bcc.example.net
 (Postfix) with ESMTP id 4YSmHk7ZmRz1XLw; Tue,  7 Jan 2025 10:02:13 +0000 (UTC)
From: "Ada Lovelace" <ada@acme.example>
To: "J\xfcrgen Wei\xdf" <juergen.weiss@globex.example>
Cc: "M\xfcller, Hans" <hans.mueller@globex.example>
Bcc: <acme@bcc.example.net>
Subject: AW: Angebot f\xfcr M\xfcller \x96 Q1
Date: Tue, 7 Jan 2025 11:02:11 +0100
Message-ID: <000001db60e1$2a3b4c50$7eb1e4f0$@acme.example>
MIME-Version: 1.0
Content-Type: text/plain;
	charset="iso-8859-1"
Content-Transfer-Encoding: 8bit
X-Mailer: Microsoft Outlook 14.0
Thread-Index: AdtgNq7xXy8m5T3rQZOkY0oJkVxP0A==
Content-Language: de

Sehr geehrter Herr Wei\xdf,

anbei die \xfcberarbeiteten Preise f\xfcr Q1 \x96 g\xfcltig bis 31.03.

Mit freundlichen Gr\xfc\xdfen
Ada Lovelace
""", charset="latin-1")

# ---------------------------------------------------------------- RFC 2231 / RFC 2047 attachment names
pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(200))
notes = "Call John on Thursday.\r\n".encode()
png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
gruesse = "Grüße aus Köln\r\n".encode("latin-1")
SIZES["rfc2231_attachments.eml"] = [(len(x), hashlib.sha256(x).hexdigest()) for x in (pdf, xlsx, notes, png, gruesse)]
boundary = "------------kT3vW8xZ1bN6mQ0cR5pL2sY7"
write("rfc2231_attachments.eml", f"""Received: from [192.168.178.23] (p5b0c7d2e.dip0.t-ipconnect.de [91.12.125.46])
	by mx.bcc.example.net (Postfix) with ESMTPSA id 4YSmJm0bQnz1XLx
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 11:20:13 +0000 (UTC)
Content-Type: multipart/mixed; boundary="{boundary}"
Message-ID: <9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a@acme.example>
Date: Tue, 7 Jan 2025 12:20:11 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: de-DE
To: =?UTF-8?Q?J=C3=BCrgen_Wei=C3=9F?= <juergen.weiss@globex.example>
From: Ada Lovelace <ada@acme.example>
Subject: =?UTF-8?Q?Unterlagen_f=C3=BCr_M=C3=BCller_GmbH?=

This is a multi-part message in MIME format.
--{boundary}
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Anbei die Unterlagen für die Müller GmbH.

--{boundary}
Content-Type: application/pdf;
 name*0*=UTF-8''Angebot%20f%C3%BCr%20;
 name*1*=M%C3%BCller%20GmbH.pdf
Content-Disposition: attachment;
 filename*0*=UTF-8''Angebot%20f%C3%BCr%20;
 filename*1*=M%C3%BCller%20GmbH.pdf
Content-Transfer-Encoding: base64

{b64(pdf)}
--{boundary}
Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;
	name="=?utf-8?B?UHJlaXNsaXN0ZSDDnGJlcnNp?= =?utf-8?B?Y2h0Lnhsc3g=?="
Content-Description: =?utf-8?B?UHJlaXNsaXN0ZSDDnGJlcnNpY2h0Lnhsc3g=?=
Content-Disposition: attachment;
	filename="=?utf-8?B?UHJlaXNsaXN0ZSDDnGJlcnNp?= =?utf-8?B?Y2h0Lnhsc3g=?="; size={len(xlsx)};
	creation-date="Tue, 07 Jan 2025 11:18:20 GMT";
	modification-date="Tue, 07 Jan 2025 11:18:20 GMT"
Content-Transfer-Encoding: base64

{b64(xlsx)}
--{boundary}
Content-Type: text/plain; charset=UTF-8; name="C:\\Users\\ada\\Desktop\\notes.txt"
Content-Disposition: attachment; filename="C:\\Users\\ada\\Desktop\\notes.txt"
Content-Transfer-Encoding: base64

{b64(notes)}
--{boundary}
Content-Type: image/png
Content-Disposition: inline
Content-ID: <part1.Xk3bQ9mZ.Tn7vW2cR@acme.example>
Content-Transfer-Encoding: base64

{b64(png)}
--{boundary}
Content-Type: text/plain; charset=iso-8859-1
Content-Disposition: attachment; filename*=iso-8859-1'de'Gr%FC%DFe.txt
Content-Transfer-Encoding: base64

{b64(gruesse)}
--{boundary}--
""")

# ---------------------------------------------------------------- SMTPUTF8 with IDN domains
write("smtputf8_idn.eml", """Received: from mail.acme.example (mail.acme.example [203.0.113.10])
	by mx.bcc.example.net (Postfix) with UTF8SMTPS id 4YSmKn1cRpz1XLy
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 12:00:02 +0000 (UTC)
From: Ada Lovelace <ada@acme.example>
To: Jörg Bäcker <jörg@bäckerei-müller.example>
Cc: =?UTF-8?Q?B=C3=BCcherei?= <INFO@xn--bcher-kva.example>, 用户 <用户@例子.example>
Subject: Bestellung für Jörg – Lieferung KW 3
Date: Tue, 7 Jan 2025 13:00:00 +0100
Message-ID: <20250107120000.4f3a2b1c@mail.acme.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hallo Jörg,

die Lieferung kommt in KW 3.

Ada
""")

# ---------------------------------------------------------------- an out-of-office reply (Exchange)
write("auto_reply.eml", """Received: from mail.customer.example (mail.customer.example [198.51.100.25])
	by mx.bcc.example.net (Postfix) with ESMTPS id 4YSmLp2dSqz1XLz
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 08:02:20 +0000 (UTC)
From: John Doe <john.doe@customer.example>
To: Ada Lovelace <ada@acme.example>
Subject: Automatic reply: Your quote for 25 seats
Thread-Topic: Your quote for 25 seats
Thread-Index: AQHbYFx0k2Yt1pT9n0Ojf0Jx3m2HvbIAAAAB
Date: Tue, 7 Jan 2025 08:02:18 +0000
Message-ID: <8c1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f@customer.example>
In-Reply-To: <0a4b7c2e-1d3f-4e5a-9b6c-7d8e9f0a1b2c@acme.example>
Auto-Submitted: auto-replied
X-MS-Exchange-Inbox-Rules-Loop: john.doe@customer.example
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I am out of the office until January 13 with limited access to email.
""")

# ---------------------------------------------------------------- a mailing-list message (Mailman 3)
write("mailing_list.eml", """Received: from lists.globex.example (lists.globex.example [198.51.100.90])
	by mx.bcc.example.net (Postfix) with ESMTPS id 4YSmMq3fTrz1XM0
	for <acme@bcc.example.net>; Tue,  7 Jan 2025 08:30:00 +0000 (UTC)
From: Globex Partner News <news@globex.example>
To: partners@lists.globex.example
Subject: [Partners] January price list
Date: Tue, 07 Jan 2025 08:29:55 -0000
Message-ID: <173623859501.12345.987654321@lists.globex.example>
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit
Precedence: list
List-Id: Globex partners <partners.lists.globex.example>
List-Unsubscribe: <mailto:partners-leave@lists.globex.example>
List-Post: <mailto:partners@lists.globex.example>
Sender: partners-bounces@lists.globex.example
Errors-To: partners-bounces@lists.globex.example

The January price list is online.
""")

# ---------------------------------------------------------------- a bounce (Postfix DSN)
bounced = """Received: by mx.acme.example (Postfix, from userid 1000)
	id 4A1B2C3D4E; Tue,  7 Jan 2025 09:02:11 +0100 (CET)
From: Ada Lovelace <ada@acme.example>
To: nobody@customer.example
Subject: Your quote
Message-Id: <20250107080211.4A1B2C3D4E@mx.acme.example>
Date: Tue,  7 Jan 2025 09:02:11 +0100 (CET)

Hi, here is the quote.
"""
status = """Reporting-MTA: dns; mx.acme.example
X-Postfix-Queue-ID: 4A1B2C3D4E
X-Postfix-Sender: rfc822; ada@acme.example
Arrival-Date: Tue,  7 Jan 2025 09:02:11 +0100 (CET)

Final-Recipient: rfc822; nobody@customer.example
Original-Recipient: rfc822;nobody@customer.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.customer.example
Diagnostic-Code: smtp; 550 5.1.1 <nobody@customer.example>: Recipient address
    rejected: User unknown in virtual mailbox table
"""
boundary = "4A1B2C3D4E.1736237000/mx.acme.example"
write("dsn_bounce.eml", f"""Return-Path: <>
Received: by mx.acme.example (Postfix)
	id 5B2C3D4E5F; Tue,  7 Jan 2025 09:03:20 +0100 (CET)
Date: Tue,  7 Jan 2025 09:03:20 +0100 (CET)
From: MAILER-DAEMON@mx.acme.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: acme@bcc.example.net
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{boundary}"
Content-Transfer-Encoding: 8bit
Message-Id: <20250107080320.5B2C3D4E5F@mx.acme.example>

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.acme.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<nobody@customer.example>: host mail.customer.example[198.51.100.25] said: 550
    5.1.1 <nobody@customer.example>: Recipient address rejected: User unknown
    in virtual mailbox table (in reply to RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

{status}
--{boundary}
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

{bounced}
--{boundary}--
""")

import json
print(json.dumps(SIZES, indent=1))
