"""Write transactions as plain SQLAlchemy code, each awaited once by the event loop.

Filing a message takes a handful of statements. Through SQLAlchemy's asyncio layer every statement is
a round trip between the event loop and the driver's thread, about 0.2 ms of bookkeeping around a
statement that costs SQLite a hundredth of that. So the writing code (gateway.store.filing, the
quarantine) is ordinary synchronous SQLAlchemy on a :class:`~sqlalchemy.orm.Session`, and
:meth:`Writer.run` runs one whole transaction of it:

- on SQLite, in a thread of its own with a connection of its own (the stdlib driver, with the same
  settings as every connection: WAL, full sync, ``busy_timeout``, ``BEGIN IMMEDIATE``). SQLite has one
  writer at a time anyway, and it no longer waits for the event loop between statements. Copying the
  WAL into the database file (a checkpoint) is done beside it, by :class:`Checkpoints`;
- on PostgreSQL, through the async session's ``run_sync`` (asyncpg has no synchronous side), several
  at a time, each waiting at most ``lock_timeout`` for a lock.

The transaction commits when the function returns and rolls back when it raises; the error reaches
the caller as it was raised.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from sqlalchemy import Engine, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.store.engine import WRITER, make_sync_sqlite_engine

T = TypeVar("T")
log = logging.getLogger("smartbcc.store")


class Writer:
    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self._settings = settings
        self._engine = engine
        self._thread: ThreadPoolExecutor | None = None
        self._sync: Engine | None = None       # made, used and disposed of in the thread
        self._sync_writer: Engine | None = None
        self._checkpoints: Checkpoints | None = None

    @property
    def on_thread(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a write transaction of its own; its result once committed."""
        if self.on_thread:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="smartbcc-writer")
            return await asyncio.get_running_loop().run_in_executor(self._thread, self._run_here, work)
        async with AsyncSession(self._engine.execution_options(**WRITER), expire_on_commit=False) as session:
            async with session.begin():
                milliseconds = max(1, int(self._settings.lock_timeout * 1000))
                await session.execute(text(f"SET LOCAL lock_timeout = {milliseconds}"))
                return await session.run_sync(work)

    def _run_here(self, work: Callable[[Session], T]) -> T:
        if self._sync_writer is None or self._checkpoints is None:
            self._sync = make_sync_sqlite_engine(self._settings)
            event.listen(self._sync, "connect", _checkpoint_late)
            self._sync_writer = self._sync.execution_options(**WRITER)
            self._checkpoints = Checkpoints(self._sync.url.database or "")
        with Session(self._sync_writer, expire_on_commit=False) as session, session.begin():
            result = work(session)
        self._checkpoints.after_commit()
        return result

    async def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(thread, self._dispose)
            thread.shutdown(wait=True)
        if self._checkpoints is not None:
            await asyncio.to_thread(self._checkpoints.close)

    def _dispose(self) -> None:
        engine, self._sync, self._sync_writer = self._sync, None, None
        if engine is not None:
            engine.dispose()


CHECKPOINT_AT = 4 * 1024 * 1024      # WAL bytes after which a checkpoint is started, off the writer's path
CHECKPOINT_EVERY = 0.05              # seconds between the starts of two of those, at least
_CHECKPOINT_PAGES = 16384            # the writer's own (blocking) checkpoint: only beyond 64 MiB of WAL


def _checkpoint_late(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    """SQLite checkpoints on the commit that takes the WAL past 1,000 pages: a 20 MB message's commit
    would also copy it into the database file (and wait for that to reach the disk) while every filing
    waits. The writer leaves that to :class:`Checkpoints`, but for a WAL that grew too long anyway."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
    cursor.close()


class Checkpoints:
    """Copies the WAL into the database file in a thread and on a connection of its own (a PASSIVE
    checkpoint: it never waits for the writer or holds it up), started after a commit when the WAL file
    is :data:`CHECKPOINT_AT` or longer; one at a time, and at most one per :data:`CHECKPOINT_EVERY`.

    A WAL file keeps its length when SQLite starts writing it again from the top, so once it has grown
    that long the length no longer says how much is left to copy: without the pause every commit would
    start a checkpoint, and each one has a cost of its own (the WAL index scanned, the database file
    synced) besides the pages it copies. The pause is short: a checkpoint that copies much at once
    syncs much at once, and the commits' own syncs wait behind it (measured under a stream of 20 MB
    messages: 1 MiB pieces took 51 ms at p99 with a pause of 0.25 s, 16 ms with 0.05 s)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="smartbcc-checkpoint")
        self._connection: sqlite3.Connection | None = None
        self._busy = threading.Event()
        self._started: float | None = None   # when the last one started (time.monotonic())
        self.count = 0                        # checkpoints run: for the tests

    def after_commit(self) -> None:
        if self._busy.is_set() or not self._path:
            return
        if self._started is not None and time.monotonic() - self._started < CHECKPOINT_EVERY:
            return
        try:
            if os.stat(self._path + "-wal").st_size < CHECKPOINT_AT:
                return
        except OSError:
            return
        self._busy.set()
        self._started = time.monotonic()
        self._thread.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(self._path, timeout=1, isolation_level=None,
                                                   check_same_thread=False)
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.count += 1
        except sqlite3.Error as error:      # the next commit starts another; the writer's own is the backstop
            log.warning("background checkpoint failed: %r", error)
        finally:
            self._busy.clear()

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        if self._connection is not None:
            self._connection.close()
            self._connection = None
