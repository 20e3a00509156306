"""Shared fixtures: a fresh gateway data folder and database for each test, on SQLite or PostgreSQL.

The ``backend`` fixture is parametrized: tests that take ``settings`` run once on an SQLite file in a
temporary folder and once on a fresh database of the PostgreSQL server named by
SMARTBCC_TEST_POSTGRES_URL (default: postgresql://postgres@127.0.0.1:5432/test). Where no server
answers there, the PostgreSQL run is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from gateway.config import Settings, load_settings

POSTGRES_URL = os.environ.get("SMARTBCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


_pg_state: dict[str, str] = {}


def _postgres_unreachable() -> str:
    if "reason" not in _pg_state:
        try:
            asyncio.run(_pg_admin("SELECT 1"))
            _pg_state["reason"] = ""
        except ImportError:
            _pg_state["reason"] = "asyncpg is not installed (pip install '.[postgres]')"
        except Exception as error:  # noqa: BLE001 - any failure to connect means: skip, and say why
            _pg_state["reason"] = f"no PostgreSQL server at {POSTGRES_URL}: {error}"
    return _pg_state["reason"]


def postgres_database_url() -> tuple[str, str]:
    """Create a fresh database on the test server; returns (its URL, its name)."""
    name = f"smartbcc_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def drop_postgres_database(name: str) -> None:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings for one test: a data folder of its own, and its own database."""
    for key in list(os.environ):
        if key.startswith("SMARTBCC_") and not key.startswith("SMARTBCC_TEST_"):
            monkeypatch.delenv(key)
    data_dir = tmp_path / "data"
    database_url = ""
    name = ""
    if backend == "postgres":
        reason = _postgres_unreachable()
        if reason:
            pytest.skip(reason)
        database_url, name = postgres_database_url()
    yield load_settings(overrides={
        "data_dir": str(data_dir), "database_url": database_url,
        "mail_domain": "bcc.example.net", "port": 0,
    }, environ={})
    if name:
        drop_postgres_database(name)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """SQLite only, for tests about the embedded default itself."""
    return load_settings(overrides={"data_dir": str(tmp_path / "data"), "mail_domain": "bcc.example.net",
                                    "port": 0}, environ={})
