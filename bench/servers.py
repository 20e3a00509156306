"""The servers under test, each in a subprocess of its own, and their memory as Linux reports it.

Memory comes from ``/proc/PID/status``: VmRSS now, VmHWM the peak. Before each phase the peak is reset
to the current RSS (``echo 5 > /proc/PID/clear_refs``), so a phase's growth is its peak minus the RSS it
started from. The highest peak over all phases is the process's peak.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.machine import descendants
from gateway.config import Settings

ROOT = Path(__file__).resolve().parent.parent
_PROBLEM = re.compile(r"^\S+ \S+ (?P<level>WARNING|ERROR|CRITICAL) (?P<logger>\S+): (?P<text>.*)$")
_EXCEPTION = re.compile(r"^[\w.]*(Error|Exception|Timeout|Exit)\b")
_ENTRY = re.compile(r"^\S+ \S+ [A-Z]+ \S+: ")
_BLUR = re.compile(r"<[^<>\s]+>|\d+(\.\d+)*")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")


@dataclass(frozen=True)
class Memory:
    """One phase's memory, in bytes: the RSS it started from and the peak it reached; ``helpers``: the
    growth of the processes the server started (a helper that appeared during the phase counts whole)."""

    start_rss: int
    peak: int
    helpers: int = 0

    @property
    def own_growth(self) -> int:
        return max(0, self.peak - self.start_rss)

    @property
    def growth(self) -> int:
        return self.own_growth + self.helpers


class ServerProcess:
    def __init__(self, name: str, argv: list[str], port: int, log_path: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = port
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.baseline_rss = 0
        self.peak = 0
        self._phase_start = 0
        self._helpers_start: dict[int, int] = {}
        self.peak_resettable = True

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_listening(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                self.baseline_rss = self.rss()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on {self.port} within {seconds} s: {self.log_tail()}")

    def rss(self) -> int:
        return _status_kib(self.pid, "VmRSS") * 1024

    def begin_phase(self) -> None:
        self._helpers_start = {}
        for pid in [self.pid, *descendants(self.pid)]:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
                if pid != self.pid:
                    self._helpers_start[pid] = _status_kib(pid, "VmRSS") * 1024
            except OSError:
                self.peak_resettable = False    # then every phase reports the process's peak so far
        self._phase_start = self.rss()

    def end_phase(self) -> Memory:
        peak = _status_kib(self.pid, "VmHWM") * 1024
        self.peak = max(self.peak, peak)
        helpers = 0
        for pid in descendants(self.pid):
            try:
                helpers += max(0, _status_kib(pid, "VmHWM") * 1024 - self._helpers_start.get(pid, 0))
            except (OSError, LookupError):
                continue
        return Memory(self._phase_start, peak, helpers)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.peak = max(self.peak, _status_kib(self.pid, "VmHWM") * 1024)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log_problems(self, limit: int = 5) -> list[str]:
        """The server's WARNING and ERROR lines (with the exception that ended a traceback), grouped with
        numbers and Message-IDs blurred, most frequent first."""
        counts: dict[str, int] = {}
        key = ""
        for line in self.log_path.read_text(errors="replace").splitlines() + ["0 0 INFO end: end"]:
            match = _PROBLEM.match(line) or _ENTRY.match(line)
            if match is None:          # a traceback line: its last one names the exception
                cause = line.strip() if _EXCEPTION.match(line) else ""
                key = f"{key.split(' <- ')[0]} <- {cause}" if key and cause else key
                continue
            if key:
                counts[key] = counts.get(key, 0) + 1
            key = ""
            if match.re is _PROBLEM:
                key = _BLUR.sub("N", f"{match['level']} {match['logger']}: {match['text']}")
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:limit]
        return [f"{n} x `{text[:300]}`" for text, n in ranked]

    def log_tail(self, lines: int = 15) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def start_bare(work: Path, data_size_limit: int) -> ServerProcess:
    port = free_port()
    server = ServerProcess("bare aiosmtpd", [sys.executable, "-m", "bench.bare_server", str(port),
                                             str(data_size_limit)], port, work / "bare.log", _clean_env())
    server.wait_listening()
    return server


def start_floor(work: Path, data_size_limit: int) -> ServerProcess:
    """bench/floor_server.py on a SQLite file of its own in ``work``."""
    port = free_port()
    server = ServerProcess("floor", [sys.executable, "-m", "bench.floor_server", str(port),
                                     str(work / "floor.db"), str(data_size_limit)], port, work / "floor.log",
                           _clean_env())
    server.wait_listening()
    return server


def server_overrides(settings: Settings) -> dict[str, str]:
    """SMARTBCC_* for the serving process: the bench's database, and only settings this version has."""
    known = {f.name for f in dataclasses.fields(Settings)}
    wanted = {
        "data_dir": str(settings.data_dir), "database_url": settings.database_url,
        "mail_domain": settings.mail_domain, "host": "127.0.0.1", "log_level": settings.log_level,
        "antispoof": "none",                          # no DNS: not what this benchmark measures
        "trusted_networks": "127.0.0.0/8,::1",
        # abuse limits, where this version has them: the load is one client sending a lot, on purpose
        "max_sessions": "10000", "max_sessions_per_client": "10000",
        "sender_hourly_limit": "1000000000", "auto_hourly_limit": "1000000000",
        # one serving process, where `serve` starts one per core by default: the phases measure one process
        # and its helpers, as bare aiosmtpd is one; `serve --workers N` has its own phases (bench.run)
        "workers": "1",
    }
    return {f"SMARTBCC_{k.upper()}": v for k, v in wanted.items() if k in known}


def start_smartbcc(work: Path, settings: Settings, log_name: str = "smartbcc.log", extra: tuple[str, ...] = (),
                   name: str = "smartbcc") -> ServerProcess:
    """`python -m gateway.cli serve [extra]` where the CLI exists, else gateway.server.run via ``python -c``."""
    port = free_port()
    env = {**_clean_env(), **server_overrides(settings)}
    if (ROOT / "gateway" / "cli").exists() or (ROOT / "gateway" / "cli.py").exists():
        argv = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), *extra]
    else:
        argv = [sys.executable, "-c", "import asyncio, gateway.server, gateway.config; "
                f"asyncio.run(gateway.server.run(gateway.config.load_settings(overrides={{'port': {port}}})))"]
    server = ServerProcess(name, argv, port, work / log_name, env)
    server.wait_listening()
    return server
