"""The SMTP dialogue's lookup connection (gateway.store.reader): fresh reads, no transaction, recovery."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from gateway.store.database import Database
from gateway.store.lookup import company_of_slug, sender_identities
from gateway.store.models import Company, utcnow
from tests.support.gwtest import seed


async def _open(settings) -> Database:
    return await Database.open(settings)


def test_each_question_sees_what_was_committed_since(settings) -> None:
    seed(settings)

    async def work() -> None:
        db = await _open(settings)
        try:
            assert (await db.reader.run(lambda reads: company_of_slug(reads, "initech", utcnow())))[0] is None
            async with db.sessions() as session, session.begin():     # another writer, meanwhile
                session.add(Company(name="Initech", domain="initech.example", slug="initech"))
            company, former = await db.reader.run(lambda reads: company_of_slug(reads, "initech", utcnow()))
            assert company is not None and company.slug == "initech" and not former
            # between questions it holds no transaction open: nothing keeps a snapshot from the writers
            if db.engine.dialect.name == "postgresql":
                pid = await db.reader.run(lambda reads: reads.execute(text("SELECT pg_backend_pid()")).scalar())
                async with db.engine.connect() as other:
                    state = (await other.execute(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"),
                                                 {"pid": pid})).scalar()
                assert state == "idle"
            else:
                async with db.engine.connect() as other:
                    busy, frames, done = (await other.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()
                assert busy == 0 and frames == done
        finally:
            await db.close()
    asyncio.run(work())


def test_a_failed_question_drops_the_connection_and_the_next_opens_another(settings) -> None:
    seed(settings)

    async def work() -> None:
        db = await _open(settings)
        try:
            identities = await sender_identities(db, 1, ["ada@acme.example"])
            assert identities["ada@acme.example"].via == "login"
            held = "_sync" if db.reader.inline else "_connection"
            first = getattr(db.reader, held)
            assert first is not None

            def failing(reads) -> None:
                reads.execute(select(func.count()).select_from(Company))
                raise RuntimeError("the question failed")
            with pytest.raises(RuntimeError):
                await db.reader.run(failing)
            assert getattr(db.reader, held) is None
            identities = await sender_identities(db, 1, ["ada@acme.example"])
            assert identities["ada@acme.example"].user_id == 1
            assert getattr(db.reader, held) is not None and getattr(db.reader, held) is not first
        finally:
            await db.close()
    asyncio.run(work())


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_after_the_database_server_drops_it_one_question_fails_and_the_next_works(settings) -> None:
    seed(settings)

    async def work() -> None:
        db = await _open(settings)
        try:
            assert await sender_identities(db, 1, ["ada@acme.example"])
            pid = await db.reader.run(lambda reads: reads.execute(text("SELECT pg_backend_pid()")).scalar())
            async with db.engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(Exception):
                await sender_identities(db, 1, ["ada@acme.example"])
            assert (await sender_identities(db, 1, ["ada@acme.example"]))["ada@acme.example"].via == "login"
        finally:
            await db.close()
    asyncio.run(work())


def test_on_sqlite_a_question_runs_in_the_callers_thread_and_waits_briefly_for_a_lock(sqlite_settings) -> None:
    """No driver thread: the question runs where it is asked, on a connection that gives up on a lock
    after SQLITE_BUSY_MS (a read only meets one when something holds the whole file: then a 451)."""
    import threading

    from gateway.store.database import initialize
    from gateway.store.reader import SQLITE_BUSY_MS
    asyncio.run(initialize(sqlite_settings))

    async def work() -> tuple[str, int, int]:
        db = await _open(sqlite_settings)
        try:
            def question(reads) -> tuple[str, int, int]:
                busy = reads.exec_driver_sql("PRAGMA busy_timeout").scalar()
                return threading.current_thread().name, busy, reads.execute(
                    select(func.count()).select_from(Company)).scalar()
            return await db.reader.run(question)
        finally:
            await db.close()
    thread, busy, companies = asyncio.run(work())
    assert thread == threading.current_thread().name
    assert busy == SQLITE_BUSY_MS and companies == 0
