"""One connection kept open for the lookups of the SMTP dialogue: who a recipient is, who may send.

Every RCPT and every DATA asks the database one question. Through a session, each question would
also check a connection out of the pool, begin a transaction, end it and check the connection back
in: three times the work of the question itself. Here one connection in autocommit mode answers
them in turn (each statement reads the latest committed data, as its own snapshot), and a question
is one trip to the database. A question that fails or is cancelled drops the connection; the next
one opens a fresh connection, so a restarted database server costs one 451, not all that follow.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class Reader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lock = asyncio.Lock()
        self._connection: AsyncConnection | None = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """The reader's connection, for one question at a time; only single statements, no transaction."""
        async with self._lock:
            if self._connection is None:
                connection = await self._engine.connect()
                try:
                    self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                except BaseException:
                    await connection.close()
                    raise
            try:
                yield self._connection
            except BaseException:
                await self._drop()
                raise

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.invalidate()
            except Exception:   # it is gone either way
                pass
