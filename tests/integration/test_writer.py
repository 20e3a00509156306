"""Write transactions (gateway.store.writer): committed when the function returns, rolled back when it
raises; on SQLite in the writer's own thread, on a connection set up like every other."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gateway.store.database import Database
from gateway.store.models import Company
from tests.support.gwtest import seed


def _add(name: str):
    def work(session: Session) -> tuple[int, str]:
        company = Company(name=name, domain=f"{name}.example", slug=name)
        session.add(company)
        session.flush()
        return company.id, threading.current_thread().name
    return work


async def _companies(db: Database) -> list[str]:
    async with db.sessions() as session:
        return list((await session.scalars(select(Company.slug).order_by(Company.id))).all())


def test_a_transaction_commits_when_the_work_returns_and_rolls_back_when_it_raises(settings) -> None:
    seed(settings)

    async def work() -> None:
        db = await Database.open(settings)
        try:
            company_id, thread = await db.writer.run(_add("initech"))
            assert company_id > 0 and "initech" in await _companies(db)
            if db.engine.dialect.name == "sqlite":
                assert thread.startswith("smartbcc-writer")
            else:
                assert thread == threading.current_thread().name      # the event loop's, through run_sync

            def fails(session: Session) -> None:
                _add("hooli")(session)
                raise LookupError("the work's own error")
            with pytest.raises(LookupError, match="the work's own error"):
                await db.writer.run(fails)
            assert "hooli" not in await _companies(db)
        finally:
            await db.close()
    asyncio.run(work())


def test_the_writers_connection_is_set_up_like_every_other(settings) -> None:
    seed(settings)

    def pragmas(session: Session) -> dict[str, object]:
        if session.bind.dialect.name != "sqlite":
            return {"lock_timeout": session.execute(text("SHOW lock_timeout")).scalar()}
        return {name: session.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}

    async def work() -> dict[str, object]:
        db = await Database.open(settings.replace(lock_timeout=2.5))
        try:
            return await db.writer.run(pragmas)
        finally:
            await db.close()
    found = asyncio.run(work())
    if "journal_mode" in found:
        assert found == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 2500}
    else:
        assert found == {"lock_timeout": "2500ms"}


def test_transactions_from_many_tasks_are_each_committed_once(settings) -> None:
    seed(settings)

    async def work() -> int:
        db = await Database.open(settings)
        try:
            await asyncio.gather(*(db.writer.run(_add(f"c{n}")) for n in range(20)))
            async with db.sessions() as session:
                return (await session.scalar(select(func.count()).select_from(Company).where(
                    Company.slug.like("c%")))) or 0
        finally:
            await db.close()
    assert asyncio.run(work()) == 20


def test_a_long_wal_is_copied_into_the_database_file_beside_the_writer(sqlite_settings) -> None:
    """A commit that leaves the WAL longer than CHECKPOINT_AT starts a checkpoint in another thread;
    the writer's own connection would only checkpoint far later (64 MiB)."""
    from gateway.store import writer as writer_module
    from gateway.store.database import initialize
    asyncio.run(initialize(sqlite_settings))
    path = sqlite_settings.data_dir / "smartbcc.db"

    def big(session: Session) -> int:
        session.execute(text("CREATE TABLE IF NOT EXISTS ballast (data BLOB)"))
        session.execute(text("INSERT INTO ballast VALUES (randomblob(:n))"), {"n": writer_module.CHECKPOINT_AT * 2})
        return session.execute(text("PRAGMA wal_autocheckpoint")).scalar()

    async def work() -> tuple[int, int]:
        db = await Database.open(sqlite_settings)
        try:
            before = path.stat().st_size
            pages = await db.writer.run(big)
            for _ in range(100):                     # the checkpoint runs beside, not in the commit
                if path.stat().st_size >= before + writer_module.CHECKPOINT_AT * 2:
                    break
                await asyncio.sleep(0.05)
            return pages, path.stat().st_size - before
        finally:
            await db.close()
    pages, grown = asyncio.run(work())
    assert pages == 16384
    assert grown >= 8 * 1024 * 1024


def test_checkpoints_start_at_most_once_per_interval_once_the_wal_file_is_long(tmp_path, monkeypatch) -> None:
    """A WAL file keeps its length when SQLite writes it again from the top: its length alone would start
    a checkpoint after every commit. Within CHECKPOINT_EVERY of one, a commit starts none."""
    import sqlite3
    import time

    from gateway.store import writer as writer_module
    path = tmp_path / "wal.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE ballast (data BLOB)")
    connection.execute("INSERT INTO ballast VALUES (randomblob(?))", (writer_module.CHECKPOINT_AT * 2,))
    checkpoints = writer_module.Checkpoints(str(path))

    def settled() -> int:
        for _ in range(200):
            if not checkpoints._busy.is_set():
                break
            time.sleep(0.01)
        return checkpoints.count

    try:
        monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 3600.0)
        checkpoints.after_commit()
        assert settled() == 1
        connection.execute("INSERT INTO ballast VALUES (randomblob(100000))")
        for _ in range(5):
            checkpoints.after_commit()
        assert settled() == 1
        monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 0.0)
        checkpoints.after_commit()
        assert settled() == 2
    finally:
        checkpoints.close()
        connection.close()
