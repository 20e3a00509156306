"""One unit of work per accepted message: gather what the company knows, decide, write, commit.

:func:`file_in` runs the pure decisions of ``gateway.routing.links`` inside the caller's transaction and
writes the raw bytes (or names the pieces they were written ahead in, gateway.store.raw), parsed
fields, attachments, new contacts and links together. :func:`store_message` files one message in a
transaction of its own: when it returns, all of it is committed; only then may the SMTP handler answer
250. :func:`store_batch` does the same for the messages that arrived together, in one transaction.

The work inside a transaction is plain synchronous SQLAlchemy (gateway.store.filing.context reads,
gateway.store.filing.rows writes); gateway.store.writer runs each transaction as a whole, on SQLite in
a thread of its own.
"""

from __future__ import annotations

import asyncio
import functools
import random
from typing import AsyncIterator, Awaitable, Callable, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.routing.links import plan_filing
from gateway.store import outbox, raw
from gateway.store.database import Database
from gateway.store.faults import is_transient
from gateway.store.filing.context import load_context, load_owners, owner_of
from gateway.store.filing.delivery import Delivery, Stored
from gateway.store.filing.rows import apply_plan, insert_message

RACE_ATTEMPTS = 6   # filings of a message that keeps losing a unique-key race; then a constraint refuses it
T = TypeVar("T")


def file_in(session: Session, db: Database, delivery: Delivery) -> Stored:
    """Store and file ``delivery`` inside the caller's transaction (which commits it, or not)."""
    session.info.setdefault("smartbcc_lookups", db.filing_lookups)    # owners, company facts: kept
    owner = owner_of(session, delivery.authorization.user_id)
    known = load_context(session, db, delivery, owner)
    plan = plan_filing(delivery.parsed, known.context)
    message_pk = known.seen
    if message_pk is None:
        message_pk = insert_message(session, db, delivery, owner, plan.direction, plan.skipped)
    elif delivery.upload is not None:       # stored before: this copy's pieces are not needed
        raw.drop(session, delivery.upload)
    if not delivery.link_records:       # kept for the mailbox; filed when the user saves it to the CRM
        return Stored(message_pk, known.seen is None, 0, 0)
    links_added, records = apply_plan(session, message_pk, plan, delivery.company_id, owner,
                                       fresh=known.seen is None)
    stored = Stored(message_pk, known.seen is None, links_added, records)
    outbox.message_filed(session, delivery.company_id, stored)     # its webhook events, in this transaction
    return stored


class Retry(Exception):
    """A message met a unique-key race with another writer: file it again from a fresh read."""

    def __init__(self, error: IntegrityError) -> None:
        super().__init__(repr(error))
        self.error = error


def race_pause(attempt: int) -> float:
    """Seconds to wait before the ``attempt``-th filing (0 the first) of messages that lost a unique-key
    race: a random pause, longer with each attempt, that lets the other writer commit."""
    return random.uniform(0.0, 0.02 * attempt) if attempt else 0.0


async def retry_races(file: Callable[[list[T]], Awaitable[list[Stored | Exception]]],
                      items: list[T]) -> AsyncIterator[tuple[T, Stored | Exception]]:
    """The one retry policy for a unique-key race with another writer: file ``items`` (``file`` returns
    one result per item, in their order) and yield each item with its result as soon as that is final.

    An item whose result is :class:`Retry` is filed again (with the others that raced in the same filing),
    from a fresh read, after :func:`race_pause`; after :data:`RACE_ATTEMPTS` filings its :class:`Retry` is
    final (no race lasts this long: a constraint refuses the message). An exception raised by ``file``
    propagates; the items not yielded by then have no result.
    """
    pending = items
    for attempt in range(RACE_ATTEMPTS):
        if attempt:
            await asyncio.sleep(race_pause(attempt))
        again = []
        for item, result in zip(pending, await file(pending), strict=True):
            if isinstance(result, Retry) and attempt < RACE_ATTEMPTS - 1:
                again.append(item)
            else:
                yield item, result
        if not again:
            return
        pending = again


async def store_message(db: Database, delivery: Delivery) -> Stored:
    """Store and file one message durably, in a transaction of its own; a retry of the same message only
    adds links. A unique-key race is filed again by :func:`retry_races`; when it never resolves, the
    last IntegrityError raises, as does any other failure."""
    async for _, result in retry_races(functools.partial(_store_alone, db), [delivery]):
        if isinstance(result, Retry):
            raise result.error
        if isinstance(result, Exception):
            raise result
        return result
    raise AssertionError("unreachable")


async def _store_alone(db: Database, deliveries: list[Delivery]) -> list[Stored | Exception]:
    """File the one delivery in a transaction of its own: a unique-key race is its result
    (:class:`Retry`), any other failure raises."""
    [delivery] = deliveries
    try:
        return [await db.writer.run(functools.partial(file_in, db=db, delivery=delivery))]
    except IntegrityError as error:
        return [Retry(error)]


class _Undone(Exception):
    """A message of a batch filed without savepoints failed: the batch is filed again, with them."""


def _file_together(session: Session, db: Database, deliveries: list[Delivery]) -> list[Stored | Exception]:
    """The batch without a savepoint per message: any message's failure undoes it all (:class:`_Undone`),
    a transient failure raises as it is."""
    session.info.setdefault("smartbcc_lookups", db.filing_lookups)
    load_owners(session, (d.authorization.user_id for d in deliveries))     # one query for the batch
    results: list[Stored | Exception] = []
    for delivery in deliveries:
        try:
            results.append(file_in(session, db, delivery))
        except Exception as error:
            if is_transient(error):
                raise
            raise _Undone from error
    return results


def _file_each(session: Session, db: Database, deliveries: list[Delivery]) -> list[Stored | Exception]:
    """The batch with a savepoint per message: a message that fails is rolled back alone, its slot holding
    the error. Alone, the transaction is the message's own: it needs no savepoint."""
    results: list[Stored | Exception] = []
    if len(deliveries) == 1:
        try:
            results.append(file_in(session, db, deliveries[0]))
        except Exception as error:
            if is_transient(error):
                raise
            session.rollback()
            results.append(Retry(error) if isinstance(error, IntegrityError) else error)
        return results
    session.info.setdefault("smartbcc_lookups", db.filing_lookups)
    load_owners(session, (d.authorization.user_id for d in deliveries))
    for delivery in deliveries:
        try:
            with session.begin_nested():
                results.append(file_in(session, db, delivery))
        except IntegrityError as error:
            results.append(Retry(error))
        except Exception as error:   # this message's own failure; the batch goes on
            if is_transient(error):
                raise
            results.append(error)
    return results


async def store_batch(db: Database, deliveries: list[Delivery]) -> list[Stored | Exception]:
    """Store and file several messages in ONE transaction.

    One commit (one fsync on SQLite) makes the whole batch durable. A message whose filing fails is
    rolled back alone: its slot holds the error (:class:`Retry` for a unique-key race with another
    writer, which a fresh transaction resolves), and the others still commit. When the commit itself
    fails, it raises: then nothing of the batch was written.

    The batch is first filed without a savepoint per message (two statements fewer each); only when a
    message fails is it filed again with them, so that the others still commit.
    """
    if len(deliveries) > 1:
        try:
            return await db.writer.run(functools.partial(_file_together, db=db, deliveries=deliveries))
        except _Undone:
            pass
    return await db.writer.run(functools.partial(_file_each, db=db, deliveries=deliveries))
