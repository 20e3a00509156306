"""Odd values in a message never send it to the quarantine: dates past what a datetime holds in UTC,
year 0, offsets of a day, fields out of range, NUL and lone surrogates are filed on both backends,
the date kept as far as it can be and the raw header kept in the raw bytes."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from gateway.store.models import Message, QuarantinedMessage
from tests.support.gwtest import ThreadedGateway, count, messages, seed, with_db
from tests.support.rawsmtp import Raw

UTC = timezone.utc
DATES = {
    b"Fri, 31 Dec 9999 23:59:59 -2359": datetime(9999, 12, 30, 23, 59, 59, tzinfo=UTC),
    b"Sat, 01 Jan 0000 00:00:00 +2359": datetime(1999, 12, 31, 0, 1, tzinfo=UTC),
    b"Mon, 06 Jan 2025 10:15:00 +9999": datetime(2025, 1, 6, 10, 15, tzinfo=UTC),
    b"Mon, 32 Jan 2025 25:61:61 +0100": datetime(2025, 1, 31, 22, 59, 59, tzinfo=UTC),
    b"Mon, 1 Jan 99999999999 00:00:00 +0000": datetime(9999, 1, 1, tzinfo=UTC),
}


def _odd(number: int, date: bytes) -> bytes:
    return (b"From: Ada \xed\xa0\x80 <ada@acme.example>\r\nTo: bob@customer.example\r\nDate: " + date +
            b"\r\nMessage-ID: <odd%d@acme.example>\r\nSubject: odd \x00 %d \xed\xb0\x80\r\n\r\nbody\x00\r\n" % (number, number))


def test_odd_dates_and_values_are_filed_not_quarantined(settings):
    seed(settings)
    sent = {_odd(n, date): expected for n, (date, expected) in enumerate(DATES.items())}
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        for raw in sent:
            assert smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250
            assert smtp.cmd("RCPT TO:<acme@bcc.example.net>")[0] == 250
            assert smtp.data(raw)[0] == 250
    assert count(settings, QuarantinedMessage) == 0
    assert {m.raw for m in messages(settings)} == set(sent)

    async def dates(db):
        async with db.sessions() as session:
            return dict((await session.execute(select(Message.message_id, Message.date))).all())
    stored = with_db(settings, dates)
    for n, expected in enumerate(DATES.values()):
        assert stored[f"<odd{n}@acme.example>"] == expected, n
