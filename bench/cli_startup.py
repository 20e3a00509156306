"""How fast the `smartbcc` command answers: wall time from exec to exit of a few commands.

Each command runs ``runs`` times against the run's seeded database (the environment names it, as an
admin's would); the best and the median are kept. ``python -c pass`` on the same interpreter is the
baseline: what starting Python costs before smartbcc imports anything.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

COMMANDS = (("--help",), ("messages", "list", "--json"), ("company", "list"), ("user", "list"))
BASELINE = "python -c pass"


@dataclass(frozen=True)
class Startup:
    command: str
    best: float              # seconds
    median: float
    runs: int
    error: str = ""


def smartbcc_argv() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m gateway.cli``."""
    script = Path(sys.executable).with_name("smartbcc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway.cli"]


def _time(argv: list[str], env: dict[str, str], runs: int) -> tuple[list[float], str]:
    times: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(argv, env=env, capture_output=True, timeout=120)
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            return times, f"exit {result.returncode}: {result.stderr.decode(errors='replace').strip()[-200:]}"
    return times, ""


def measure(environ: dict[str, str], runs: int = 5,
            commands: tuple[tuple[str, ...], ...] = COMMANDS) -> list[Startup]:
    """The baseline first, then each of ``commands``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")} | environ
    out = []
    for label, argv in [(BASELINE, [sys.executable, "-c", "pass"])] + \
                       [("smartbcc " + " ".join(c), smartbcc_argv() + list(c)) for c in commands]:
        times, error = _time(argv, env, runs)
        out.append(Startup(label, min(times), statistics.median(times), len(times), error))
    return out


def serve_has_workers(environ: dict[str, str]) -> bool:
    """Whether this version's `smartbcc serve` takes ``--workers``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")} | environ
    result = subprocess.run(smartbcc_argv() + ["serve", "--help"], env=env, capture_output=True, text=True,
                            timeout=120)
    return "--workers" in result.stdout
