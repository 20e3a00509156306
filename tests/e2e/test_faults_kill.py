"""SIGKILL while sessions are in DATA: every message that got a 250 is in the database after restart,
each whole (raw bytes, parsed row, links), and nothing else is, half or whole, but what was sent entire.

The gateway runs as its own process (`python -m gateway.cli serve`), as ops run it; the clients are
asyncio sessions sending in a loop, some stalling mid-DATA, when the process is killed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from gateway.store.models import Link, Message, MessageRaw
from tests.support.gwtest import free_port, seed, wait_listening, with_db
from tests.support.rawsmtp import COMPANY, USER, Raw, message

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 16


def serve(settings, port: int, log: Path) -> subprocess.Popen:
    """The gateway in a process of its own; returns once it accepts connections."""
    command = [sys.executable, "-m", "gateway.cli", "--data-dir", str(settings.data_dir),
               "--database-url", settings.database_url, "--mail-domain", settings.mail_domain,
               "serve", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMARTBCC_LOG_LEVEL": "WARNING",
           "SMARTBCC_WORKERS": "1"}        # one serving process, killed (workers: tests/e2e/test_workers.py)
    with log.open("ab") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    return wait_listening(process, port, log)


async def _reply(reader: asyncio.StreamReader) -> int:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return int(line[:3])


async def client(number: int, port: int, sent: dict[str, bytes], acked: set[str]) -> None:
    """Send message after message; every fourth client stalls in the middle of its third DATA."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    try:
        await _reply(reader)
        writer.write(b"EHLO client.example\r\n")
        await _reply(reader)
        for serial in range(10_000):
            message_id = f"<kill-{number}-{serial}@acme.example>"
            raw = message(subject=f"client {number} message {serial}", message_id=message_id,
                          body=f"line {serial} of client {number}\n" * 300)
            writer.write(f"MAIL FROM:<{USER}>\r\nRCPT TO:<{COMPANY}>\r\nDATA\r\n".encode())
            assert [await _reply(reader) for _ in range(3)] == [250, 250, 354]
            if number % 4 == 0 and serial == 2:
                writer.write(raw[: len(raw) // 2])
                await reader.read()                   # stalled mid-DATA until the connection dies
                return
            writer.write(raw + b".\r\n")
            sent[message_id] = raw
            if await _reply(reader) == 250:
                acked.add(message_id)
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def kill_under_load(process: subprocess.Popen, port: int) -> tuple[dict[str, bytes], set[str]]:
    sent: dict[str, bytes] = {}
    acked: set[str] = set()
    tasks = [asyncio.create_task(client(n, port, sent, acked)) for n in range(CLIENTS)]
    deadline = time.monotonic() + 20
    while len(acked) < 24 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    await asyncio.wait(tasks, timeout=10)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return sent, acked


async def _stored(db):
    async with db.sessions() as session:
        rows = (await session.execute(
            select(Message.message_id, Message.sha256, Message.size, MessageRaw.raw,
                   select(func.count()).where(Link.message_pk == Message.id).scalar_subquery())
            .outerjoin(MessageRaw, MessageRaw.message_pk == Message.id))).all()
    return {row[0]: row[1:] for row in rows}


def test_sigkill_in_data_loses_no_accepted_message_and_leaves_none_half(settings, tmp_path):
    seed(settings)
    port, log = free_port(), tmp_path / "gateway.log"
    process = serve(settings, port, log)
    try:
        sent, acked = asyncio.run(kill_under_load(process, port))
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert len(acked) >= 24, f"only {len(acked)} messages got a 250 before the kill; log: {log.read_text()[-2000:]}"

    stored = with_db(settings, _stored)
    assert acked <= set(stored), f"accepted but lost: {sorted(acked - set(stored))[:5]}"
    assert set(stored) <= set(sent), "stored though never sent whole"
    for message_id, (sha256, size, raw, links) in stored.items():
        assert raw == sent[message_id], message_id                     # the bytes, whole
        assert (sha256, size) == (hashlib.sha256(raw).hexdigest(), len(raw))
        assert links >= 3, message_id                                  # person, organization, deal
    if settings.is_embedded:
        check = sqlite3.connect(settings.data_dir / "smartbcc.db")
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        check.close()

    process = serve(settings, port, log)                               # after the restart: business as usual
    try:
        with Raw("127.0.0.1", port) as smtp:
            smtp.envelope()
            assert smtp.data(message(subject="after the restart"))[0] == 250
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    assert len(with_db(settings, _stored)) == len(stored) + 1


def _descendants(pid: int) -> set[int]:
    """Live processes below ``pid`` (from /proc: each one's parent), zombies left out."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            state, ppid = stat.rpartition(")")[2].split()[:2]
            if state != "Z":
                parents[int(entry)] = int(ppid)
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_helper_processes_exit_when_the_gateway_is_killed(sqlite_settings, tmp_path):
    settings = sqlite_settings
    seed(settings)
    port, log = free_port(), tmp_path / "gateway.log"
    process = serve(settings, port, log)
    try:
        with Raw("127.0.0.1", port) as smtp:       # a large message: parsed in a parsing process
            smtp.envelope()
            assert smtp.data(message(subject="large", body="A line of the quote.\n" * 5000))[0] == 250
        helpers = _descendants(process.pid)
        assert helpers, "the parsing process was started"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_alive, helpers)):
        time.sleep(0.1)
    assert not [pid for pid in helpers if _alive(pid)], log.read_text()
