"""The last step of DATA: file an accepted message so that a 250 means "durably kept".

:meth:`Filer.file` hands the message to a writer task, shielded from the SMTP session: a client that
drops the connection after its final dot, or a session timeout, cannot cut a filing in half (the
transaction commits or rolls back as a whole, and a retry of the same message is stored once).
Messages that arrive together are committed together (gateway.store.filing.store_batch).

The reply follows gateway.store.faults: a transient failure (database unreachable, locked, full) is
451 and nothing is written (and logged as one line, a traceback of its kind at most once a minute); any other failure keeps the raw message in the quarantine, in its own
small transaction, and answers 250; when even that write fails, 451. The final reply comes within
``data_timeout`` of the final dot: a filing that outlasts it is answered 451 while it goes on, and if it
commits after all, the sender's retry is recognized and stored once.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from dataclasses import dataclass

from gateway.store import quarantine
from gateway.config import Settings
from gateway.replies import ACCEPTED, TEMPORARY_FAILURE
from gateway.store import raw
from gateway.store.database import Database
from gateway.store.faults import FaultLog, describe, is_transient
from gateway.store.filing import RACE_ATTEMPTS, Delivery, Retry, Stored, retry_races, store_batch

log = logging.getLogger("smartbcc.smtp")
_Item = tuple[Delivery, "asyncio.Future[Outcome]"]
MAX_BATCH = 64               # messages committed together, at most
LARGE = 1024 * 1024          # a message this large is committed alone
WRITERS_POSTGRESQL = 4       # concurrent batches on PostgreSQL (SQLite has one writer)


@dataclass(frozen=True)
class Outcome:
    reply: str
    stored: Stored | None = None
    quarantined: int | None = None      # the quarantine entry that keeps the message

    @property
    def accepted(self) -> bool:
        return self.stored is not None or self.quarantined is not None


class Filer:
    """Files accepted messages through a few writer tasks that each commit many messages at a time.

    Sessions that finish DATA together share one transaction (:func:`store_batch`): under load the
    cost of a commit (an fsync on SQLite) is paid once per batch instead of once per message, and on
    SQLite there is one writer, so transactions never queue on the file lock. With a single session
    sending, a batch is that one message and it is filed at once: batching waits for nothing. The
    bytes of a message of ``raw.APART`` or more are written ahead, a piece per transaction, taking turns
    with the other writes (gateway.store.raw); the message is then filed like a small one. One of
    :data:`LARGE` or more with its bytes in hand is committed alone, taking turns with the batches of
    small ones, which wait for that one write at most.
    """

    def __init__(self, db: Database, settings: Settings, faults: FaultLog | None = None) -> None:
        self.db = db
        self.settings = settings
        self.faults = faults or FaultLog()       # failures: a line each, a traceback now and then
        self.writers = 1 if db.engine.dialect.name == "sqlite" else WRITERS_POSTGRESQL
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Future[Outcome]] = set()
        self._ahead: set[asyncio.Task[None]] = set()

    async def file(self, delivery: Delivery, deadline: float) -> Outcome:
        """File ``delivery``; the reply comes by ``deadline`` (event-loop time), else it is 451."""
        loop = asyncio.get_running_loop()
        if not self._tasks:
            self._tasks = [loop.create_task(self._writer()) for _ in range(self.writers)]
        done: asyncio.Future[Outcome] = loop.create_future()
        self._running.add(done)
        done.add_done_callback(self._running.discard)
        if len(delivery.raw) >= raw.APART:
            ahead = loop.create_task(self._write_ahead(delivery, done))    # not cancelled with the session
            self._ahead.add(ahead)
            ahead.add_done_callback(self._ahead.discard)
        else:
            self._queue.put_nowait((delivery, done))
        try:
            return await asyncio.wait_for(asyncio.shield(done), max(0.0, deadline - loop.time()))
        except TimeoutError:
            log.error("%s filing took over %g s; answering 451 (the filing goes on, a retry dedups)",
                      delivery.client_address, self.settings.data_timeout)
            return Outcome(str(TEMPORARY_FAILURE))

    async def _write_ahead(self, delivery: Delivery, done: asyncio.Future[Outcome]) -> None:
        """Write a large message's bytes ahead in pieces (gateway.store.raw), then queue its filing;
        if that fails, it is filed with its bytes as usual."""
        try:
            delivery = dataclasses.replace(delivery, upload=await raw.upload(self.db, delivery.raw))
        except Exception as error:
            log.warning("%s DATA: writing %d bytes ahead failed (%s); filing them with the message",
                        delivery.client_address, len(delivery.raw), describe(error))
        self._queue.put_nowait((delivery, done))

    async def drain(self, timeout: float) -> None:
        """Wait for filings still queued or running (the clients may be gone), then stop the writers."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _writer(self) -> None:
        """Small messages waiting are filed together; a large one alone, taking turns with them, so that
        the small ones never wait for more than one large message's write."""
        small: list[_Item] = []
        large: collections.deque[_Item] = collections.deque()
        turn_of_large = False
        while True:
            if not small and not large:
                self._sort(await self._queue.get(), small, large)
            while not self._queue.empty():
                self._sort(self._queue.get_nowait(), small, large)
            if large and (turn_of_large or not small):
                batch = [large.popleft()]
            else:
                batch, small = small[:MAX_BATCH], small[MAX_BATCH:]
            turn_of_large = not turn_of_large
            try:
                await self._write(batch)
            except Exception as error:    # never leave a session without its reply
                self.faults.log(log, logging.ERROR, "filing a batch of %d failed unexpectedly; answering 451",
                                len(batch), error=error)
                for _, done in batch:
                    if not done.done():
                        done.set_result(Outcome(str(TEMPORARY_FAILURE)))
            del batch    # not held (with its messages' bytes) while waiting for the next one

    @staticmethod
    def _sort(item: _Item, small: list[_Item], large: collections.deque[_Item]) -> None:
        delivery = item[0]
        (large.append if len(delivery.raw) >= LARGE and delivery.upload is None else small.append)(item)

    async def _write(self, batch: list[_Item]) -> None:
        """File ``batch`` together (a unique-key race filed again by the store's one policy,
        gateway.store.filing.retry_races) and answer each message as soon as its result is final."""
        results = retry_races(self._store, batch)
        while True:
            try:
                (delivery, done), result = await anext(results)
            except StopAsyncIteration:
                return
            except Exception as error:
                pending = [item for item in batch if not item[1].done()]
                if len(pending) > 1 and not is_transient(error):
                    # the commit failed for a reason of one message's making: file each alone
                    for item in pending:
                        await self._write([item])
                    return
                for delivery, done in pending:
                    done.set_result(await self._not_filed(delivery, error))
                return
            if isinstance(result, Stored):
                reply = f"{ACCEPTED.code} {ACCEPTED.enhanced} {ACCEPTED.text} as {result.message_pk}"
                done.set_result(Outcome(reply, stored=result))
                continue
            if isinstance(result, Retry):     # no race lasts this long: a constraint refuses it
                log.warning("%s DATA: a unique key refused the message %d times (%s)",
                            delivery.client_address, RACE_ATTEMPTS, result)
            done.set_result(await self._not_filed(delivery, result))

    async def _store(self, items: list[_Item]) -> list[Stored | Exception]:
        return await store_batch(self.db, [delivery for delivery, _ in items])

    async def _not_filed(self, delivery: Delivery, error: Exception) -> Outcome:
        peer = delivery.client_address
        if delivery.upload is not None:     # the message's pieces are not named by any message
            try:
                await raw.discard(self.db, delivery.upload)
            except Exception as failure:    # raw.sweep deletes them later
                log.warning("%s DATA: could not delete the pieces of upload %d (%s)", peer, delivery.upload,
                            describe(failure))
        if is_transient(error):
            self.faults.log(log, logging.WARNING, "%s DATA: the database is unavailable; answering 451, "
                            "nothing written", peer, error=error)
            return Outcome(str(TEMPORARY_FAILURE))
        self.faults.log(log, logging.ERROR, "%s DATA: filing failed; keeping the message in the quarantine",
                        peer, error=error)
        try:
            entry = await quarantine.keep(self.db, delivery, f"filing failed: {error!r}")
        except Exception as failure:
            self.faults.log(log, logging.ERROR, "%s DATA: could not keep the message in the quarantine either; "
                            "answering 451", peer, error=failure)
            return Outcome(str(TEMPORARY_FAILURE))
        log.warning("%s accepted message %s into quarantine entry %d (smartbcc quarantine replay %d)",
                    peer, delivery.parsed.message_id, entry, entry)
        return Outcome(str(ACCEPTED), quarantined=entry)
