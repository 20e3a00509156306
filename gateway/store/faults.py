"""Which failures of the store a later retry can cure: the line between 451 and the quarantine.

A *transient* failure comes from the database's surroundings: it is unreachable, locked, out of disk
or memory, being restarted, or its schema is being migrated. Nothing was written (the transaction
rolled back), so the SMTP handler answers 451 and the sending server keeps the message and retries.

Anything else failed because of *this message* meeting our code: a bug while planning the filing, or a
value the database refuses. A retry would fail the same way for days and then bounce, so the handler
keeps the raw message in the quarantine instead and answers 250 (see gateway.handlers.filer).

How failures are logged: :class:`FaultLog` writes one line per failure (:func:`describe` the error: its
type and first line, never the statement's parameters) and a full traceback of each kind of error at
most once per :data:`TRACEBACK_INTERVAL`, so that an outage under load logs lines, not megabytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, Iterator

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
TRACEBACK_INTERVAL = 60.0    # seconds: a full traceback of one kind of error at most this often
_DESCRIPTION_LIMIT = 300     # characters of an error's first line kept in a log line


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


def describe(error: BaseException) -> str:
    """``Type: first line of the message``, on one line, at most a few hundred characters.

    SQLAlchemy puts the statement and its parameters (parts of a message) on the lines after the first;
    they are left out. Characters that are not printable (controls, line breaks, bidi) are escaped.
    """
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    if len(first) > _DESCRIPTION_LIMIT:
        first = first[:_DESCRIPTION_LIMIT] + "..."
    first = "".join(c if c.isprintable() else repr(c)[1:-1] for c in first)
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _kind(error: BaseException) -> tuple[type, ...]:
    """The error's class and the class of what it wraps: a lock timeout and a refused connection are two
    kinds, although SQLAlchemy raises both as DBAPIError."""
    inner = getattr(error, "orig", None) or error.__cause__
    return (type(error), type(inner)) if inner is not None else (type(error),)


class FaultLog:
    """Logs failures one line each; with the full traceback the first time a kind of error is seen in
    ``interval`` seconds (always, when the logger is at DEBUG)."""

    def __init__(self, interval: float = TRACEBACK_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[tuple[type, ...], float] = {}

    def log(self, logger: logging.Logger, level: int, message: str, *args: object, error: BaseException) -> None:
        """``message % args`` and ``: <describe(error)>`` on one line; a traceback when one is due."""
        now = self.clock()
        kind = _kind(error)
        last = self._last.get(kind)
        due = last is None or now - last >= self.interval
        if due:
            self._last[kind] = now
        if due or logger.isEnabledFor(logging.DEBUG):
            logger.log(level, message + ": %s (traceback of this kind of error at most every %g s)",
                       *args, describe(error), self.interval, exc_info=error)
        else:
            logger.log(level, message + ": %s", *args, describe(error))
