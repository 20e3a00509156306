"""One connection kept open for the lookups of the SMTP dialogue: who a recipient is, who may send.

Every RCPT and every DATA asks the database one question. Through a session, each question would
also check a connection out of the pool, begin a transaction, end it and check the connection back
in: three times the work of the question itself. Here one connection in autocommit mode answers
them in turn (each statement reads the latest committed data, as its own snapshot), and a question
is one trip to the database. A question that fails or is cancelled drops the connection; the next
one opens a fresh connection, so a restarted database server costs one 451, not all that follow.

A question is plain synchronous SQLAlchemy code (``question(connection)``), like the writer's work
(gateway.store.writer):

- on SQLite it runs right away, in the event loop's thread, on a stdlib ``sqlite3`` connection of its
  own. A lookup there is a few indexed pages read from a local file, about 20 us; handing it to a
  driver thread and back cost six times that in bookkeeping. In WAL mode a reader never waits for the
  writer; it waits at most :data:`SQLITE_BUSY_MS` for anything else (it then fails: a 451);
- on PostgreSQL it runs on the async connection through ``run_sync``, one question at a time.
"""

from __future__ import annotations

import asyncio
from typing import Callable, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.config import Settings
from gateway.store.engine import make_sync_sqlite_engine

T = TypeVar("T")
SQLITE_BUSY_MS = 200     # the event loop's thread waits no longer than this for a read on SQLite


class Reader:
    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self._settings = settings
        self._engine = engine
        self._lock = asyncio.Lock()
        self._connection: AsyncConnection | None = None
        self._sync_engine: Engine | None = None
        self._sync: Connection | None = None

    @property
    def inline(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    async def run(self, question: Callable[[Connection], T]) -> T:
        """``question(connection)``: single statements, no transaction; its result."""
        if self.inline:
            return self._run_inline(question)
        async with self._lock:
            if self._connection is None:
                connection = await self._engine.connect()
                try:
                    self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                except BaseException:
                    await connection.close()
                    raise
            try:
                return await self._connection.run_sync(question)
            except BaseException:
                await self._drop()
                raise

    def _run_inline(self, question: Callable[[Connection], T]) -> T:
        if self._sync is None:
            if self._sync_engine is None:
                self._sync_engine = make_sync_sqlite_engine(self._settings)
            connection = self._sync_engine.connect()
            try:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
                self._sync = connection
            except BaseException:
                connection.close()
                raise
        try:
            return question(self._sync)
        except BaseException:
            self._drop_inline()
            raise

    async def close(self) -> None:
        async with self._lock:
            await self._drop()
        self._drop_inline()
        engine, self._sync_engine = self._sync_engine, None
        if engine is not None:
            engine.dispose()

    def _drop_inline(self) -> None:
        connection, self._sync = self._sync, None
        if connection is not None:
            try:
                connection.invalidate()
            except Exception:   # it is gone either way
                pass

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.invalidate()
            except Exception:   # it is gone either way
                pass
