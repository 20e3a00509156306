"""Write transactions as plain SQLAlchemy code, each awaited once by the event loop.

Filing a message takes a handful of statements. Through SQLAlchemy's asyncio layer every statement is
a round trip between the event loop and the driver's thread, about 0.2 ms of bookkeeping around a
statement that costs SQLite a hundredth of that. So the writing code (gateway.store.filing, the
quarantine) is ordinary synchronous SQLAlchemy on a :class:`~sqlalchemy.orm.Session`, and
:meth:`Writer.run` runs one whole transaction of it:

- on SQLite, in a thread of its own with a connection of its own (the stdlib driver, with the same
  settings as every connection: WAL, full sync, ``busy_timeout``, ``BEGIN IMMEDIATE``). SQLite has one
  writer at a time anyway, and it no longer waits for the event loop between statements;
- on PostgreSQL, through the async session's ``run_sync`` (asyncpg has no synchronous side), several
  at a time, each waiting at most ``lock_timeout`` for a lock.

The transaction commits when the function returns and rolls back when it raises; the error reaches
the caller as it was raised.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.store.engine import WRITER, make_sync_sqlite_engine

T = TypeVar("T")


class Writer:
    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self._settings = settings
        self._engine = engine
        self._thread: ThreadPoolExecutor | None = None
        self._sync: Engine | None = None       # made, used and disposed of in the thread
        self._sync_writer: Engine | None = None

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
        if self._sync_writer is None:
            self._sync = make_sync_sqlite_engine(self._settings)
            self._sync_writer = self._sync.execution_options(**WRITER)
        with Session(self._sync_writer, expire_on_commit=False) as session, session.begin():
            return work(session)

    async def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(thread, self._dispose)
            thread.shutdown(wait=True)

    def _dispose(self) -> None:
        engine, self._sync, self._sync_writer = self._sync, None, None
        if engine is not None:
            engine.dispose()
