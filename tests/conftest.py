"""Shared fixtures: a fresh gateway data folder and database for each test, on SQLite or PostgreSQL.

The ``backend`` fixture is parametrized: tests that take ``settings`` run once on an SQLite file in a
temporary folder and once on a fresh database of the PostgreSQL server named by
SMARTBCC_TEST_POSTGRES_URL (default: postgresql://postgres@127.0.0.1:5432/test). Where no server
answers there, the PostgreSQL run is skipped with the reason.

Each test's database starts empty, as a new deployment's does (``smartbcc init`` makes its schema).
Running the Alembic migrations for every test costs much of the suite's time, so each test process
migrates one template database per backend once, and the first ``init`` of a test's still-empty
database in the test process (``gateway.store.database.initialize``: called directly, through
``smartbcc init`` on click's runner or through the seeding helpers) copies that template instead:
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, a file copy on SQLite; the copy then gets an address
key of its own, as a migration would give it. A ``smartbcc`` subprocess migrates for real, and so do
tests marked ``migrations``. tests/integration/test_template_database.py proves a copy has exactly
the schema the migrations make.

Under pytest-xdist every worker has its own templates, databases (unique names), temporary folders
and Hypothesis example database. The tests of a module that use a module-scoped fixture share one
worker (an ``xdist_group`` of the module's, unless they name one), so that the fixture is made once,
not once per stretch of that module's tests a worker happens to get; and the tests known to take
seconds (``SLOW_FIRST``, and those marked ``browser``) are handed out first, so that the run does not
end with one worker finishing a long test while the other waits.

The real server: the ``gateway`` fixture runs it on a loopback port over the test's seeded database
(``gateway.seed``), with the settings of the test's ``gateway_settings`` marker over ``settings``::

    @pytest.mark.gateway_settings(max_sessions=3, session_timeout=1.0)
    def test_x(gateway): ...

and ``smarthost`` is a capturing SMTP server the gateway of the same test sends through. The helpers the
tests import are in tests/support/ (tests.support.<module>); fixtures are here and in the conftest.py files.

Web passwords are hashed in the test processes at argon2's cheapest cost (``cheap_password_hashes``): at
the shipped cost, which tests/unit/test_password_hashing.py pins, hashing was most of a web test's CPU time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import Settings, load_settings
from gateway.services import web_auth
from gateway.store import migrate
from gateway.store.engine import make_engine
from gateway.store.models import DeploymentSetting
from tests.support.gwtest import ThreadedGateway, seed
from tests.support.smarthost import Capture, running_smarthost

POSTGRES_URL = os.environ.get("SMARTBCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_TEST_DATABASE_PREFIX = "smartbcc_t_"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "gateway_settings(**overrides): the settings (Settings field names) the `gateway` fixture "
                   "runs the server with, over the test's `settings`; a test's marker wins over its module's")


SLOW_FIRST = (
    "tests/bench/", "tests/web/test_serving.py", "tests/e2e/test_walkthrough.py", "tests/e2e/test_faults_kill.py",
    "tests/e2e/test_two_gateways.py", "tests/e2e/test_send_from_record.py", "tests/e2e/test_faults_logging.py",
    "tests/cli/test_cli_deployment.py", "tests/e2e/test_hostile_terminal.py", "tests/e2e/test_ops_lifecycle.py",
)
"""Test files (or folders) whose tests take seconds each: started first (see the module's docstring)."""


def _module_scoped(item: pytest.Item) -> bool:
    definitions = getattr(item, "_fixtureinfo", None)
    if definitions is None:
        return False
    return any(fixture.scope == "module" for fixtures in definitions.name2fixturedefs.values()
               for fixture in fixtures)


@pytest.hookimpl(tryfirst=True)      # before pytest-xdist reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if getattr(config.option, "loadgroup", False):      # a pytest-xdist worker of a --dist loadgroup run
        for item in items:
            if item.get_closest_marker("xdist_group") is None and _module_scoped(item):
                item.add_marker(pytest.mark.xdist_group(name=item.nodeid.split("::")[0]))

    def slow(item: pytest.Item) -> bool:
        return item.get_closest_marker("browser") is not None or item.nodeid.startswith(SLOW_FIRST)
    items.sort(key=lambda item: not slow(item))     # stable: the order is kept within each part


def _hypothesis_per_worker() -> None:
    """Under pytest-xdist, each worker keeps its Hypothesis examples in a folder of its own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    from hypothesis import settings as hypothesis_settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    hypothesis_settings.register_profile(
        "xdist-worker", database=DirectoryBasedExampleDatabase(f".hypothesis/examples-{worker}"))
    hypothesis_settings.load_profile("xdist-worker")


_hypothesis_per_worker()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _pg_admin_fetchval(sql: str, *args: object) -> object:
    import asyncpg

    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        return await connection.fetchval(sql, *args)
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


def _postgres_url_of(name: str) -> str:
    return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"


def postgres_database_url() -> tuple[str, str]:
    """Create a fresh database on the test server; returns (its URL, its name)."""
    name = f"{_TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    return _postgres_url_of(name), name


def drop_postgres_database(name: str) -> None:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _drop_postgres_databases(names: list[str]) -> None:
    """Drop the test databases ``names`` at once (concurrent drops wait for the same checkpoints)."""
    async def drop_all() -> None:
        await asyncio.gather(*(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)') for name in names))
    if names:
        asyncio.run(drop_all())


class MigrationTemplates:
    """One migrated template database per backend for this test process, and the copies made of it.

    ``install(engine)`` fills a test's still-empty database from the template and reports whether it
    did; a database that is not one of this suite's own, not empty or in use by another connection is
    left for the migrations. Thread-safe (gateways under test run on their own threads and loops).

    On PostgreSQL the empty database a copy replaces is renamed away, not dropped, and becomes the next
    test's empty database (``new_postgres_database``): one CREATE DATABASE per test, not two. The copies
    are made ahead, one at a time on a thread of their own (``READY_COPIES`` waiting), so that a test's
    ``init`` is two renames; and the tests' databases are dropped by batches on another thread
    (``discard``) while the next tests run. ``close`` waits for both.
    """

    READY_COPIES = 1
    DROP_BATCH = 8

    def __init__(self, folder: Path, basetemp: Path) -> None:
        self.folder = folder
        self.basetemp = basetemp.resolve()
        self.enabled = True
        self.copies = 0
        self._lock = threading.Lock()
        self._sqlite: Path | None = None
        self._postgres: str | None = None
        self._spare_empty: list[str] = []     # empty, never used by a test, nobody connected
        self._ready: list[Future[str]] = []   # copies of the template (being) made ahead, nobody connected
        self._used: list[str] = []            # test databases to drop with the next batch
        self._copier = ThreadPoolExecutor(1, thread_name_prefix="template-copies")
        self._dropper = ThreadPoolExecutor(1, thread_name_prefix="database-drops")

    @contextmanager
    def disabled(self) -> Iterator[None]:
        """Within the block, ``init`` runs the migrations themselves."""
        before, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = before

    def install(self, engine: AsyncEngine) -> bool:
        if not self.enabled:
            return False
        url = engine.url
        with self._lock:
            if url.get_backend_name() == "sqlite":
                return self._install_sqlite(Path(url.database or ""))
            if url.get_backend_name() == "postgresql":
                return self._install_postgres(url.database or "")
        return False

    def new_postgres_database(self) -> tuple[str, str]:
        """A fresh, empty database on the test server; returns (its URL, its name)."""
        with self._lock:
            spare = self._spare_empty.pop() if self._spare_empty else None
        if spare is None:
            return postgres_database_url()
        name = f"{_TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'ALTER DATABASE "{spare}" RENAME TO "{name}"'))
        return _postgres_url_of(name), name

    def discard(self, name: str) -> None:
        """Drop the test database ``name``: on the drop thread, ``DROP_BATCH`` at once (each drop makes the
        server checkpoint, and drops made together share their checkpoints)."""
        with self._lock:
            self._used.append(name)
            if len(self._used) < self.DROP_BATCH:
                return
            batch, self._used = self._used, []
        self._dropper.submit(_drop_postgres_databases, batch)

    def close(self) -> None:
        self._copier.shutdown(wait=True)
        ready = [future.result() for future in self._ready if future.exception() is None]
        self._ready.clear()
        self._dropper.shutdown(wait=True)
        template = [self._postgres] if self._postgres else []
        _drop_postgres_databases([*ready, *self._used, *self._spare_empty, *template])
        self._used.clear()
        self._spare_empty.clear()

    def _copy_of_template(self) -> str:
        """A new copy of the template (run on the copy thread)."""
        name = f"{_TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self._postgres}"'))
        return name

    def _make_ready(self) -> None:
        while len(self._ready) < self.READY_COPIES:
            self._ready.append(self._copier.submit(self._copy_of_template))

    @staticmethod
    def _migrate(settings: Settings, real_upgrade: Callable[[AsyncEngine], Awaitable[object]]) -> None:
        """The real migrations, less the address key (each copy makes its own)."""
        async def main() -> None:
            engine = make_engine(settings)
            try:
                await real_upgrade(engine)
                async with engine.begin() as connection:
                    await connection.execute(delete(DeploymentSetting).where(
                        DeploymentSetting.key == migrate.ADDRESS_KEY))
            finally:
                await engine.dispose()
        asyncio.run(main())

    def _install_sqlite(self, target: Path) -> bool:
        if not target.is_absolute() or target.exists() or self.basetemp not in target.parents:
            return False
        if self._sqlite is None:
            folder = self.folder / "sqlite"
            self._migrate(_settings_for(folder, ""), _REAL_UPGRADE)
            template = folder / "smartbcc.db"
            # the last connection closed has checkpointed the log into the file: the file is all of it
            assert not template.with_name(template.name + "-wal").exists()
            self._sqlite = template
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._sqlite, target)
        self.copies += 1
        return True

    def _install_postgres(self, name: str) -> bool:
        if not name.startswith(_TEST_DATABASE_PREFIX):
            return False
        if asyncio.run(_pg_admin_fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name)):
            return False     # someone holds it open: leave it to the migrations
        if not asyncio.run(_postgres_is_empty(name)):
            return False
        if self._postgres is None:
            template = f"{_TEST_DATABASE_PREFIX}template_{uuid.uuid4().hex[:8]}"
            asyncio.run(_pg_admin(f'CREATE DATABASE "{template}"'))
            self._postgres = template
            self._migrate(_settings_for(self.folder / "postgres", _postgres_url_of(template)), _REAL_UPGRADE)
        self._make_ready()
        copy = self._ready.pop(0).result()
        spare = f"{_TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
        try:     # one transaction: the empty database goes away and the copy takes its name, or neither
            asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" RENAME TO "{spare}";'
                                  f' ALTER DATABASE "{copy}" RENAME TO "{name}"'))
        except Exception:  # noqa: BLE001 - opened meanwhile (it is left as it was): the migrations do it
            unused: Future[str] = Future()
            unused.set_result(copy)
            self._ready.insert(0, unused)
            return False
        self._spare_empty.append(spare)
        self._make_ready()
        self.copies += 1
        return True


async def _postgres_is_empty(name: str) -> bool:
    """Whether the test database ``name`` has no relation of its own (tables, sequences, types...)."""
    import asyncpg

    connection = await asyncpg.connect(_postgres_url_of(name).replace("postgresql+asyncpg://", "postgresql://"),
                                       timeout=5)
    try:
        return bool(await connection.fetchval(
            "SELECT NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast'))"))
    finally:
        await connection.close()


def _settings_for(data_dir: Path, database_url: str) -> Settings:
    return load_settings(overrides={"data_dir": str(data_dir), "database_url": database_url,
                                    "mail_domain": "bcc.example.net", "port": 0}, environ={})


_REAL_UPGRADE = migrate.upgrade
_templates: list[MigrationTemplates] = []


async def _upgrade_from_template(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """``gateway.store.migrate.upgrade`` for the tests: an empty test database becomes a copy of the
    migrated template and gets its own address key; any other database is migrated for real."""
    if _templates and await asyncio.to_thread(_templates[0].install, engine):
        await migrate._ensure_address_key(engine)
        return None, migrate.head_revision()
    return await _REAL_UPGRADE(engine)


@pytest.fixture(scope="session", autouse=True)
def migration_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigrationTemplates]:
    """This process's template databases (made on first use); ``init`` copies them while installed."""
    templates = MigrationTemplates(tmp_path_factory.mktemp("templates"), tmp_path_factory.getbasetemp())
    _templates.append(templates)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(migrate, "upgrade", _upgrade_from_template)
        try:
            yield templates
        finally:
            _templates.remove(templates)
            templates.close()


SHIPPED_PASSWORD_HASHER = web_auth._HASHER
SHIPPED_DUMMY_HASH = web_auth._dummy()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Web passwords set and checked in this process are argon2id hashes at argon2's cheapest cost (the
    ``CHEAPEST`` profile, made for tests), the unknown address's stand-in hash too, so that both ways of a
    sign-in still cost the same; a ``smartbcc`` subprocess hashes at the shipped cost."""
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(web_auth, "_HASHER", cheap)
        patch.setattr(web_auth, "_DUMMY", cheap.hash("no user has this password"))
        yield


@pytest.fixture(autouse=True)
def _real_migrations_when_marked(request: pytest.FixtureRequest,
                                 migration_templates: MigrationTemplates) -> Iterator[None]:
    if request.node.get_closest_marker("migrations") is None:
        yield
        return
    with migration_templates.disabled():
        yield


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def _test_database(backend: str, data_dir: Path) -> Iterator[Settings]:
    database_url = ""
    name = ""
    if backend == "postgres":
        reason = _postgres_unreachable()
        if reason:
            pytest.skip(reason)
        database_url, name = (_templates[0].new_postgres_database() if _templates else postgres_database_url())
    try:
        yield _settings_for(data_dir, database_url)
    finally:
        if name and _templates:
            _templates[0].discard(name)
        elif name:
            drop_postgres_database(name)


@pytest.fixture
def settings(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for one test: a data folder of its own, and its own (empty) database."""
    for key in list(os.environ):
        if key.startswith("SMARTBCC_") and not key.startswith("SMARTBCC_TEST_"):
            monkeypatch.delenv(key)
    with _test_database(backend, tmp_path / "data") as made:
        yield made


