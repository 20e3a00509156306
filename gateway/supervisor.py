"""``smartbcc serve --workers N``: one supervisor, N serving processes on the same listening socket.

The supervisor (the ``serve`` process) listens once, before any worker starts, so a port in use fails
as it does with one process; checks the database and the TLS files the same way; then starts N workers
(``spawn``: fresh interpreters, given the listening sockets). Each worker is a whole gateway
(gateway.server) accepting from the shared socket: the kernel hands each connection to whichever worker
accepts it first, so a busy worker takes fewer, and a worker that dies loses no connection waiting in
the socket's queue. The chores (sweeps, mailbox syncs, overdue notices and digests) are worker 0's alone,
so a digest is never mailed twice.

- The session and sender bounds and the memory budget hold for the whole gateway: the workers count in
  shared memory (gateway.ops.shared).
- Signals: SIGHUP is passed to every worker (each loads its certificate again); SIGTERM and SIGINT are
  passed on and each worker stops as one process does (sessions in a transaction may finish within
  ``shutdown_timeout``); the supervisor exits once all have ended.
- A worker that ends otherwise is replaced; one that dies again within :data:`STEADY` seconds of its
  start waits longer each time (1 s, doubled up to :data:`LONGEST_WAIT`), so a crash loop does not spin.
- Monitoring: the supervisor serves ``metrics_port``. The workers' counters are kept in files by
  prometheus-client's multiprocess mode and summed at each scrape (a replaced worker's counts stay);
  sessions and the memory budget are read from the shared counts; ``/healthz`` and ``/readyz`` say how
  many workers serve.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Iterable, Iterator, cast

from gateway.config import listen_hosts, Settings
from gateway.ops.shared import SERVING, STARTING, STOPPING, SharedState

log = logging.getLogger("smartbcc.workers")

STEADY = 10.0           # seconds a worker must have served for its end not to count as a crash loop
LONGEST_WAIT = 30.0     # seconds, at most, before a worker that keeps dying is started again
KILL_AFTER = 10.0       # seconds beyond shutdown_timeout a stopping worker has, then SIGKILL
BACKLOG = 128


def worker_count(setting: int) -> int:
    """``workers`` 0 means one per core this process may run on."""
    if setting > 0:
        return setting
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:          # not Linux
        return os.cpu_count() or 1


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for ``host`` (each address of each of its comma-separated hosts) and ``port``, as
    asyncio would make them; port 0: one free port, the same on every address."""
    infos = [info for name in listen_hosts(host)
             for info in socket.getaddrinfo(name or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)]
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
            sock.listen(BACKLOG)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def serve(settings: Settings, count: int) -> None:
    """Listen, start ``count`` workers and supervise them until SIGTERM or SIGINT (then return)."""
    from gateway.server import configure_logging

    configure_logging(settings.log_level, "supervisor")
    sockets = listen(settings.host, settings.port)
    run_dir = Path(tempfile.mkdtemp(prefix="smartbcc-workers-"))
    try:
        supervisor = Supervisor(settings, count, sockets, run_dir)
        try:
            asyncio.run(supervisor.run())
        finally:
            supervisor.shared.close()
    finally:
        for sock in sockets:
            sock.close()
        shutil.rmtree(run_dir, ignore_errors=True)


class WorkerFailed(RuntimeError):
    """A worker ended before it served (its own error is in the log just before)."""


