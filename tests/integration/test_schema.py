"""The schema: migrations create exactly the models, `init` is idempotent, SQLite runs in WAL mode."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from gateway.store import migrate
from gateway.store.database import Database, initialize
from gateway.store.engine import make_engine
from gateway.store.models import Base, managed_by_orm


def _managed(name, kind, _parent):  # the full-text index is made by the migration alone (no model)
    return kind != "table" or managed_by_orm(name)

pytestmark = pytest.mark.migrations     # these tests are about the migrations themselves: no template copy


def test_migrations_match_the_models(settings):
    async def main():
        await initialize(settings)
        engine = make_engine(settings)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"include_name": _managed}),
                                                 Base.metadata))
        finally:
            await engine.dispose()
    assert asyncio.run(main()) == []


def test_the_head_read_off_the_migration_files_is_alembics():
    """Opening a database compares its revision with head_revision(), which reads the files without
    Alembic: it must name the revision Alembic upgrades to (and the database stores)."""
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert head is not None and migrate.head_revision() == head


def test_init_is_idempotent_and_keeps_the_address_key(settings):
    assert asyncio.run(initialize(settings)) == (None, migrate.head_revision())

    async def key():
        db = await Database.open(settings)
        try:
            return db.key
        finally:
            await db.close()
    first = asyncio.run(key())
    assert asyncio.run(initialize(settings)) == (migrate.head_revision(), migrate.head_revision())
    assert asyncio.run(key()) == first and len(first) == 32


def test_open_before_init_says_what_to_do(settings):
    with pytest.raises(migrate.SchemaNotReady, match="smartbcc init"):
        asyncio.run(Database.open(settings))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_settings):
    async def main():
        await initialize(sqlite_settings)
        db = await Database.open(sqlite_settings)
        try:
            async with db.engine.connect() as connection:
                return ((await connection.execute(text("PRAGMA journal_mode"))).scalar(),
                        (await connection.execute(text("PRAGMA foreign_keys"))).scalar(),
                        (await connection.execute(text("PRAGMA synchronous"))).scalar())
        finally:
            await db.close()
    assert asyncio.run(main()) == ("wal", 1, 2)
    assert (sqlite_settings.data_dir / "smartbcc.db").exists()
