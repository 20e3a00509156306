"""SQLAlchemy's aiosqlite adapter with one trip to the connection's thread per statement.

aiosqlite runs each call on the sqlite3 connection in a thread of its own and hands the result back
to the event loop. SQLAlchemy's stock adapter makes four such trips per statement (open a cursor,
execute, fetch the rows, close the cursor), and each trip wakes the event loop. Here one function,
run in that same thread, does all four and returns the rows with the cursor's description, row count
and last row id: the same statement, transaction and error semantics, a quarter of the trips.

Use it by passing :data:`DBAPI` as ``module=`` to ``create_async_engine`` on a ``sqlite+aiosqlite`` URL.
:func:`write_in_place` writes a large value into a row in place, on a (synchronous) sqlite3 connection.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor, AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, int, int | None, list[Any]]
# values at least this large are written in place (write_in_place), not bound: binding has SQLite copy
# them twice in memory; below this, binding is the cheaper of the two
BLOB_IN_PLACE = 2 * 1024 * 1024
_BLOB_PIECE = 1024 * 1024


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """In the connection's thread: execute, fetch everything, close; return what the cursor knew."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor: the statement's whole result arrives with its execution."""

    __slots__ = ("_description", "_rowcount", "_lastrowid")
    _awaitable_cursor_close = False      # nothing is left open in the thread to close

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # SQLAlchemy's slot for a cursor we never open
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]  # sqlite3's is None before any INSERT

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._trip(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._trip(operation, seq_of_parameters, many=True)

    def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]  # declared as any DBAPI's
        try:
            outcome = await_(connection._execute(_run, connection._conn, operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    def nextset(self) -> None:
        return None


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True
        return OneTripConnection(self, await_(connection))


DBAPI = OneTripDBAPI(aiosqlite, sqlite3)


def write_in_place(connection: sqlite3.Connection, table: str, column: str, rowid: int, data: bytes) -> None:
    """Write ``data`` into the blob of ``table.column`` in row ``rowid``, which holds ``zeroblob(len(data))``,
    a piece at a time and without copying ``data``; inside the connection's transaction."""
    view = memoryview(data)
    with connection.blobopen(table, column, rowid) as blob:
        if len(blob) != len(data):
            raise ValueError(f"{table}.{column} of row {rowid} holds {len(blob)} bytes, not {len(data)}")
        for start in range(0, len(data), _BLOB_PIECE):
            blob.write(view[start:start + _BLOB_PIECE])
