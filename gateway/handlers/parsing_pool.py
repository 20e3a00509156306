"""Parse big messages in a worker process, so that the event loop keeps serving the other sessions.

Parsing is pure Python: in a thread it would still hold the interpreter lock for most of a large
message, and every session of the gateway would wait. A worker process (started by a fork server, so
it inherits none of the gateway's threads or sockets) parses it instead; the loop only waits for the
result. The message reaches the worker through a private temporary file (mode 0600; the one DATA
spooled it into, gateway.handlers.spool, or one made here and removed once parsed), not the pipe,
which would hold a pickled copy of it here. That file is made in ``spool_dir`` (setting ``spool_dir``), as
DATA's spools are, or in the system's temporary folder when it is not set.

The worker has a budget: its address space is capped (``parse_memory_limit``, RLIMIT_AS) and each
parse has a deadline (``parse_timeout``). A worker past its deadline is killed; one that dies (the
kernel's OOM killer, a signal, a crash) is noticed; either way the message is filed from a degraded,
header-only parse made here (gateway.mail.parsing.degraded_parse, bounded and flagged), and the next
message gets a new worker. A worker never outlives the gateway: on Linux the kernel kills it when its
parent goes (PR_SET_PDEATHSIG), and on any system a thread in it exits the process once the pipe
from the gateway reaches end-of-file or its parent changes. When no worker can be started at all,
the message is parsed in a thread: slower for the others, never lost.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from gateway.handlers.spool import Spool, spool
from gateway.mail.message import ParsedMessage
from gateway.mail.parsing import degraded_parse, parse_message

log = logging.getLogger("smartbcc.smtp")

IN_PROCESS_LIMIT = 64 * 1024    # smaller messages parse on the loop: faster than a round trip
NICENESS = 10                   # the parsing process gives way to the serving one for the CPU
PR_SET_PDEATHSIG = 1            # prctl(2)
WATCH_INTERVAL = 1.0            # seconds between the worker's looks at its parent


def _preload() -> list[str]:
    """What the fork server imports once, so that each worker forked from it starts in milliseconds: the main
    module as multiprocessing's default has it, this module, and the main module a worker would otherwise
    import anew by name (``python -m gateway.cli serve``: the whole command line, most of a second each)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    name = getattr(spec, "name", None)
    by_name = [name] if name and name != "__main__" and not name.endswith(".__main__") else []
    return ["__main__", __name__, *by_name]


class _Worker:
    """One parsing process and the gateway's end of its pipe; used by one parse at a time."""

    def __init__(self, memory_limit: int) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_preload())     # read when the fork server starts; later, changes nothing
        self.conn, child = context.Pipe()
        lifeline, self._lifeline = context.Pipe(duplex=False)   # never written: closes when the gateway does
        self.process = context.Process(target=_serve, args=(child, lifeline, memory_limit), daemon=True,
                                       name="smartbcc-parser")
        self.process.start()
        child.close()
        lifeline.close()

    def call(self, request: tuple[Any, ...], timeout: float) -> tuple[str, Any]:
        """Send ``request`` and wait for the answer: ("ok", ParsedMessage) or ("degraded", why); raises
        TimeoutError past ``timeout``, EOFError/OSError when the process died."""
        self.conn.send(request)
        if not self.conn.poll(timeout):
            raise TimeoutError
        return self.conn.recv()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(5)
        except (OSError, ValueError, AssertionError):
            pass
        self.conn.close()
        self._lifeline.close()


