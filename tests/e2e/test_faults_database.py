"""Database faults under the real server: locked, unreachable, out of disk, slow. Each is 451 with
nothing written (no message, no quarantine entry), and the sender's retry gets in once it is over."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest

from gateway.store.models import Message, MessageRaw, Person, QuarantinedMessage
from tests.support.gwtest import ThreadedGateway, count, messages, seed
from tests.support.rawsmtp import Raw, message, wait_for
from tests.support.replies import assert_reply

POSTGRES_URL = os.environ.get("SMARTBCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
postgres_only = pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])


async def _pg_admin(sql: str) -> None:
    import asyncpg
    connection = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _database_name(settings) -> str:
    return settings.database_url.rsplit("/", 1)[1]


@contextlib.contextmanager
def write_lock(settings):
    """Hold the write lock on the messages table from another connection, as a long admin job would."""
    if settings.is_embedded:
        holder = sqlite3.connect(settings.data_dir / "smartbcc.db", isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    ready, release = threading.Event(), threading.Event()

    async def hold():
        import asyncpg
        connection = await asyncpg.connect(settings.database_url)
        try:
            async with connection.transaction():
                await connection.execute("LOCK TABLE messages IN EXCLUSIVE MODE")
                ready.set()
                while not release.is_set():
                    await asyncio.sleep(0.02)
        finally:
            await connection.close()
    thread = threading.Thread(target=asyncio.run, args=(hold(),))
    thread.start()
    assert ready.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(10)


def _send(gateway, raw):
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        return smtp.data(raw)


def _nothing_written(settings):
    return (count(settings, Message), count(settings, MessageRaw), count(settings, QuarantinedMessage),
            count(settings, Person)) == (0, 0, 0, 1)


def test_locked_database_is_451_then_the_retry_gets_in(settings):
    settings = settings.replace(lock_timeout=0.5)
    seed(settings)
    raw = message(subject="while locked", to="dora@prospect.example")
    with ThreadedGateway(settings) as gateway:
        with write_lock(settings):
            code, text = _send(gateway, raw)
        assert_reply((code, text), "451 4.3.0")
        assert _nothing_written(settings)
        assert _send(gateway, raw)[0] == 250
    assert [m.raw for m in messages(settings)] == [raw]


@postgres_only
def test_unreachable_database_is_451_then_the_retry_gets_in(settings):
    seed(settings)
    name = _database_name(settings)
    raw = message(subject="while down")
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()                                       # the dialogue up to DATA needs the database
        asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        asyncio.run(_pg_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        try:
            code, text = smtp.data(raw)
        finally:
            asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert_reply((code, text), "451 4.3.0")
        assert _nothing_written(settings)
        assert smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250      # the same session retries
        assert smtp.cmd("RCPT TO:<acme@bcc.example.net>")[0] == 250
        assert smtp.data(raw)[0] == 250
    assert [m.raw for m in messages(settings)] == [raw]


@sqlite_only
def test_disk_full_is_451_then_the_retry_gets_in(settings, tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 2 MiB tmpfs to fill up (needs root): {mounted.stderr.decode().strip()}")
    try:
        settings = settings.replace(data_dir=mount, max_message_size=500_000)
        seed(settings)
        raw = message(subject="disk full", body="attachment-sized text\n" * 20_000)     # about 440 KiB
        with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()                 # the disk fills up after MAIL (before it, MAIL is 452 4.3.1)
            filler = mount / "filler"
            free = shutil.disk_usage(mount).free
            filler.write_bytes(b"\0" * max(0, free - 64 * 1024))
            code, text = smtp.data(raw)
            assert_reply((code, text), "451 4.3.0")
            code, text = smtp.cmd("MAIL FROM:<ada@acme.example>")
            assert (code, text) == (452, "4.3.1 Insufficient system storage")
            filler.unlink()
            assert _send(gateway, raw)[0] == 250
        assert [m.raw for m in messages(settings)] == [raw]
        assert count(settings, QuarantinedMessage) == 0
        check = sqlite3.connect(mount / "smartbcc.db")
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        check.close()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_filing_that_outlasts_data_timeout_is_451_and_the_retry_is_stored_once(settings):
    settings = settings.replace(lock_timeout=10, data_timeout=0.5)
    seed(settings)
    raw = message(subject="slow database")
    with ThreadedGateway(settings) as gateway:
        with write_lock(settings):
            started = time.monotonic()
            code, text = _send(gateway, raw)
            assert (code, text[:5]) == (451, "4.3.0") and time.monotonic() - started < 3
        assert wait_for(lambda: messages(settings), timeout=10)    # the filing went on and committed
        assert _send(gateway, raw)[0] == 250                       # the sender's retry: seen before
    assert [m.raw for m in messages(settings)] == [raw]


def test_client_hanging_up_while_its_message_is_filed_does_not_cut_the_filing(settings):
    seed(settings)
    raw = message(subject="hung up while filing", to="erin@prospect.example")
    with ThreadedGateway(settings) as gateway:
        with write_lock(settings):
            with Raw(gateway.host, gateway.port) as smtp:
                smtp.envelope()
                assert smtp.cmd("DATA")[0] == 354
                smtp.send(raw + b".\r\n")
                time.sleep(0.5)                     # the filing is waiting for the lock now
        assert wait_for(lambda: messages(settings), timeout=10)
    [stored] = messages(settings)
    assert stored.raw == raw and stored.links
    assert count(settings, Person) == 2              # the new contact came with it: all or nothing
