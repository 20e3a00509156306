"""Which failures of the store a later retry can cure: the line between 451 and the quarantine.

A *transient* failure comes from the database's surroundings: it is unreachable, locked, out of disk
or memory, being restarted, or its schema is being migrated. Nothing was written (the transaction
rolled back), so the SMTP handler answers 451 and the sending server keeps the message and retries.

Anything else failed because of *this message* meeting our code: a bug while planning the filing, or a
value the database refuses. A retry would fail the same way for days and then bounce, so the handler
keeps the raw message in the quarantine instead and answers 250 (see gateway.handlers.delivery).
"""

from __future__ import annotations

import asyncio
from typing import Iterator

from sqlalchemy import exc

# PostgreSQL SQLSTATE classes and codes that describe the server, not the statement
_PG_CLASSES = frozenset({
    "08",   # connection exception
    "28",   # invalid authorization (a changed password)
    "40",   # transaction rollback: serialization failure, deadlock
    "53",   # insufficient resources: disk full, out of memory, too many connections
    "55",   # object not in prerequisite state: lock not available (55P03), database not accepting connections
    "57",   # operator intervention: shutdown, statement or lock timeout (57014)
    "58",   # system error: I/O
    "XX",   # internal error, data corrupted
})
_PG_CODES = frozenset({"42P01", "42703", "3D000"})   # missing table, column, database: a migration or setup
# SQLite result codes (Python's sqlite3 names them) that describe the file system or the lock
_SQLITE_NAMES = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN",
                 "SQLITE_READONLY", "SQLITE_NOMEM", "SQLITE_PROTOCOL", "SQLITE_CORRUPT", "SQLITE_NOTADB",
                 "SQLITE_NOLFS", "SQLITE_PERM")
_SQLITE_SCHEMA_TEXT = ("no such table", "no such column", "has no column named")
_SQLITE_ENVIRONMENT_TEXT = ("database is locked", "disk is full", "disk i/o error", "unable to open database")


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (DBAPI ``orig``) and its causes, each once."""
    seen: set[int] = set()
    todo = [error]
    while todo and len(seen) < 20:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(inner, BaseException):
                todo.append(inner)


def _one_is_transient(error: BaseException) -> bool:
    if isinstance(error, (OSError, asyncio.TimeoutError, exc.DisconnectionError, exc.TimeoutError,
                          exc.InterfaceError, exc.ResourceClosedError)):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and len(sqlstate) == 5:
        return sqlstate[:2] in _PG_CLASSES or sqlstate in _PG_CODES
    name = getattr(error, "sqlite_errorname", None)
    text = str(error).lower()
    if isinstance(name, str):
        return name.startswith(_SQLITE_NAMES) or any(part in text for part in _SQLITE_SCHEMA_TEXT)
    if isinstance(error, exc.OperationalError) or type(error).__name__ == "OperationalError":
        # a DBAPI error without a code: SQLite's wording tells the environment from the statement
        return any(part in text for part in _SQLITE_ENVIRONMENT_TEXT + _SQLITE_SCHEMA_TEXT)
    return False


def is_transient(error: BaseException) -> bool:
    """True when a retry later can succeed without anyone changing the message or the code."""
    return any(_one_is_transient(inner) for inner in _chain(error))