class Parser:
    def __init__(self, mail_domain: str, workers: int = 1, timeout: float = 5.0, memory_limit: int = 0,
                 spool_dir: str | None = None) -> None:
        """``timeout``: seconds a parse may take in a worker; ``memory_limit``: bytes of address space of
        a worker (0: no limit); ``spool_dir``: where a message not spooled yet is written for the worker
        (None: the system's temporary folder)."""
        self.mail_domain = mail_domain
        self.spool_dir = spool_dir
        self.workers = workers
        self.timeout = timeout
        self.memory_limit = memory_limit
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._slots: asyncio.Semaphore | None = None
        self._broken = False

    def pids(self) -> list[int]:
        """The parsing processes running now (for operators and tests)."""
        return [w.pid for w in [*self._idle, *self._busy] if w.pid is not None and w.process.is_alive()]

    async def parse(self, raw: bytes, spooled: str | None = None) -> ParsedMessage:
        """``spooled``: a file that holds ``raw`` already (gateway.handlers.spool), for the worker to read."""
        if len(raw) <= IN_PROCESS_LIMIT:
            return parse_message(raw, mail_domain=self.mail_domain)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        async with self._slots:
            own: Spool | None = None
            try:
                if spooled is None:
                    try:
                        own = await asyncio.to_thread(spool, raw, self.spool_dir)
                        spooled = own.path
                    except OSError as error:     # no room for a temporary file: hand the bytes over instead
                        log.warning("cannot spool a %d-byte message for parsing (%r)", len(raw), error)
                request = ("file", spooled, self.mail_domain) if spooled else ("bytes", raw, self.mail_domain)
                for attempt in (1, 2):
                    worker = await self._take()
                    if worker is None:
                        return await asyncio.to_thread(parse_message, raw, mail_domain=self.mail_domain)
                    self._busy.add(worker)
                    try:
                        kind, value = await asyncio.to_thread(worker.call, request, self.timeout)
                    except TimeoutError:
                        log.warning("parsing a %d-byte message took over %g s; its process %s is replaced and "
                                    "the message filed from its headers", len(raw), self.timeout, worker.pid)
                        return self._lost(worker, raw, f"the parse took over {self.timeout:g} s")
                    except (EOFError, OSError) as error:
                        # A process killed between two messages may still look alive when it is handed the
                        # next one: that message gets one more process before it is filed from its headers.
                        code = worker.process.exitcode
                        if attempt == 1:
                            log.warning("the parsing process %s died (%r, exit code %s); the message goes to "
                                        "a new one", worker.pid, error, code)
                            worker.kill()
                            continue
                        log.warning("the parsing process %s died (%r, exit code %s); it is replaced and the "
                                    "message filed from its headers", worker.pid, error, code)
                        return self._lost(worker, raw, f"the parsing process died (exit code {code})")
                    finally:
                        self._busy.discard(worker)
                    self._idle.append(worker)
                    break
            finally:
                if own is not None:
                    own.remove()
        if kind == "ok":
            return value
        return degraded_parse(raw, mail_domain=self.mail_domain, why=value)

    def _lost(self, worker: _Worker, raw: bytes, why: str) -> ParsedMessage:
        worker.kill()
        return degraded_parse(raw, mail_domain=self.mail_domain, why=why)

    async def _take(self) -> _Worker | None:
        while self._idle:
            worker = self._idle.pop()
            if worker.process.is_alive():
                return worker
            log.warning("the parsing process %s had died (exit code %s); starting another",
                        worker.pid, worker.process.exitcode)
            worker.kill()
        if self._broken:
            return None
        try:
            return await asyncio.to_thread(_Worker, self.memory_limit)
        except (OSError, ValueError) as error:
            log.warning("cannot start a parsing process (%r); parsing in a thread", error)
            self._broken = True
            return None

    def close(self) -> None:
        for worker in [*self._idle, *self._busy]:
            try:
                worker.conn.close()           # end-of-file: the worker exits by itself
                worker._lifeline.close()
                worker.process.join(5)
            except (OSError, ValueError, AssertionError):
                pass
            if worker.process.is_alive():
                worker.kill()
        self._idle.clear()
        self._busy.clear()


def _serve(conn: Connection, lifeline: Connection, memory_limit: int) -> None:
    """The parsing process: parse what the gateway sends until its end of the pipe closes."""
    _die_with_the_gateway(lifeline)
    _yield_to_the_loop()
    _limit_memory(memory_limit)
    while True:
        try:
            kind, data, mail_domain = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if kind == "file":
                with open(data, "rb") as spooled:
                    data = spooled.read()
            answer: tuple[str, Any] = ("ok", parse_message(data, mail_domain=mail_domain))
        except MemoryError:
            answer = ("degraded", "the parse went over parse_memory_limit")
        except Exception as error:      # parse_message does not raise; reading the file may
            answer = ("degraded", f"the parsing process failed ({type(error).__name__})")
        data = None
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("degraded", "the parse went over parse_memory_limit"))


def _die_with_the_gateway(lifeline: Connection) -> None:
    """End this process when the gateway ends, however it ends (SIGKILL included): ``lifeline`` is a pipe
    only the gateway holds the other end of, and never writes to."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError) as error:
            log.warning("the parsing process cannot ask to die with its parent (%r)", error)
    if os.getppid() != parent:       # the parent went before prctl took effect
        os._exit(0)

    def watch() -> None:             # portable: the parent changed, or the lifeline reached end-of-file
        try:
            while not lifeline.poll(WATCH_INTERVAL) and os.getppid() == parent:
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _yield_to_the_loop() -> None:
    """In the parsing process: a lower CPU priority. Parsing one large message takes a while whatever
    happens; the serving process answers every session, so when the two want the same core it goes first."""
    try:
        os.nice(NICENESS)
    except OSError as error:
        log.warning("the parsing process keeps its priority (%r)", error)


def _limit_memory(limit: int) -> None:
    """Cap this process's address space at ``limit`` bytes (0: no cap), so a parse that would take the
    host's memory fails with MemoryError here instead."""
    if limit <= 0:
        return
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError) as error:
        log.warning("the parsing process has no memory cap (%r)", error)
