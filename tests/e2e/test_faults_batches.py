"""Messages that arrive together are committed together: one message's filing failure inside a batch
costs that message alone (it goes to the quarantine, answered 250), never its neighbours."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from gateway.handlers import filer as delivery
from gateway.mail.parsing import parse_message
from gateway.routing import links
from gateway.auth.senders import Authorization
from gateway.store.filing import batch as filing_batch
from gateway.store.filing import Delivery, Stored, store_batch
from gateway.store.models import Message, Person, QuarantinedMessage
from tests.support.gwtest import ThreadedGateway, count, messages, seed, with_db
from tests.support.rawsmtp import COMPANY, USER, Raw, message

POISON = "poison pill"


def _plan_unless_poisoned(real):
    def plan(parsed, context):
        if parsed.subject == POISON:
            raise RuntimeError("planner bug on this message")
        return real(parsed, context)
    return plan


def _delivery(settings, number: int, subject: str | None = None) -> Delivery:
    raw = message(subject=subject or f"Offer {number}", to=f"buyer{number}@prospect.example",
                  message_id=f"<batch-{number}@acme.example>")
    return Delivery(company_id=1, raw=raw, parsed=parse_message(raw, mail_domain=settings.mail_domain),
                    authorization=Authorization(True, 1, USER, "header-from", "login"), envelope_from=USER,
                    envelope_rcpts=(COMPANY,), addressed=())


def test_one_failure_in_a_batch_leaves_the_others_committed(settings, monkeypatch):
    seed(settings)
    monkeypatch.setattr(filing_batch, "plan_filing", _plan_unless_poisoned(links.plan_filing))
    batch = [_delivery(settings, n, POISON if n == 2 else None) for n in range(5)]
    batch.append(_delivery(settings, 0))             # the same message twice in one batch: stored once

    results = with_db(settings, lambda db: store_batch(db, batch))

    assert [type(r).__name__ for r in results] == ["Stored", "Stored", "RuntimeError", "Stored", "Stored", "Stored"]
    first, again = results[0], results[5]
    assert isinstance(first, Stored) and isinstance(again, Stored)
    assert (first.created, again.created, again.message_pk) == (True, False, first.message_pk)
    assert sorted(m.message_id for m in messages(settings)) == [
        f"<batch-{n}@acme.example>" for n in (0, 1, 3, 4)]
    # the failed message's contact was rolled back with it; the others' are there
    assert count(settings, Person) == 1 + 4


def test_concurrent_senders_with_one_poisoned_message_all_get_250(settings, monkeypatch):
    seed(settings)
    monkeypatch.setattr(filing_batch, "plan_filing", _plan_unless_poisoned(links.plan_filing))

    def send(gateway, number: int) -> tuple[int, str]:
        raw = message(subject=POISON if number == 7 else f"Offer {number}", to=f"buyer{number}@prospect.example",
                      message_id=f"<concurrent-{number}@acme.example>")
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            return smtp.data(raw)

    with ThreadedGateway(settings) as gateway, ThreadPoolExecutor(12) as pool:
        replies = list(pool.map(lambda n: send(gateway, n), range(24)))

    assert all(code == 250 for code, _ in replies), replies
    filed = sorted(m.message_id for m in messages(settings))
    assert filed == sorted(f"<concurrent-{n}@acme.example>" for n in range(24) if n != 7)

    async def quarantined(db):
        from sqlalchemy import select
        async with db.sessions() as session:
            return (await session.scalars(select(QuarantinedMessage.reason))).all()
    [reason] = with_db(settings, quarantined)
    assert "planner bug on this message" in reason
    assert count(settings, Message) == 23


def test_a_clean_batch_files_each_message_as_if_alone(settings):
    seed(settings)
    batch = [_delivery(settings, n) for n in range(3)]
    raw = message(subject="Follow-up", to="buyer1@prospect.example", message_id="<batch-follow-up@acme.example>")
    batch.append(Delivery(company_id=1, raw=raw, parsed=parse_message(raw, mail_domain=settings.mail_domain),
                          authorization=Authorization(True, 1, USER, "header-from", "login"), envelope_from=USER,
                          envelope_rcpts=(COMPANY,), addressed=()))
    batch.append(_delivery(settings, 0))             # the same message twice in one batch: stored once

    results = with_db(settings, lambda db: store_batch(db, batch))

    assert all(isinstance(r, Stored) for r in results), results
    assert [r.created for r in results] == [True, True, True, True, False]
    assert [r.contacts_created for r in results] == [1, 1, 1, 0, 0]   # the follow-up finds buyer1's contact
    assert results[4].message_pk == results[0].message_pk
    assert count(settings, Person) == 1 + 3
    assert count(settings, Message) == 4


def _large_delivery(settings, number: int) -> Delivery:
    raw = message(subject=f"Large {number}", to=f"buyer{number}@prospect.example",
                  message_id=f"<large-{number}@acme.example>") + b"x" * 76 + b"\r\n"
    raw += (b"y" * 76 + b"\r\n") * (delivery.LARGE // 78 + 1)
    return Delivery(company_id=1, raw=raw, parsed=parse_message(raw, mail_domain=settings.mail_domain),
                    authorization=Authorization(True, 1, USER, "header-from", "login"), envelope_from=USER,
                    envelope_rcpts=(COMPANY,), addressed=())


def test_large_messages_are_filed_alone_taking_turns_with_the_small_ones(settings, monkeypatch):
    seed(settings)
    batches: list[list[str]] = []
    real = delivery.store_batch

    async def observed(db, deliveries):
        batches.append([d.parsed.subject for d in deliveries])
        return await real(db, deliveries)
    monkeypatch.setattr(delivery, "store_batch", observed)
    waiting = [_large_delivery(settings, 1), _large_delivery(settings, 2),
               *(_delivery(settings, n) for n in range(6))]

    async def work(db):
        filer = delivery.Filer(db, settings)
        deadline = asyncio.get_running_loop().time() + 60
        try:       # all queued before the writer first runs: then it chooses the order
            return await asyncio.gather(*(filer.file(d, deadline) for d in waiting))
        finally:
            await filer.drain(10)
    outcomes = with_db(settings, work)

    assert all(outcome.stored is not None for outcome in outcomes)
    small = [f"Offer {n}" for n in range(6)]
    assert batches == [small, ["Large 1"], ["Large 2"]] or batches == [["Large 1"], small, ["Large 2"]], batches
    assert count(settings, Message) == 8
