"""Helpers for tests that run the real gateway: a server on a loopback port, seeded data, DB reads."""

from __future__ import annotations

import asyncio
import datetime
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import pytest
from sqlalchemy import func, select

from gateway.config import Settings
from gateway.server import RunningGateway, start
from gateway.store import raw as stored_raw
from gateway.store.database import Database, initialize
from gateway.store.models import (
    AlternateAddress, Company, Deal, Lead, Link, Message, Organization, Person, Project, User,
)

T = TypeVar("T")

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
"""Runs a test that takes ``settings`` (or the ``gateway`` fixture) on SQLite alone: for tests where the
backend does not matter (the ``backend`` fixture is replaced by this one value)."""


class ThreadedGateway:
    """The real server (gateway.server.start) on its own event loop in a thread, for sync clients;
    ``seed`` is what :func:`seed` made in its database, when the caller says (the ``gateway`` fixture does)."""

    def __init__(self, settings: Settings, seed: Seed | None = None) -> None:
        self.settings = settings
        self.seed = seed
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.gateway: RunningGateway | None = None

    def __enter__(self) -> "ThreadedGateway":
        self.thread.start()
        self.gateway = asyncio.run_coroutine_threadsafe(start(self.settings), self.loop).result(30)
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self.gateway is not None
        asyncio.run_coroutine_threadsafe(self.gateway.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def port(self) -> int:
        assert self.gateway is not None
        return self.gateway.port


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(process: subprocess.Popen, port: int, log: Path, seconds: float = 20) -> subprocess.Popen:
    """Return ``process`` once it accepts connections on ``port``; fail with its log if it exits or
    does not listen within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"the gateway did not start: {log.read_text()}")


def make_certificate(folder: Path, name: str, days: float = 1) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and its key, as PEM files cert.pem and key.pem in ``folder``;
    it expires in ``days``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work(db)`` on a fresh handle of the test's database (its own event loop)."""
    async def main() -> T:
        db = await Database.open(settings)
        try:
            return await work(db)
        finally:
            await db.close()
    return asyncio.run(main())


@dataclass(frozen=True)
class Seed:
    company_id: int
    slug: str
    user_id: int
    other_company_id: int
    person_id: int          # bob@customer.example, in org "Customer Inc" (domain customer.example)
    org_id: int
    deal_id: int            # bob's only open deal
    company_address: str
    deal_address: str


async def _seed(db: Database) -> Seed:
    async with db.sessions() as session, session.begin():
        acme = Company(name="Acme", domain="acme.example", slug="acme")
        globex = Company(name="Globex", domain="globex.example", slug="globex")
        session.add_all([acme, globex])
        await session.flush()
        ada = User(company_id=acme.id, email="ada@acme.example", name="Ada Lovelace")
        session.add_all([ada, User(company_id=globex.id, email="gus@globex.example", name="Gus")])
        org = Organization(company_id=acme.id, name="Customer Inc", domain="customer.example")
        session.add(org)
        await session.flush()
        bob = Person(company_id=acme.id, email="bob@customer.example", name="Bob Buyer", org_id=org.id)
        session.add(bob)
        await session.flush()
        deal = Deal(company_id=acme.id, title="Bob's big order", person_id=bob.id, org_id=org.id)
        session.add(deal)
        await session.flush()
        return Seed(acme.id, "acme", ada.id, globex.id, bob.id, org.id, deal.id,
                    db.company_address("acme"), db.record_address("acme", acme.id, "deal", deal.id, 1))


def seed(settings: Settings) -> Seed:
    asyncio.run(initialize(settings))
    return with_db(settings, _seed)


def add_bobs(settings: Settings, planted: Seed, model: Any, **records: str) -> dict[str, int]:
    """Records of Bob's (the seeded contact) of ``model`` (Deal, Lead...), title -> status; their ids by title."""
    async def work(db: Database) -> dict[str, int]:
        async with db.sessions() as session, session.begin():
            made = {title: model(company_id=planted.company_id, title=title, person_id=planted.person_id,
                                 status=status) for title, status in records.items()}
            session.add_all(made.values())
            await session.flush()
            return {title: record.id for title, record in made.items()}
    return with_db(settings, work)


def add_alternate(settings: Settings, user_email: str, alt: str, status: str) -> None:
    async def work(db: Database) -> None:
        async with db.sessions() as session, session.begin():
            user = await session.scalar(select(User).where(User.email == user_email))
            session.add(AlternateAddress(company_id=user.company_id, user_id=user.id, email=alt, status=status))
    with_db(settings, work)


@dataclass(frozen=True)
class StoredMessage:
    id: int
    message_id: str
    subject: str
    owner_user_id: int
    visibility: str
    raw: bytes
    links: frozenset[tuple[str, int, str]]


def messages(settings: Settings) -> list[StoredMessage]:
    async def work(db: Database) -> list[StoredMessage]:
        async with db.sessions() as session:
            out = []
            for message in (await session.scalars(select(Message).order_by(Message.id))).all():
                raw = await stored_raw.read(session, message.id)
                links = (await session.execute(select(Link.kind, Link.record_id, Link.rule)
                                               .where(Link.message_pk == message.id))).all()
                out.append(StoredMessage(message.id, message.message_id, message.subject,
                                         message.owner_user_id, message.visibility, raw, frozenset(links)))
            return out
    return with_db(settings, work)


def count(settings: Settings, model: type) -> int:
    async def work(db: Database) -> int:
        async with db.sessions() as session:
            return await session.scalar(select(func.count()).select_from(model))
    return with_db(settings, work)


def persons(settings: Settings) -> dict[str, int]:
    async def work(db: Database) -> dict[str, int]:
        async with db.sessions() as session:
            return {p.email: p.id for p in await session.scalars(select(Person))}
    return with_db(settings, work)


RECORDS = {"deal": Deal, "lead": Lead, "project": Project, "person": Person, "org": Organization}
