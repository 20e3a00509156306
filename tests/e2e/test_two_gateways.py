"""Two gateway processes on one database (an MX pair), sent the same messages at the same time: each
message is stored once, each new contact is created once, and every message is answered 250 by at
least one of them (a 451 from the other is a retry the sender makes later, which is then a duplicate)."""

from __future__ import annotations

import smtplib
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from tests.support.gwtest import free_port, messages, seed, with_db
from tests.support.rawsmtp import message
from test_ops_lifecycle import serve
from gateway.store.models import Person, QuarantinedMessage

MESSAGES = 40
CUSTOMERS = [f"buyer{n}@prospect{n % 4}.example" for n in range(8)]   # new to the CRM, shared by messages


def _send(port: int, company_address: str, number: int) -> int:
    to = ", ".join(CUSTOMERS[(number + k) % len(CUSTOMERS)] for k in range(3))
    content = message(subject=f"Offer {number}", to=to, message_id=f"<pair-{number}@acme.example>")
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.sendmail("ada@acme.example", [company_address], content)
        return 250
    except smtplib.SMTPResponseException as error:
        return error.smtp_code


def test_two_gateways_on_one_database_store_each_message_once(settings, tmp_path):
    seeded = seed(settings)
    ports = [free_port(), free_port()]
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    with ThreadPoolExecutor(2) as starting:      # both start at once, as an MX pair's hosts do
        processes = list(starting.map(lambda port, log: serve(settings, port, log), ports, logs))
    try:
        with ThreadPoolExecutor(16) as pool:
            futures = {(number, port): pool.submit(_send, port, seeded.company_address, number)
                       for number in range(MESSAGES) for port in ports}
            codes = {key: future.result() for key, future in futures.items()}
    finally:
        for process in processes:
            process.terminate()
        for process, log in zip(processes, logs):
            assert process.wait(30) == 0, log.read_text()

    assert set(codes.values()) <= {250, 451}, codes
    for number in range(MESSAGES):
        assert 250 in (codes[number, ports[0]], codes[number, ports[1]]), f"message {number}: {codes}"

    stored = messages(settings)
    assert sorted(m.message_id for m in stored) == sorted(f"<pair-{n}@acme.example>" for n in range(MESSAGES))

    async def people(db):
        async with db.sessions() as session:
            rows = (await session.execute(select(Person.email, func.count()).group_by(Person.email))).all()
            quarantined = (await session.scalars(select(QuarantinedMessage.reason))).all()
            return dict(rows), quarantined
    counts, quarantined = with_db(settings, people)
    assert quarantined == []
    assert {email: counts.get(email) for email in CUSTOMERS} == {email: 1 for email in CUSTOMERS}
    by_email = {email: pk for email, pk in with_db(settings, _person_ids)}
    for m in stored:
        number = int(m.message_id.split("-")[1].split("@")[0])
        linked = {record for kind, record, _ in m.links if kind == "person"}
        wanted = {by_email[CUSTOMERS[(number + k) % len(CUSTOMERS)]] for k in range(3)}
        assert wanted <= linked, (m.message_id, m.links)


async def _person_ids(db):
    async with db.sessions() as session:
        return (await session.execute(select(Person.email, Person.id))).all()
