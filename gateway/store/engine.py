"""Engine and session factory: SQLite (WAL, foreign keys, full sync) by default, PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from gateway.config import ConfigError, Settings
from gateway.store import sqlite_driver

SUPPORTED_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}


WRITER = {"smartbcc_writer": True}    # execution option of a transaction that will write


def _sqlite_pragmas(lock_timeout: float) -> Callable[..., None]:
    milliseconds = max(1, int(lock_timeout * 1000))

    def on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # SQLAlchemy, not the sqlite3 module, says when a transaction begins (see _sqlite_begin): the
        # module's own habit of beginning only before the first write breaks SAVEPOINTs and lets a
        # read-then-write transaction fail on lock upgrade instead of waiting.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")   # a 250 is only given for what survives a power cut
        # a transaction waits at most lock_timeout for the write lock (BEGIN IMMEDIATE), then errs: 451
        cursor.execute(f"PRAGMA busy_timeout={milliseconds}")
        cursor.close()
    return on_connect


def _sqlite_begin(connection: Connection) -> None:
    """BEGIN for readers; BEGIN IMMEDIATE (the write lock, waited for up to busy_timeout) for writers;
    nothing on an autocommit connection (gateway.store.reader)."""
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("smartbcc_writer", False) else "BEGIN")


def normalize_url(url: str) -> str:
    """Accept the usual spellings (postgresql://, postgres://, sqlite://) and pick the async driver."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(f"database URL {url!r} is not a URL like postgresql://user@host/dbname") from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(f"database URL {url!r}: only SQLite and PostgreSQL are supported")
    return parsed.render_as_string(hide_password=False)


def sqlite_file(settings: Settings) -> Path | None:
    """The file of an SQLite database (absolute); None for PostgreSQL or an in-memory database."""
    url = make_url(normalize_url(settings.effective_database_url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).absolute()


def make_engine(settings: Settings) -> AsyncEngine:
    url = normalize_url(settings.effective_database_url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, module=sqlite_driver.DBAPI, connect_args={"timeout": 5})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(settings.lock_timeout))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=settings.database_pool_size,
                               max_overflow=settings.database_pool_size, pool_recycle=3600)


def make_sync_sqlite_engine(settings: Settings) -> Engine:
    """The embedded database through the stdlib's sqlite3, for the writer's thread (gateway.store.writer):
    the same file and the same connection settings as :func:`make_engine`."""
    url = make_url(normalize_url(settings.effective_database_url)).set(drivername="sqlite")
    engine = create_engine(url, connect_args={"timeout": 5, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas(settings.lock_timeout))
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
