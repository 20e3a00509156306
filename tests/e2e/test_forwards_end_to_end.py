"""Forwards from many clients and languages through the real server: the original's sender is stored
(messages.forwarded) and becomes a contact; replies stay replies; a reply to a forwarded original joins
the thread of the record its forward was filed on."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from sqlalchemy import select

from gateway.store.models import Link, Message, Person
from tests.support.gwtest import sqlite_only, with_db
from tests.support.forwards import FIXTURE_CASES, FIXTURES, SUBJECT, THUNDERBIRD_HTML, thunderbird_body

# one case per client, in as many languages as that leaves room for
SENT = ["gmail_ru", "gmail_et", "gmail_tr", "apple_mail_sv", "apple_mail_uk", "thunderbird_pl", "thunderbird_fi",
        "thunderbird_hr", "yahoo_en", "yahoo_ru", "yahoo_cs", "outlook_live_pl", "new_outlook_2019_ru",
        "new_outlook_2019_tr", "outlook_2019_de", "outlook_2019_en", "outlook_2019_sk", "hubspot_ja", "mailmate_en",
        "ionos_one_and_one_en"]
SENT_THUNDERBIRD = ["ko", "zh-CN", "el", "ar"]


def _mail(number: int, subject: str, text: str = "", html: str = "", *, sender: str = "Ada Lovelace <ada@acme.example>",
          to: str = "acme@bcc.example.net", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Tue, 07 Jan 2025 09:00:00 +0100"
    message["Message-ID"] = f"<fwd{number}@acme.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if text:
        message.set_content(text)
    if html:
        (message.add_alternative if text else message.set_content)(html, subtype="html")
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _send(gateway, mails: list[bytes], rcpt: str = "acme@bcc.example.net") -> list[int]:
    """Each mail in its own transaction, all in one SMTP session; the stored message ids."""
    stored = []
    with smtplib.SMTP(gateway.host, gateway.port, timeout=30) as smtp:
        smtp.ehlo("client.example")
        for raw in mails:
            smtp.mail("ada@acme.example")
            assert smtp.rcpt(rcpt)[0] == 250
            code, reply = smtp.data(raw)
            assert code == 250, reply
            stored.append(int(reply.rsplit(b" ", 1)[1]))
    return stored


def _fetch(settings, query):
    async def work(db):
        async with db.sessions() as session:
            return (await session.execute(query)).all()
    return with_db(settings, work)


def _forward_cases() -> dict[str, bytes]:
    """Case -> the mail Ada sends, its original from sender<n>@client<n>.example (a new customer each)."""
    mails: dict[str, bytes] = {}
    for number, case in enumerate(SENT):
        body_file, subject_file = FIXTURE_CASES[case]
        body = (FIXTURES / body_file).read_text(encoding="utf-8")
        subject = (FIXTURES / subject_file).read_text(encoding="utf-8").strip() if subject_file else f"Fwd: {SUBJECT}"
        mails[case] = _mail(number, subject, body.replace("john.doe@acme.com", f"sender{number}@client{number}.example"))
    for number, locale in enumerate(SENT_THUNDERBIRD, len(mails)):
        body = thunderbird_body(locale, f"sender{number}@client{number}.example")
        mails[f"thunderbird_{locale}"] = _mail(number, f"Fwd: {SUBJECT}", body)
    number = len(mails)
    mails["thunderbird html only"] = _mail(
        number, f"Fwd: {SUBJECT}", html=THUNDERBIRD_HTML.replace("john.doe@acme.com", f"sender{number}@client{number}.example"))
    return mails


REPLIES = {
    "Outlook 2019's reply line under RE:": ("RE: Integer consequat non purus",
                                            'On 28/10/2021 12:46, "Quoted One" <quoted1@quoted.example> wrote:\n\n    Hi\n'),
    "a German Outlook reply under AW:": ("AW: Angebot", "Danke\n\nVon: Quoted Two <quoted2@quoted.example>\n"
                                         "Gesendet: Montag, 6. Januar 2025 10:15\nAn: ada@acme.example\nBetreff: Angebot\n"),
    "a Gmail quote": ("Re: Offer", "Sure.\n\nOn Mon, Jan 6, 2025 at 10:15 AM Quoted Three <quoted3@quoted.example> wrote:\n"
                      "> Hello\n"),
    "a pasted header inside a reply": ("Re: Offer", "He wrote:\n\nFrom: Quoted Four <quoted4@quoted.example>\n"
                                       "Date: Mon, Jan 6, 2025 at 10:15 AM\nSubject: Offer\n"),
}


@sqlite_only
def test_forwards_from_every_client_yield_the_original_sender(gateway, settings):
    forwards = _forward_cases()
    replies = [_mail(100 + number, subject, body) for number, (subject, body) in enumerate(REPLIES.values())]
    stored = _send(gateway, [*forwards.values(), *replies])
    senders = dict(_fetch(settings, select(Message.id, Message.forwarded)))
    persons = {email for (email,) in _fetch(settings, select(Person.email))}
    for number, (case, pk) in enumerate(zip(forwards, stored)):
        address = f"sender{number}@client{number}.example"
        assert (senders[pk] or {}).get("sender", {}).get("email") == address, case
        assert address in persons, case
    for case, pk in zip(REPLIES, stored[len(forwards):]):
        assert senders[pk] is None, case
    assert not {email for email in persons if email.endswith("@quoted.example")}


ORIGINAL_ID = "<original-1@newco.example>"
INLINE_ID = "<original-2@newco.example>"


def _attached_forward() -> bytes:
    original = EmailMessage()
    original["From"] = "Carol Client <carol@newco.example>"
    original["To"] = "Ada Lovelace <ada@acme.example>"
    original["Subject"] = "Order for 40 seats"
    original["Date"] = "Mon, 06 Jan 2025 10:15:00 +0100"
    original["Message-ID"] = ORIGINAL_ID
    original.set_content("Hello Ada, we would like to order.\n")
    forward = EmailMessage()
    forward["From"] = "Ada Lovelace <ada@acme.example>"
    forward["To"] = "deal address"
    forward["Subject"] = "Fwd: Order for 40 seats"
    forward["Date"] = "Tue, 07 Jan 2025 09:00:00 +0100"
    forward["Message-ID"] = "<forward-1@acme.example>"
    forward.set_content("For the deal.\n")
    forward.add_attachment(original)
    return forward.as_bytes(policy=forward.policy.clone(linesep="\r\n"))


def _reply(number: int, to_id: str) -> bytes:
    return _mail(200 + number, "Re: Order for 40 seats", "Any news?\n", sender="Carol Client <carol@newco.example>",
                 to="Ada Lovelace <ada@acme.example>", In_Reply_To=to_id, References=to_id)


def test_a_reply_to_a_forwarded_original_joins_the_forwards_record(gateway, settings):
    deal = gateway.seed.deal_id
    inline = _mail(300, "Fwd: Order for 40 seats", f"""-------- Forwarded Message --------