class Supervisor:
    def __init__(self, settings: Settings, count: int, sockets: list[socket.socket], run_dir: Path) -> None:
        self.settings, self.count, self.sockets = settings, count, sockets
        self.shared = SharedState.create(run_dir / "bounds", count)
        self.metrics_dir = run_dir / "metrics"
        self.metrics_dir.mkdir()
        self.processes: list[BaseProcess | None] = [None] * count
        self.started_at = [0.0] * count
        self.waits = [0.0] * count            # the wait before the last restart of each worker
        self.restarts = 0
        self.serving_all = False              # every worker served once: the start is over
        self.stopping = False
        self.failure = ""
        self.ended = asyncio.Event()          # set when stopping and no worker is left
        self.stop_asked = asyncio.Event()
        self.pending: list[asyncio.TimerHandle] = []
        self.context = multiprocessing.get_context("spawn")

    @property
    def port(self) -> int:
        return int(self.sockets[0].getsockname()[1])

    def serving(self) -> int:
        """Workers alive and serving now."""
        return sum(1 for number, process in enumerate(self.processes)
                   if process is not None and process.is_alive() and self.shared.state(number) == SERVING)

    async def run(self) -> None:
        from gateway.ops.monitoring import Monitoring
        from gateway.server import tls_context
        from gateway.store.database import Database

        tls_context(self.settings)        # a certificate that cannot be used: the same error as one process
        db = await Database.open(self.settings)       # a database that cannot be used, likewise
        monitoring: Monitoring | None = None
        try:
            if self.settings.metrics_port:
                monitoring = await _start_monitoring(self, db)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.stop_asked.set)
            loop.add_signal_handler(signal.SIGHUP, self.reload)
            for number in range(self.count):
                self.start(number)
            await self._started()
            if self.serving_all and not self.stop_asked.is_set():
                log.info("%d workers serving on %s:%d for mail to @%s", self.count, self.settings.host, self.port,
                         db.mail_domain)
                if monitoring is not None:
                    log.info("metrics of all workers on http://%s:%d/metrics (health: /healthz, readiness: "
                             "/readyz)", self.settings.metrics_host, monitoring.port)
                await self.stop_asked.wait()
                log.info("stopping %d workers", self.count)
            await self.stop()
        finally:
            if monitoring is not None:
                await monitoring.close()
            await db.close()
        if self.failure:
            raise WorkerFailed(self.failure)

    async def _started(self) -> None:
        """Wait until every worker serves (or one failed to start, or a stop was asked)."""
        while not self.stopping and not self.stop_asked.is_set():
            if all(self.shared.state(number) == SERVING for number in range(self.count)):
                self.serving_all = True
                return
            await asyncio.sleep(0.05)

    def start(self, number: int) -> None:
        if self.stopping:
            return
        self.shared.clear(number)
        process = self.context.Process(
            target=work, name=f"smartbcc worker {number}",
            args=(self.settings, number, self.count, self.sockets, str(self.shared.path), str(self.metrics_dir)))
        process.start()
        loop = asyncio.get_running_loop()
        self.processes[number] = process
        self.started_at[number] = loop.time()
        loop.add_reader(process.sentinel, self._ended, number)
        log.info("worker %d started (pid %d)", number, process.pid)

    def _ended(self, number: int) -> None:
        from prometheus_client import multiprocess

        process = self.processes[number]
        assert process is not None
        loop = asyncio.get_running_loop()
        loop.remove_reader(process.sentinel)
        process.join()
        assert process.pid is not None
        multiprocess.mark_process_dead(process.pid, str(self.metrics_dir))
        self.shared.clear(number)
        if self.stopping:
            if all(p is None or not p.is_alive() for p in self.processes):
                self.ended.set()
            return
        how = _exit_description(process.exitcode)
        if not self.serving_all:
            log.error("worker %d ended (%s) before it served; stopping", number, how)
            self.failure = f"worker {number} could not start ({how}); its error is in the log above"
            self.stop_asked.set()
            return
        lived = loop.time() - self.started_at[number]
        wait = 0.0 if lived >= STEADY else min(LONGEST_WAIT, max(1.0, 2 * self.waits[number]))
        self.waits[number] = wait
        self.restarts += 1
        log.warning("worker %d (pid %d) ended (%s) after %.0f s; a new one starts in %g s", number, process.pid,
                    how, lived, wait)
        self.pending.append(loop.call_later(wait, self.start, number))

    def reload(self) -> None:
        """SIGHUP: pass it to every worker (each loads its certificate again)."""
        self._signal(signal.SIGHUP)
        log.info("passed SIGHUP to the workers")

    async def stop(self) -> None:
        """SIGTERM to every worker; wait for them to finish their sessions, then SIGKILL what is left."""
        self.stopping = True
        for handle in self.pending:
            handle.cancel()
        if all(p is None or not p.is_alive() for p in self.processes):
            self.ended.set()
        self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.ended.wait(), self.settings.shutdown_timeout + KILL_AFTER)
        except asyncio.TimeoutError:
            log.warning("workers still running %g s after SIGTERM; killing them",
                        self.settings.shutdown_timeout + KILL_AFTER)
            self._signal(signal.SIGKILL)
            for process in self._alive():
                process.join(5)

    def _alive(self) -> Iterator[BaseProcess]:
        return (p for p in self.processes if p is not None and p.is_alive())

    def _signal(self, signum: int) -> None:
        for process in self._alive():
            assert process.pid is not None
            try:
                os.kill(process.pid, signum)
            except ProcessLookupError:
                pass


def _exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


# -- the supervisor's monitoring port ----------------------------------------------------------------------

# what the supervisor reads itself rather than sums from the workers' files
OWN_METRICS = {"smartbcc_sessions_in_flight", "smartbcc_quarantine_messages", "smartbcc_database_up",
               "smartbcc_memory_budget_bytes"}


