"""Create or upgrade the schema (Alembic), and the values a deployment keeps in its database.

Checking that a database is current (every command does, on opening it) imports no Alembic: the newest
revision is read off the migration files and the database's from Alembic's own table.
"""

from __future__ import annotations

import ast
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.models import DeploymentSetting

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# `revision: str = '0002'` and `down_revision: Union[...] = '0001'` (or None, or a tuple for a merge)
_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)
ADDRESS_KEY = "address_key"
_PG_LOCK = 7_230_411   # advisory lock id: one `smartbcc init` at a time on a shared PostgreSQL


class SchemaNotReady(RuntimeError):
    """The database has no schema, or an older one: `smartbcc init` fixes it."""


class NoDatabase(SchemaNotReady):
    """The SQLite database's file does not exist: only `smartbcc init` makes one."""


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@lru_cache(maxsize=1)
def _revisions() -> tuple[frozenset[str], frozenset[str]]:
    """(every revision of the migration files, those another revises), read off the files without Alembic."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((name, ast.literal_eval(value))
                     for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        revisions.add(found["revision"])
        down = found.get("down_revision")
        revised.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions), frozenset(revised)


def head_revision() -> str | None:
    """The newest revision the installed code knows (read once per process): the one revision of the
    migration files that no other revises; the same as Alembic's head (tests/integration/test_schema.py)."""
    revisions, revised = _revisions()
    heads = revisions - revised
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads ({', '.join(sorted(heads))}): merge them")
    return next(iter(heads)) if heads else None


def _upgrade(connection: Connection) -> None:
    from alembic import command

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current(connection: Connection) -> str | None:
    """The database's revision, from Alembic's table (None: no schema yet)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return versions[0] if len(versions) == 1 else None


current_revision = _current      # for run_sync callers outside this module (doctor, restore)


def is_known(revision: str) -> bool:
    """Whether ``revision`` is one of this code's migrations (else a newer smartbcc wrote the database)."""
    return revision in _revisions()[0]


async def upgrade(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision; returns (revision before, revision after)."""
    async with engine.connect() as connection:
        before = await connection.run_sync(_current)
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
    await _ensure_address_key(engine)
    return before, head_revision()


async def check_ready(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    head = head_revision()
    if current != head:
        state = "has no schema yet" if current is None else f"is at revision {current}, not {head}"
        raise SchemaNotReady(f"the database {state}: run `smartbcc init` first")


async def _ensure_address_key(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        existing = await connection.scalar(
            select(DeploymentSetting.value).where(DeploymentSetting.key == ADDRESS_KEY))
        if existing:
            return
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(DeploymentSetting).values(
                key=ADDRESS_KEY, value=secrets.token_hex(32)))
    except IntegrityError:
        pass   # another process made it first; both use that one


async def address_key(engine: AsyncEngine) -> bytes:
    async with engine.connect() as connection:
        value = await connection.scalar(
            select(DeploymentSetting.value).where(DeploymentSetting.key == ADDRESS_KEY))
    if not value:
        raise SchemaNotReady("the database has no address key yet: run `smartbcc init` first")
    return bytes.fromhex(value)
