"""Where smartbcc spends its time: py-spy samples the serving process and its helpers during a phase.

``Sampler`` runs ``py-spy record --format raw --gil --subprocesses`` (folded stacks of the thread holding
the GIL, in the serving process and the processes it started: the parsing process of large messages,
serving workers) and
:func:`summarize` turns the stacks into the hottest functions, by their own time (the leaf of each
sample) and by the time spent under them (any frame of the sample), and the own time per package.
A profiled run is slower than a plain one: its throughput figures are not the benchmark's.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from bench.machine import thread_cpu

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")
AREAS = (   # first match wins: (label, substring of the file path)
    ("gateway.mail (parsing)", "gateway/mail/"), ("gateway.store", "gateway/store/"),
    ("gateway.handlers", "gateway/handlers/"), ("gateway (other)", "gateway/"),
    ("aiosmtpd", "aiosmtpd/"), ("sqlalchemy", "sqlalchemy/"), ("aiosqlite", "aiosqlite/"),
    ("asyncpg", "asyncpg/"), ("greenlet", "greenlet/"), ("email (stdlib)", "/email/"),
    ("asyncio and selectors (stdlib)", "/asyncio/"), ("asyncio and selectors (stdlib)", "/selectors.py"),
    ("logging (stdlib)", "/logging/"), ("base64 (stdlib)", "/base64.py"), ("other stdlib", "/lib/python3"),
)


class Sampler:
    """py-spy on a process for one phase, and each of its threads' CPU over the same time.

    ``--gil``: only the thread holding the GIL is sampled, so the profile is where Python code burns
    CPU (SQLite's own work runs in aiosqlite's threads without the GIL: the thread split shows it).
    """

    def __init__(self, pid: int, out: Path, rate: int = 200) -> None:
        self.pid = pid
        self.out = out
        self.process: subprocess.Popen[bytes] | None = None
        if shutil.which("py-spy"):
            self.process = subprocess.Popen(
                ["py-spy", "record", "--pid", str(pid), "--format", "raw", "-o", str(out), "--rate", str(rate),
                 "--nonblocking", "--gil", "--subprocesses"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)    # attached before the load starts
        self.threads_before = thread_cpu(pid)

    def stop(self, messages: int) -> None:
        after = thread_cpu(self.pid)
        main = min(after)
        spent = {tid: cpu - self.threads_before.get(tid, 0.0) for tid, cpu in after.items()}
        others = sum(cpu for tid, cpu in spent.items() if tid != main)
        per = max(1, messages)
        self.out.with_suffix(".threads").write_text(
            f"server CPU per accepted message: {sum(spent.values()) / per * 1000:.1f} ms, of which the main "
            f"thread (event loop: SMTP, parsing, SQLAlchemy) {spent.get(main, 0.0) / per * 1000:.1f} ms and "
            f"{len(spent) - 1} other threads (SQLite's: the filing writer, the checkpointer, aiosqlite's; "
            f"the parse pool's) "
            f"{others / per * 1000:.1f} ms\n")
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _frame_name(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame)
    if not match:
        return frame, ""
    path = match["file"]
    short = re.sub(r"^.*?/(site-packages|lib/python3\.\d+)/", "", path)
    short = re.sub(r"^.*/(gateway|bench)/", r"\1/", short)
    return f"{match['function']} ({short})", path


def _area(path: str) -> str:
    return next((label for label, part in AREAS if part in path), "other" if path else "native / unknown")


def summarize(raw: Path, top: int = 15) -> str:
    """Markdown: the thread split, own time per package, the hottest functions by own and by total time."""
    threads = raw.with_suffix(".threads")
    head = [threads.read_text().strip(), ""] if threads.exists() else []
    if not raw.exists():
        return "\n".join(head + ["No samples: py-spy is not installed (pip install py-spy)."]) + "\n"
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [_frame_name(f) for f in stack.split(";")]
        leaf, leaf_path = frames[-1]
        own[leaf] += n
        areas[_area("/" + leaf_path if leaf_path else "")] += n
        for name in {name for name, _ in frames}:
            total[name] += n
    if not samples:
        return "\n".join(head + ["No samples (py-spy could not attach)."]) + "\n"

    def pct(n: int) -> str:
        return f"{n * 100 / samples:.1f}%"

    out = head + [f"{samples:,} samples of the thread holding the GIL.", "",
                  "| own time by package | share |", "|---|---|"]
    out += [f"| {area} | {pct(n)} |" for area, n in areas.most_common()]
    out += ["", "| hottest functions, own time | share |", "|---|---|"]
    out += [f"| `{name}` | {pct(n)} |" for name, n in own.most_common(top)]
    out += ["", "| hottest functions, total time (own + callees) | share |", "|---|---|"]
    skip = ("(click/", "(asyncio/runners.py)", "(asyncio/base_events.py)", "(asyncio/events.py)", "(threading.py)",
            "runpy", "(<string>)", "(gateway/commands/", "(gateway/server.py)")
    ranked = [(name, n) for name, n in total.most_common() if not any(part in name for part in skip)]
    out += [f"| `{name}` | {pct(n)} |" for name, n in ranked[:top]]
    return "\n".join(out) + "\n"
