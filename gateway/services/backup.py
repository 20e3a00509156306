"""`smartbcc backup` and `smartbcc restore`: the embedded database, copied whole and consistent.

Everything a message is lives in the database: its row, its links, its raw bytes (``message_raw``, or
``raw_pieces`` for a large one); the spool folder holds only mail still arriving. So a backup is the
database file, taken with SQLite's online backup API: a consistent snapshot even while the gateway files
mail (a read transaction; WAL lets the writers go on). The one thing beside it is the key file
``mailbox.key`` of connected mailboxes' passwords, kept apart on purpose (see gateway.services.secrets).

On PostgreSQL the database server's own tools do it; the commands say which.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

from sqlalchemy.engine import make_url

from gateway.config import Settings
from gateway.services.errors import ServiceError
from gateway.services.secrets import KEY_FILE
from gateway.store import migrate
from gateway.store.database import initialize
from gateway.store.engine import normalize_url


@dataclass(frozen=True)
class Copied:
    file: str
    revision: str
    messages: int
    size: int
    key_file: str | None          # the mailbox key file to keep apart (backup) or to put back (restore)


@dataclass(frozen=True)
class Restored(Copied):
    revision_before: str          # the backup's schema, migrated to ``revision``


def sqlite_file(settings: Settings) -> Path | None:
    """The embedded database's file; None on PostgreSQL."""
    url = make_url(normalize_url(settings.effective_database_url))
    return Path(url.database or "") if url.get_backend_name() == "sqlite" else None


def postgres_commands(settings: Settings, file: str) -> tuple[str, str]:
    """The pg_dump and pg_restore command lines for ``file`` (the password left out: PGPASSWORD or
    ~/.pgpass give it)."""
    url = make_url(normalize_url(settings.effective_database_url)).set(drivername="postgresql", password=None)
    target = url.render_as_string(hide_password=False)
    name = quote(file, safe="/._-")
    return (f"pg_dump --format=custom --file={name} '{target}'",
            f"pg_restore --clean --if-exists --no-owner --dbname='{target}' {name}")


def _postgres_refusal(settings: Settings, file: str) -> ServiceError:
    dump, restore = postgres_commands(settings, file)
    return ServiceError(f"the database is PostgreSQL: back it up with its own tools.\n  backup:  {dump}\n"
                        f"  restore: {restore}\nthen `smartbcc init` brings a restored older schema up to date")


def _revision(connection: sqlite3.Connection, what: str) -> str:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row is None:
        raise ServiceError(f"{what} is not a smartbcc database (no schema revision in it)")
    return str(row[0])


def _count(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT count(*) FROM messages").fetchone()[0])


def _key_file(settings: Settings) -> Path | None:
    path = settings.data_dir / KEY_FILE
    return path if not settings.mailbox_key and path.exists() else None


def backup(settings: Settings, target: Path, force: bool = False) -> Copied:
    source = sqlite_file(settings)
    if source is None:
        raise _postgres_refusal(settings, str(target))
    if not source.exists():
        raise ServiceError(f"there is no database at {source}: nothing to back up")
    if target.resolve() == source.resolve():
        raise ServiceError(f"{target} is the database itself: write the backup to another file")
    if not target.parent.is_dir():
        raise ServiceError(f"the folder {target.parent} does not exist")
    if target.exists() and not force:
        raise ServiceError(f"{target} exists: choose a new file, or --force to replace it")
    try:
        return _backup(settings, source, target)
    except sqlite3.Error as failure:
        raise ServiceError(f"the backup of {source} to {target} failed: {failure}") from None


def _backup(settings: Settings, source: Path, target: Path) -> Copied:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with _open(source) as live:
        revision = _revision(live, str(source))
        with _open(partial) as copy:
            live.backup(copy)                        # one step: a snapshot of one read transaction
            copy.execute("PRAGMA journal_mode=DELETE")   # one self-contained file
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
            messages = _count(copy)
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise ServiceError(f"the copy of {source} does not pass SQLite's quick_check ({check}); nothing written")
    with open(partial, "rb") as written:
        os.fsync(written.fileno())
    os.replace(partial, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)          # the new name survives a power cut too
    finally:
        os.close(folder)
    key = _key_file(settings)
    return Copied(str(target), revision, messages, target.stat().st_size, str(key) if key else None)


@contextmanager
def _open(path: Path | str, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    connection = (sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, isolation_level=None)
                  if read_only else sqlite3.connect(path, timeout=30, isolation_level=None))
    try:
        yield connection
    finally:
        connection.close()


def in_use(path: Path) -> bool:
    """Whether another connection has the database open (a running gateway or web server keeps some):
    leaving WAL mode needs every other connection gone."""
    with _open(path) as connection:
        connection.execute("PRAGMA busy_timeout=0")
        try:
            mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError:
            return True
        if str(mode).lower() != "delete":
            return True
        connection.execute("PRAGMA journal_mode=WAL")
        return False


async def restore(settings: Settings, source: Path, force: bool = False) -> Restored:
    """Replace the configured database with the backup ``source``, then migrate it to this version."""
    target = sqlite_file(settings)
    if target is None:
        raise _postgres_refusal(settings, str(source))
    if not source.is_file():
        raise ServiceError(f"{source} is not a file")
    if target.exists() and target.resolve() == source.resolve():
        raise ServiceError(f"{source} is the database itself")
    try:
        return await _restore(settings, source, target, force)
    except sqlite3.Error as failure:
        raise ServiceError(f"the restore of {source} into {target} failed: {failure}") from None


async def _restore(settings: Settings, source: Path, target: Path, force: bool) -> Restored:
    with _open(source, read_only=True) as backup_file:
        revision = _revision(backup_file, str(source))
        if not migrate.is_known(revision):
            raise ServiceError(f"{source} is at schema revision {revision}, which this smartbcc does not know: "
                               f"restore it with the version that made it")
    if target.exists():
        with _open(target) as existing:
            try:
                existing.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.DatabaseError:
                raise ServiceError(f"{target} is not a SQLite database: move it away first") from None
        if in_use(target):
            raise ServiceError(f"{target} is in use (a running `smartbcc serve` or `web`?): stop them first")
        with _open(target) as existing:
            try:
                filled = bool(existing.execute("SELECT 1 FROM companies LIMIT 1").fetchone())
            except sqlite3.DatabaseError:
                filled = target.stat().st_size > 0
        if filled and not force:
            raise ServiceError(f"{target} already holds data: restore into an empty data folder, or --force "
                               f"to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _open(source, read_only=True) as backup_file, _open(target) as live:
        backup_file.backup(live)                    # through SQLite: the old file's WAL goes with it
        live.execute("PRAGMA journal_mode=WAL")
        messages = _count(live)
    _before, after = await initialize(settings)
    key = settings.data_dir / KEY_FILE
    with _open(target) as live:
        mailboxes = live.execute("SELECT count(*) FROM connected_mailboxes").fetchone()[0]
    missing = None if settings.mailbox_key or key.exists() or not mailboxes else str(key)
    return Restored(str(target), after or revision, messages, target.stat().st_size, missing, revision)
