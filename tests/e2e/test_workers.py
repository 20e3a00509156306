"""`smartbcc serve --workers 2` as ops run it: two serving processes on one port, bounds and metrics of the
whole gateway, SIGHUP passed to both, a killed worker replaced, SIGTERM ending all. A real subprocess
driven by real SMTP clients; what landed is read back from the database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from gateway.ops.shared import SharedState
from gateway.server import Worker, start
from gateway.store.models import Message
from gateway.supervisor import listen
from tests.support.gwtest import count, free_port, messages, seed, sqlite_only, wait_listening
from tests.support.rawsmtp import COMPANY, USER, message, wait_for

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = 4         # max_sessions of the served gateway, for all workers together


def serve(settings, port: int, metrics_port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_") or k.startswith("SMARTBCC_TEST_")}
    env.update(PYTHONPATH=str(ROOT), SMARTBCC_DATA_DIR=str(settings.data_dir),
               SMARTBCC_DATABASE_URL=settings.database_url, SMARTBCC_MAIL_DOMAIN=settings.mail_domain,
               SMARTBCC_LOG_LEVEL="INFO", SMARTBCC_MAX_SESSIONS=str(SESSIONS), SMARTBCC_SHUTDOWN_TIMEOUT="5")
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--workers", "2", "--port", str(port),
             "--metrics-port", str(metrics_port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    wait_listening(process, port, log)
    assert wait_for(lambda: get(metrics_port, "/readyz") == (200, "ready: 2 of 2 workers serving\n"), 20), \
        log.read_text()
    return process


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def accepted(metrics_port: int) -> float:
    status, text = get(metrics_port, "/metrics")
    assert status == 200
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "smartbcc_messages_accepted_total")


def send(port: int, subject: str) -> None:
    """As an MTA sends: a 421 greeting (the gateway full) is tried again. A client that has its 221 may
    connect anew before the server has counted the old session out, so the bound can be met for a moment."""
    for attempt in range(50):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                smtp.sendmail(USER, [COMPANY], message(subject=subject))
            return
        except smtplib.SMTPConnectError as error:
            if error.smtp_code != 421 or attempt == 49:
                raise
            time.sleep(0.05)


def send_many(port: int, subjects: list[str]) -> None:
    with ThreadPoolExecutor(SESSIONS - 1) as pool:
        list(pool.map(lambda subject: send(port, subject), subjects))


def worker_pids(log: Path) -> dict[int, int]:
    """The workers started so far, by number: the last pid of each."""
    return {int(n): int(pid) for n, pid in re.findall(r"worker (\d+) started \(pid (\d+)\)", log.read_text())}


def greeting(sock: socket.socket) -> bytes:
    return sock.recv(1024)


def test_two_workers_share_the_port_the_bounds_and_the_counts(settings, tmp_path):
    seed(settings)
    port, metrics_port, log = free_port(), free_port(), tmp_path / "serve.log"
    process = serve(settings, port, metrics_port, log)
    try:
        # mail through both workers, over concurrent connections: each message stored once, counted once
        first = [f"first {i}" for i in range(12)]
        send_many(port, first)
        text = log.read_text()
        assert "worker 0 smartbcc.transaction" in text and "worker 1 smartbcc.transaction" in text
        assert accepted(metrics_port) == len(first)

        # the session bound is the gateway's: SESSIONS connections in all, whichever worker took them
        held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(SESSIONS)]
        try:
            assert all(greeting(sock).startswith(b"220 ") for sock in held)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as refused:
                assert greeting(refused).startswith(b"421 4.7.0")
            assert "smartbcc_sessions_in_flight 4.0" in get(metrics_port, "/metrics")[1]
        finally:
            for sock in held:
                sock.close()

        # SIGHUP reaches every worker
        os.kill(process.pid, signal.SIGHUP)
        assert wait_for(lambda: all(f"worker {n} smartbcc.server: reloaded the TLS" in log.read_text()
                                    for n in (0, 1)), 10), log.read_text()

        # a worker killed is replaced; mail goes on, and what it counted still counts
        pids = worker_pids(log)
        os.kill(pids[1], signal.SIGKILL)
        assert wait_for(lambda: worker_pids(log)[1] != pids[1], 10), log.read_text()
        assert wait_for(lambda: get(metrics_port, "/readyz")[0] == 200 and
                        "2 of 2" in get(metrics_port, "/readyz")[1], 20), log.read_text()
        second = [f"second {i}" for i in range(4)]
        send_many(port, second)
        assert accepted(metrics_port) == len(first) + len(second)
        assert "smartbcc_worker_restarts_total 1.0" in get(metrics_port, "/metrics")[1]

        # SIGTERM ends the supervisor and every worker, cleanly
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, log.read_text()
        for pid in worker_pids(log).values():
            assert not os.path.exists(f"/proc/{pid}") or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert sorted(stored.subject for stored in messages(settings)) == sorted(first + second)
    assert count(settings, Message) == len(first + second)
    assert "database is locked" not in log.read_text()


@sqlite_only
def test_only_worker_0_does_the_chores(settings, tmp_path):
    """Mailbox syncs, overdue notices and digests run in worker 0 alone: a digest is mailed once."""
    seed(settings)
    shared = SharedState.create(tmp_path / "bounds", 2)

    async def chores(number: int) -> tuple[bool, bool]:
        gateway = await start(settings, Worker(number, listen("127.0.0.1", 0), shared))
        try:
            return gateway.mailboxes is not None, gateway.notifier is not None
        finally:
            await gateway.stop()     # closes its sockets, as a worker ending does with its copies
    try:
        assert asyncio.run(chores(0)) == (True, True)
        assert asyncio.run(chores(1)) == (False, False)
    finally:
        shared.close()