@pytest.fixture
def other_settings(backend: str, tmp_path: Path, settings: Settings) -> Iterator[Settings]:
    """A second data folder and (empty) database on the same backend as ``settings``, for comparisons."""
    with _test_database(backend, tmp_path / "other") as made:
        yield made


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """SQLite only, for tests about the embedded default itself."""
    return _settings_for(tmp_path / "data", "")


def gateway_settings_of(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """``settings`` with the overrides of the test's ``gateway_settings`` markers (module, class, then the
    test's own, the closest winning), and the test's ``smarthost`` when it has one."""
    overrides: dict[str, object] = {}
    if "smarthost" in request.fixturenames:
        capture: Capture = request.getfixturevalue("smarthost")
        overrides.update(smarthost=capture.address, smarthost_starttls=False)
    for marker in reversed(list(request.node.iter_markers("gateway_settings"))):
        assert not marker.args, "gateway_settings takes settings by name"
        overrides.update(marker.kwargs)
    return settings.replace(**overrides) if overrides else settings


@pytest.fixture
def gateway(settings: Settings, request: pytest.FixtureRequest) -> Iterator[ThreadedGateway]:
    """The real gateway on a loopback port of its own, over the test's database seeded by
    ``tests.support.gwtest.seed`` (``gateway.seed``): its settings are ``gateway.settings``."""
    running_settings = gateway_settings_of(request, settings)
    seeded = seed(running_settings)
    with ThreadedGateway(running_settings, seeded) as running:
        yield running


@pytest.fixture
def smarthost() -> Iterator[Capture]:
    """A capturing smarthost (a real aiosmtpd server) on a loopback port: what it got, and its ``address``.
    The ``gateway`` fixture of the same test sends through it (without STARTTLS)."""
    yield from running_smarthost()
