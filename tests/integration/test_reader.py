"""The SMTP dialogue's lookup connection (gateway.store.reader): fresh reads, no transaction, recovery."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from gwtest import seed
from gateway.store.database import Database
from gateway.store.lookup import company_of_slug, sender_identities
from gateway.store.models import Company, utcnow


async def _open(settings) -> Database:
    return await Database.open(settings)


def test_each_question_sees_what_was_committed_since(settings) -> None:
    seed(settings)

    async def work() -> None:
        db = await _open(settings)
        try:
            async with db.reader.connection() as reads:
                assert (await company_of_slug(reads, "initech", utcnow()))[0] is None
            async with db.sessions() as session, session.begin():     # another writer, meanwhile
                session.add(Company(name="Initech", domain="initech.example", slug="initech"))
            async with db.reader.connection() as reads:
                company, former = await company_of_slug(reads, "initech", utcnow())
            assert company is not None and company.slug == "initech" and not former
            # between questions it holds no transaction open: nothing keeps a snapshot from the writers
            if db.engine.dialect.name == "postgresql":
                async with db.reader.connection() as reads:
                    pid = (await reads.execute(text("SELECT pg_backend_pid()"))).scalar()
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
            first = db.reader._connection
            with pytest.raises(RuntimeError):
                async with db.reader.connection() as reads:
                    await reads.execute(select(func.count()).select_from(Company))
                    raise RuntimeError("the question's caller failed")
            assert db.reader._connection is None
            identities = await sender_identities(db, 1, ["ada@acme.example"])
            assert identities["ada@acme.example"].user_id == 1
            assert db.reader._connection is not None and db.reader._connection is not first
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
            async with db.reader.connection() as reads:
                pid = (await reads.execute(text("SELECT pg_backend_pid()"))).scalar()
            async with db.engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(Exception):
                await sender_identities(db, 1, ["ada@acme.example"])
            assert (await sender_identities(db, 1, ["ada@acme.example"]))["ada@acme.example"].via == "login"
        finally:
            await db.close()
    asyncio.run(work())
