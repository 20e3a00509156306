"""A fresh, empty database for each smartbcc run: an SQLite file in the work folder by default, or a new
database on the PostgreSQL server of ``--database-url`` (created for the run, dropped after it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.config import Settings, load_settings

MAIL_DOMAIN = "bcc.bench.example"


@dataclass(frozen=True)
class BenchDatabase:
    settings: Settings
    postgres_admin_url: str = ""      # where to drop it from; empty for SQLite
    name: str = ""

    @property
    def label(self) -> str:
        return f"PostgreSQL database {self.name}" if self.name else f"SQLite {self.settings.effective_database_url}"


def _settings(data_dir: Path, database_url: str, log_level: str) -> Settings:
    return load_settings(overrides={"data_dir": str(data_dir), "database_url": database_url,
                                    "mail_domain": MAIL_DOMAIN, "log_level": log_level}, environ={})


async def _admin(url: str, sql: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=10)
    try:
        return str(await connection.fetchval(sql) or "")
    finally:
        await connection.close()


async def fresh(base_url: str, work: Path, label: str, log_level: str = "INFO") -> BenchDatabase:
    if not base_url or make_url(base_url).get_backend_name() == "sqlite":
        if base_url:
            raise SystemExit("--database-url: give a PostgreSQL server; SQLite files are made in a temp folder")
        return BenchDatabase(_settings(work / label, "", log_level))
    name = f"smartbcc_bench_{label}_{uuid.uuid4().hex[:8]}"
    await _admin(base_url, f'CREATE DATABASE "{name}"')
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    return BenchDatabase(_settings(work / label, url, log_level), base_url, name)


async def drop(database: BenchDatabase) -> None:
    if database.name:
        await _admin(database.postgres_admin_url, f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


async def server_version(base_url: str) -> str:
    if not base_url:
        return ""
    return await _admin(base_url, "SHOW server_version")
