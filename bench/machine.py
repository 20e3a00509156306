"""What the figures were measured on, and who else used the CPU meanwhile.

A phase's CPU split (client, server, everything else) comes from ``/proc``: the whole machine's busy
time from ``/proc/stat``, the server's from ``/proc/PID/stat``, the load generator's from getrusage.
A client near 100% of a core means the client, not the server, set the pace; "other" is noise from
processes outside the benchmark (this machine is shared).
"""

from __future__ import annotations

import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _busy_seconds() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)     # idle + iowait
    return (sum(fields[:8]) - idle) / TICK


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (its threads included)."""
    return process_cpu_path(Path(f"/proc/{pid}/stat"))


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of a process; the lowest id is the main thread (the event loop)."""
    out = {}
    for tid in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(tid.name)] = process_cpu_path(tid / "stat")
        except (OSError, ValueError):
            pass     # a thread that just ended
    return out


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (smartbcc's parsing worker and its fork server)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids = [int(kid) for kid in children.read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found


def server_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of a server process and of each process it started (its helpers)."""
    out = {pid: process_cpu(pid)}
    for helper in descendants(pid):
        try:
            out[helper] = process_cpu(helper)
        except (OSError, ValueError, IndexError):
            pass     # a helper that just ended
    return out


def process_cpu_path(path: Path) -> float:
    stat = path.read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _own_cpu() -> float:
    """The load generator's CPU: this process and the children it waited for (smtp-source runs)."""
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


@dataclass(frozen=True)
class CpuSplit:
    """CPU used during a phase, in percent of one core (200% = both cores of a 2-core machine)."""

    client: float
    server: float
    other: float
    processes: tuple[float, ...] = ()    # the server's share per process: itself first, then its helpers


class CpuMeter:
    """The CPU of a phase: the load generator (this process), the server with its helper processes
    (smartbcc's parsing process), and everything else on the machine."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.start = (time.perf_counter(), _busy_seconds(), _own_cpu(), server_cpu(server_pid))

    def stop(self) -> CpuSplit:
        wall, busy, own, server = (time.perf_counter(), _busy_seconds(), _own_cpu(), server_cpu(self.server_pid))
        seconds = max(wall - self.start[0], 1e-9)
        client = (own - self.start[2]) / seconds * 100
        each = [(cpu - self.start[3].get(pid, 0.0)) / seconds * 100 for pid, cpu in server.items()]
        served = sum(each)
        total = (busy - self.start[1]) / seconds * 100
        return CpuSplit(round(client), round(served), round(max(0.0, total - client - served)),
                        tuple(round(x) for x in each))


def wait_quiet(limit: float, busy_below: float = 25.0) -> float:
    """Wait (at most ``limit`` seconds) until the machine's CPU, sampled over 3 s, is below ``busy_below``
    percent of one core; returns the last sample. Other people's test runs skew every figure."""
    deadline = time.monotonic() + limit
    while True:
        start, busy = time.perf_counter(), _busy_seconds()
        time.sleep(3)
        percent = (_busy_seconds() - busy) / (time.perf_counter() - start) * 100
        if percent < busy_below or time.monotonic() >= deadline:
            print(f"machine busy at {percent:.0f}% of a core before the run", flush=True)
            return percent
        print(f"machine busy at {percent:.0f}% of a core: waiting for it to calm down", flush=True)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_total() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_revision() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "gateway"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + uncommitted changes in gateway/' if dirty else ''}" if head else "unknown"


def describe(postgres_version: str = "") -> dict[str, str]:
    """The facts RESULTS.md starts with."""
    load = os.getloadavg()
    facts = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable by this process)",
        "memory": _memory_total(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "packages": ", ".join(f"{p} {_version(p)}" for p in ("aiosmtpd", "SQLAlchemy", "aiosqlite", "asyncpg")),
        "sqlite": sqlite3.sqlite_version,
        "smartbcc revision": _git_revision(),
        "load average at start": " ".join(f"{x:.2f}" for x in load),
    }
    if postgres_version:
        facts["postgresql"] = postgres_version
    return facts