class Reading:
    """A value a scrape sets (the quarantine's size, whether the database answered)."""

    def __init__(self) -> None:
        self.value = 0.0

    def set(self, value: float) -> None:
        self.value = float(value)


class WorkersMetrics:
    """What /metrics shows for all workers: their counters summed, and the supervisor's own readings."""

    def __init__(self, supervisor: Supervisor) -> None:
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        self.supervisor = supervisor
        self.quarantine, self.database_up = Reading(), Reading()
        self.files = MultiProcessCollector(None, path=str(supervisor.metrics_dir))
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for family in self.files.collect():
            if family.name not in OWN_METRICS:
                yield family
        shared, settings = self.supervisor.shared, self.supervisor.settings
        yield GaugeMetricFamily("smartbcc_sessions_in_flight", "SMTP sessions open now", shared.sessions)
        yield GaugeMetricFamily("smartbcc_quarantine_messages", "Messages in the quarantine waiting for a replay "
                                "(smartbcc quarantine list)", self.quarantine.value)
        yield GaugeMetricFamily("smartbcc_database_up", "1 when the database answered the last scrape's query, "
                                "else 0", self.database_up.value)
        budget = GaugeMetricFamily(
            "smartbcc_memory_budget_bytes", "The memory budget for message data (setting memory_budget), by "
            "state: limit; used, held by all sessions now; peak, the most held at once since the start",
            labels=["state"])
        for state, value in (("used", shared.memory_used), ("peak", shared.memory_peak),
                             ("limit", settings.memory_budget)):
            budget.add_metric([state], value)
        yield budget
        yield GaugeMetricFamily("smartbcc_workers_serving", "Worker processes serving now (smartbcc serve "
                                "--workers)", self.supervisor.serving())
        yield CounterMetricFamily("smartbcc_worker_restarts", "Workers that ended unexpectedly and were "
                                  "replaced", self.supervisor.restarts)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


async def _start_monitoring(supervisor: Supervisor, db: Any) -> Any:
    from gateway.config import ConfigError
    from gateway.ops.metrics import Metrics
    from gateway.ops.monitoring import Monitoring, Response

    class WorkersMonitoring(Monitoring):
        """/healthz and /readyz answer for the workers: how many serve."""

        async def health(self) -> Response:
            serving = supervisor.serving()
            if not serving:
                return Response(503, f"no worker serving (0 of {supervisor.count})\n".encode())
            return Response(200, f"ok: {serving} of {supervisor.count} workers serving\n".encode())

        async def ready(self) -> Response:
            serving = supervisor.serving()
            if supervisor.stopping:
                return Response(503, b"stopping: the gateway takes no new mail\n")
            if not serving:
                return Response(503, f"no worker serving (0 of {supervisor.count})\n".encode())
            problem = await self._database_problem()
            if problem:
                return Response(503, f"database unavailable: {problem}\n".encode())
            return Response(200, f"ready: {serving} of {supervisor.count} workers serving\n".encode())

    metrics = cast(Metrics, WorkersMetrics(supervisor))     # what Monitoring asks of it: render(), two readings
    monitoring = WorkersMonitoring(db, metrics, lambda: supervisor.stopping)
    settings = supervisor.settings
    try:
        await monitoring.start(settings.metrics_host, settings.metrics_port)
    except OSError as error:
        raise ConfigError(f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: "
                          f"{error.strerror or error}; set metrics_port to a free port, or 0 for none") from None
    return monitoring


# -- a worker ---------------------------------------------------------------------------------------------

def work(settings: Settings, number: int, count: int, sockets: list[socket.socket], shared_path: str,
         metrics_dir: str) -> None:
    """A worker process: gateway.server.run on the supervisor's sockets, counting in the shared state."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)     # a reload before this worker has a certificate: nothing to do
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    from prometheus_client import values

    values.ValueClass = values.get_value_class()      # counters in files, whatever was imported before
    _end_with_parent()
    from gateway import server

    server.configure_logging(settings.log_level, f"worker {number}")
    shared = SharedState(Path(shared_path), count)

    def serving(now: bool) -> None:
        shared.set_state(number, SERVING if now else STOPPING)

    shared.set_state(number, STARTING)
    try:
        asyncio.run(server.run(settings, server.Worker(number, sockets, shared), serving))
    finally:
        shared.close()
    sys.exit(0)


def _end_with_parent() -> None:
    """Linux: SIGTERM this worker if the supervisor dies (killed with SIGKILL, it cannot pass one on)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:       # the supervisor was gone already
        os.kill(os.getpid(), signal.SIGTERM)
