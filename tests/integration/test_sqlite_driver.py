"""The SQLite driver (gateway.store.sqlite_driver): one trip per statement, the DB-API's answers intact."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import load_settings
from gateway.store import sqlite_driver
from gateway.store.engine import make_engine


@pytest.fixture
def engine(tmp_path: Path) -> AsyncEngine:
    settings = load_settings(overrides={"data_dir": str(tmp_path), "mail_domain": "bcc.example.net"}, environ={})
    return make_engine(settings)      # each test disposes of it on its own event loop


async def test_the_embedded_engine_uses_the_one_trip_driver(engine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, sqlite_driver.OneTripConnection)
        assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    await engine.dispose()


async def test_rows_counts_ids_and_many(engine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        inserted = await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), {"name": "a"})
        assert inserted.lastrowid == 1 and inserted.rowcount == 1
        many = await connection.execute(text("INSERT INTO t (name) VALUES (:name)"),
                                        [{"name": n} for n in "bcdef"])
        assert many.rowcount == 5
        updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 3"))
        assert updated.rowcount == 3
        rows = (await connection.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c"), (4, "d!"), (5, "e!"), (6, "f!")]
        result = await connection.execute(text("SELECT name AS label FROM t WHERE id = 1"))
        assert list(result.keys()) == ["label"] and result.scalar_one() == "a"
        empty = await connection.execute(text("SELECT id FROM t WHERE id < 0"))
        assert empty.all() == []
    await engine.dispose()


async def test_errors_keep_their_class_and_the_connection_recovers(engine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE u (name TEXT UNIQUE)"))
        await connection.execute(text("INSERT INTO u VALUES ('x')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO u VALUES ('x')"))
    with pytest.raises(OperationalError):
        async with engine.connect() as connection:
            await connection.execute(text("SELECT nothing FROM nowhere"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM u"))).scalar() == 1
    await engine.dispose()


async def test_each_statement_is_one_trip_to_the_connection_thread(engine) -> None:
    """The whole statement (execute, fetch, close) runs in aiosqlite's thread, in one call."""
    calls: list[str] = []
    original = sqlite_driver._run

    def counting(connection, operation, parameters, many):  # type: ignore[no-untyped-def]
        calls.append(threading.current_thread().name)
        return original(connection, operation, parameters, many)

    sqlite_driver._run = counting
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 0"))      # after BEGIN, which is a statement too
            calls.clear()
            assert (await connection.execute(text("SELECT 1 UNION ALL SELECT 2"))).all() == [(1,), (2,)]
    finally:
        sqlite_driver._run = original
        await engine.dispose()
    assert len(calls) == 1 and calls[0] != threading.main_thread().name
