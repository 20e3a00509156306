"""The schema: migrations create exactly the models, `init` is idempotent, SQLite runs in WAL mode, and
the suite's template copies (tests/conftest.py) are exactly what the migrations make."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import migrate
from gateway.store.database import Database, initialize
from gateway.store.engine import make_engine
from gateway.store.models import Base

pytestmark = pytest.mark.migrations     # these tests are about the migrations themselves: no template copy

def test_migrations_match_the_models(settings):
    async def main():
        await initialize(settings)
        engine = make_engine(settings)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
        finally:
            await engine.dispose()
    assert asyncio.run(main()) == []


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


_SQLITE_SCHEMA = [
    "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
    "PRAGMA journal_mode", "PRAGMA page_size", "PRAGMA auto_vacuum", "PRAGMA encoding", "PRAGMA user_version",
    "PRAGMA application_id",
]
_POSTGRES_SCHEMA = [
    """SELECT c.relname, c.relkind, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid), a.attstorage, a.attcompression, a.attidentity
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
       WHERE n.nspname = 'public' ORDER BY c.relname, a.attnum""",
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
    """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
       WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""",
    """SELECT sequencename, data_type::text, start_value, increment_by, last_value FROM pg_sequences
       WHERE schemaname = 'public' ORDER BY 1""",
    "SELECT typname, typtype FROM pg_type WHERE typnamespace = 'public'::regnamespace ORDER BY 1",
    "SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1",
    "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2",
    "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = current_database()",
]


async def _schema(connection: AsyncConnection) -> list[list[tuple]]:
    queries = _SQLITE_SCHEMA if connection.dialect.name == "sqlite" else _POSTGRES_SCHEMA
    described = [[tuple(row) for row in await connection.exec_driver_sql(query)] for query in queries]
    described.append([tuple(row) for row in await connection.exec_driver_sql(
        "SELECT version_num FROM alembic_version")])
    described.append([tuple(row) for row in await connection.exec_driver_sql(
        "SELECT key FROM deployment_settings ORDER BY key")])
    return described


def test_a_template_copy_is_exactly_what_the_migrations_make(settings, other_settings, migration_templates):
    """``settings`` is initialized from the session's template, ``other_settings`` by the migrations."""
    copies = migration_templates.copies
    with migration_templates.disabled():
        assert asyncio.run(initialize(other_settings)) == (None, migrate.head_revision())
    assert migration_templates.copies == copies
    migration_templates.enabled = True
    try:
        assert asyncio.run(initialize(settings)) == (None, migrate.head_revision())
    finally:
        migration_templates.enabled = False
    assert migration_templates.copies == copies + 1

    async def describe(which):
        db = await Database.open(which)
        try:
            async with db.engine.connect() as connection:
                return await _schema(connection), db.key
        finally:
            await db.close()
    copied, copied_key = asyncio.run(describe(settings))
    migrated, migrated_key = asyncio.run(describe(other_settings))
    assert copied == migrated and len(copied[0]) > 10
    assert copied_key != migrated_key and len(copied_key) == 32     # each copy has an address key of its own
    # a second init of the copy is the usual no-op
    assert asyncio.run(initialize(settings)) == (migrate.head_revision(), migrate.head_revision())
