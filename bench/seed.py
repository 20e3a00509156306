"""A realistic database for the benchmark: one company, its users, organizations, contacts and open deals.

Every row is made by a formula, so the load generator knows which addresses are seeded without asking
the database: contact ``i`` (id ``i + 1``) is ``c<i>@org<i % orgs>.example``, of organization ``i % orgs`` (id ``+ 1``).
The big tables go in with bulk INSERTs in one transaction: on SQLite through the stdlib driver's
``executemany`` (the file is new), elsewhere through SQLAlchemy Core ``executemany`` in batches of
:data:`BATCH` rows. The ids are given, so the seeding runs on an empty database only.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser
from typing import Callable

from sqlalchemy import func, insert, select, text

from gateway.config import Settings
from gateway.store.database import Database, initialize
from gateway.store.engine import make_engine
from gateway.store.models import Base, Company, Message, User, utcnow

BATCH = 20_000
COMPANY_DOMAIN = "acme.example"
COMPANY_SLUG = "acme"
CONTACTS_PER_ORG = 10


@dataclass(frozen=True)
class Population:
    """The shape of the seeded CRM; the load generator builds its addresses from it."""

    users: int = 50
    contacts: int = 100_000
    deals: int = 20_000

    @property
    def orgs(self) -> int:
        return max(1, self.contacts // CONTACTS_PER_ORG)

    def user_email(self, index: int) -> str:
        return f"user{index}@{COMPANY_DOMAIN}"

    def contact_email(self, index: int) -> str:
        return f"c{index}@org{index % self.orgs}.example"


@dataclass(frozen=True)
class Seeded:
    population: Population
    seconds: float
    company_address: str


Row = tuple


def _bulk_rows(population: Population, company_id: int, user_ids: list[int], now: object,
               rng: random.Random) -> list[tuple[str, tuple[str, ...], int, Callable[[int], Row]]]:
    """(table, columns, row count, row maker) for the three big tables, in insertion order."""
    users = len(user_ids)
    owners = [rng.randrange(population.contacts) for _ in range(population.deals)]
    common = ("company_id", "token_version", "created_at", "owner_user_id")
    return _with_defaults([
        ("organizations", (*common, "id", "name", "domain"), population.orgs, lambda j: (
            company_id, 1, now, user_ids[j % users], j + 1, f"Customer Org {j}", f"org{j}.example")),
        ("persons", (*common, "id", "email", "name", "org_id"), population.contacts, lambda i: (
            company_id, 1, now, user_ids[i % users], i + 1, population.contact_email(i), f"Contact {i}",
            i % population.orgs + 1)),
        ("deals", (*common, "title", "status", "person_id", "org_id"), population.deals, lambda d: (
            company_id, 1, now, user_ids[d % users], f"Deal {d}", "open", owners[d] + 1,
            owners[d] % population.orgs + 1)),
    ])


def _with_defaults(tables: list) -> list:  # type: ignore[type-arg]
    """Add the model's scalar defaults for NOT NULL columns the makers leave out (the schema grows)."""
    out = []
    for table, columns, count, make in tables:
        extra = {}
        for column in Base.metadata.tables[table].columns:
            if column.name in columns or column.nullable or column.primary_key or column.server_default:
                continue
            if column.default is None or not column.default.is_scalar:
                raise RuntimeError(f"bench/seed.py does not know what to put in {table}.{column.name}")
            extra[column.name] = column.default.arg
        if extra:
            values = tuple(extra.values())
            out.append((table, (*columns, *extra), count, lambda i, make=make: (*make(i), *values)))
        else:
            out.append((table, columns, count, make))
    return out


def _sqlite_fast_path(path: str, tables: list) -> None:  # type: ignore[type-arg]
    """The stdlib driver, one transaction, no fsync until the end: the file is new and ours."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")   # 256 MiB: the unique index on e-mail stays in memory
        connection.execute("BEGIN")
        for table, columns, count, make in tables:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            connection.executemany(sql, (make(i) for i in range(count)))
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


async def _core_path(connection, tables: list) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Any backend: SQLAlchemy Core executemany in batches of BATCH rows."""
    for table, columns, count, make in tables:
        statement = insert(Base.metadata.tables[table])
        for start in range(0, count, BATCH):
            rows = [dict(zip(columns, make(i))) for i in range(start, min(count, start + BATCH))]
            await connection.execute(statement, rows)


async def _seed(settings: Settings, population: Population, rng: random.Random) -> None:
    engine = make_engine(settings)
    now = utcnow()
    try:
        async with engine.begin() as connection:
            if await connection.scalar(select(func.count()).select_from(Company)):
                raise RuntimeError("the benchmark seeds an empty database only")
            company_id = await connection.scalar(insert(Company).values(
                name="Acme Corp", domain=COMPANY_DOMAIN, slug=COMPANY_SLUG, crm_mode="simple",
                created_at=now).returning(Company.id))
            await connection.execute(insert(User), [dict(
                company_id=company_id, email=population.user_email(i), name=f"Sales Person {i}",
                active=True, auto_link=True, default_visibility="private", created_at=now)
                for i in range(population.users)])
            user_ids = list((await connection.scalars(
                select(User.id).where(User.company_id == company_id).order_by(User.id))).all())
            if connection.dialect.name != "sqlite":
                await _core_path(connection, _bulk_rows(population, company_id, user_ids, now, rng))
        if engine.dialect.name == "sqlite":
            stamp = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")   # SQLAlchemy's format
            await asyncio.to_thread(_sqlite_fast_path, engine.url.database,
                                    _bulk_rows(population, company_id, user_ids, stamp, rng))
        else:
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                for table in ("organizations", "persons"):    # their ids were given: move the sequences on
                    await connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                                  f"(SELECT max(id) FROM {table}))"))
                await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


async def seed(settings: Settings, population: Population, seed_value: int = 7) -> Seeded:
    """Create the schema on an empty database and fill it; returns how long the filling took."""
    await initialize(settings)
    started = time.perf_counter()
    await _seed(settings, population, random.Random(seed_value))
    seconds = time.perf_counter() - started
    db = await Database.open(settings)
    try:
        return Seeded(population, seconds, db.company_address(COMPANY_SLUG))
    finally:
        await db.close()


async def stored_message_ids(settings: Settings) -> tuple[list[str], list[str]]:
    """Message-IDs the gateway kept: (filed messages, quarantined ones), for the durability check."""
    engine = make_engine(settings)
    quarantine = Base.metadata.tables.get("quarantine")
    try:
        async with engine.connect() as connection:
            filed = list((await connection.scalars(select(Message.message_id))).all())
            heads = [] if quarantine is None else (await connection.scalars(
                select(func.substr(quarantine.c.raw, 1, 65536)))).all()
    finally:
        await engine.dispose()
    parser = BytesHeaderParser(policy=policy.compat32)
    return filed, [str(parser.parsebytes(bytes(head)).get("Message-ID", "")).strip() for head in heads]


if __name__ == "__main__":   # python -m bench.seed DATA_DIR CONTACTS: time a seeding on its own
    import sys
    from pathlib import Path

    target = Settings(data_dir=Path(sys.argv[1]), mail_domain="bcc.bench.example")
    contacts = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    done = asyncio.run(seed(target, Population(contacts=contacts, deals=contacts // 5)))
    print(f"seeded {contacts:,} contacts in {done.seconds:.1f} s; company address {done.company_address}")
