"""One handle on the database for a process: engine, session factory, and the address key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.mail.address import normalize_domain
from gateway.config import Settings
from gateway.routing.bcc_address import company_address, record_address, record_token
from gateway.store import migrate
from gateway.store.engine import WRITER, make_engine, make_sessionmaker, sqlite_file
from gateway.store.lookup_cache import LookupCache
from gateway.store.reader import Reader
from gateway.store.writer import Writer


@dataclass
class Database:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    key: bytes
    mail_domain: str
    reader: Reader = field(init=False)      # the SMTP dialogue's lookups (gateway.store.lookup)
    writer: Writer = field(init=False)      # filing's transactions (gateway.store.filing)
    # what the SMTP dialogue's lookups and filing's reads keep between messages (gateway.store.lookup_cache)
    lookups: LookupCache = field(init=False, default_factory=LookupCache)
    filing_lookups: LookupCache = field(init=False, default_factory=LookupCache)

    def __post_init__(self) -> None:
        self.reader = Reader(self.settings, self.engine)
        self.writer = Writer(self.settings, self.engine)

    @classmethod
    async def open(cls, settings: Settings) -> "Database":
        """Open a database whose schema is current (else SchemaNotReady says to run `smartbcc init`).
        An SQLite file that does not exist is not made (NoDatabase): only :func:`initialize` makes one,
        so that a command run with the wrong data folder leaves no empty database behind."""
        missing = missing_database(settings)
        if missing is not None:
            raise migrate.NoDatabase(missing)
        engine = make_engine(settings)
        try:
            await migrate.check_ready(engine)
            key = await migrate.address_key(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(settings, engine, make_sessionmaker(engine), key, normalize_domain(settings.mail_domain))

    async def close(self) -> None:
        await self.reader.close()
        await self.writer.close()
        await self.engine.dispose()

    def writing(self) -> AsyncSession:
        """A session whose transactions take the write lock when they begin (SQLite: BEGIN IMMEDIATE,
        waited for up to lock_timeout), for one that reads and then writes while other writers commit: a
        deferred BEGIN would fail at once ("database is locked") if one committed between its read and its
        write."""
        return AsyncSession(self.engine.execution_options(**WRITER), expire_on_commit=False)

    def company_address(self, slug: str) -> str:
        return company_address(slug, self.mail_domain)

    def record_token(self, company_id: int, kind: str, record_id: int, version: int) -> str:
        return record_token(self.key, company_id, kind, record_id, version)

    def record_address(self, slug: str, company_id: int, kind: str, record_id: int, version: int) -> str:
        token = self.record_token(company_id, kind, record_id, version)
        return record_address(slug, kind, record_id, token, self.mail_domain)


def missing_database(settings: Settings) -> str | None:
    """What to tell when the SQLite database's file does not exist (None: it does, or it is PostgreSQL)."""
    path = sqlite_file(settings)
    if path is None or path.exists():
        return None
    if not settings.is_embedded:
        return f"no database at {path}: run `smartbcc init` first (or check --database-url / SMARTBCC_DATABASE_URL)"
    told = f"no database at {path}: run `smartbcc init` first (or pass --data-dir DIR / SMARTBCC_DATA_DIR)"
    if Path("data", path.name).exists() and path.parent != Path("data").absolute():
        told += "; ./data holds one (the default folder of earlier versions): pass --data-dir data to use it"
    return told


async def initialize(settings: Settings) -> tuple[str | None, str | None]:
    """Create or upgrade the schema; returns (revision before, revision after). Idempotent."""
    engine = make_engine(settings)
    try:
        return await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def rows_matched(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through a session matched. A session runs such a statement into
    a CursorResult, which its typing declares only as a Result."""
    return cast(CursorResult[Any], result).rowcount
