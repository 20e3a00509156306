"""What the serving process keeps of the tables every message reads: which company a slug names, who a
sender is, what filing needs of a company and of a message's owner.

Those tables change rarely (an admin adds a user, deactivates one, changes a company), and they may be
changed by another process (the CLI, the web app, another gateway). So every write to them, whoever makes
it, bumps one counter in the database (``lookup_generation``, by triggers of migration 0013), and a
process reads that counter once per question, before it trusts what it kept: one single-row read by
primary key (on SQLite through the stdlib cursor, a few microseconds) instead of the queries themselves.
When the counter moved, everything kept is dropped and read again. A permission is never served stale:
a user deactivated by ``smartbcc user deactivate`` is refused from the first message that follows.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable, TypeVar, cast

from sqlalchemy import Connection
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_ENTRIES = 10_000      # a flood of unknown slugs or senders cannot grow the cache without bound
_READ = "SELECT value FROM lookup_generation WHERE id = 1"


def read_generation(connection: Connection) -> int | None:
    """The counter, as of now (None: the row is missing, so nothing may be kept)."""
    if connection.dialect.name == "sqlite":
        dbapi = cast(sqlite3.Connection, connection.connection.dbapi_connection)
        row = dbapi.execute(_READ).fetchone()
    else:
        row = connection.exec_driver_sql(_READ).first()
    return None if row is None else int(row[0])


class LookupCache:
    """Answers kept under the generation they were read at; a new generation empties it."""

    def __init__(self) -> None:
        self._generation: int | None = None
        self._entries: dict[Any, Any] = {}
        self.hits = 0
        self.misses = 0

    def entries(self, generation: int | None) -> dict[Any, Any] | None:
        """The answers kept under ``generation`` (None: nothing may be kept). Whoever stores an answer
        there read it after reading ``generation``, so it is at least as new as that."""
        if generation is None:
            return None
        if generation != self._generation or len(self._entries) >= MAX_ENTRIES:
            self._entries = {}
            self._generation = generation
        return self._entries

    def get(self, connection: Connection, key: Any, read: Callable[[Connection], T]) -> T:
        """``read(connection)``'s answer for ``key``: kept, while the generation has not moved since it
        was read, else read now (on ``connection``, after the generation) and kept."""
        entries = self.entries(read_generation(connection))
        if entries is None:     # this generation's: another question may start the next meanwhile
            return read(connection)
        try:
            found = cast(T, entries[key])
        except KeyError:
            self.misses += 1
            found = entries[key] = read(connection)
            return found
        self.hits += 1
        return found

    def clear(self) -> None:
        self._generation = None
        self._entries = {}


def kept_in_transaction(session: Session, key: str) -> dict[Any, Any]:
    """A dict of answers for ``key`` that filing keeps: for this transaction, and beyond it, while the
    generation read at its first use in the transaction stays (the process's :class:`LookupCache` is
    put in ``session.info["smartbcc_lookups"]`` by whoever opens the transaction; without one, only
    for the transaction)."""
    entries = session.info.get("smartbcc_kept")
    if entries is None:
        cache = session.info.get("smartbcc_lookups")
        found = cache.entries(read_generation(session.connection())) if cache is not None else None
        entries = session.info["smartbcc_kept"] = found if found is not None else {}
    return cast(dict[Any, Any], entries.setdefault(key, {}))
