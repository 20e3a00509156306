"""The suite's template databases (tests/conftest.py): the first `init` of a test's empty database copies
a template migrated once per test process, and the copy is exactly what the migrations make."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import migrate
from gateway.store.database import Database, initialize

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
    """``settings`` is initialized from the process's template, ``other_settings`` by the migrations."""
    copies = migration_templates.copies
    with migration_templates.disabled():
        assert asyncio.run(initialize(other_settings)) == (None, migrate.head_revision())
    assert migration_templates.copies == copies
    assert asyncio.run(initialize(settings)) == (None, migrate.head_revision())
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


def test_each_copy_has_an_address_key_of_its_own(settings, other_settings, migration_templates):
    copies = migration_templates.copies
    for which in (settings, other_settings):
        assert asyncio.run(initialize(which)) == (None, migrate.head_revision())
    assert migration_templates.copies == copies + 2

    async def key(which):
        db = await Database.open(which)
        try:
            return db.key
        finally:
            await db.close()
    first, second = asyncio.run(key(settings)), asyncio.run(key(other_settings))
    assert first != second and len(first) == len(second) == 32