Subject: \tOrder for 40 seats
Date: \tMon, 6 Jan 2025 10:15:00 +0100
From: \tCarol Client <carol@newco.example>
To: \tAda Lovelace <ada@acme.example>
Message-ID: \t{INLINE_ID}

Hello Ada, we would like to order.
""")
    forwards = _send(gateway, [_attached_forward(), inline], rcpt=gateway.seed.deal_address)
    for pk, original_id in zip(forwards, [ORIGINAL_ID, INLINE_ID]):
        [(stored_id, forwarded)] = _fetch(settings, select(Message.original_message_id, Message.forwarded)
                                          .where(Message.id == pk))
        assert stored_id == original_id and forwarded["message_id"] == original_id
    # Carol's answers in that thread, passed on by Ada to the company address: no deal is named, Carol has none
    replies = _send(gateway, [_reply(1, ORIGINAL_ID), _reply(2, INLINE_ID), _reply(3, "<unknown@newco.example>")])
    links = {pk: set(_fetch(settings, select(Link.kind, Link.record_id, Link.rule).where(Link.message_pk == pk)))
             for pk in replies}
    assert ("deal", deal, "thread") in links[replies[0]]
    assert ("deal", deal, "thread") in links[replies[1]]
    assert not any(kind == "deal" for kind, _, _ in links[replies[2]])


