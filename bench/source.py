"""Postfix's ``smtp-source`` (C) as a second load generator, against every server of the run.

``smtp-source -s SESSIONS -m COUNT -l LENGTH -M HOST -f SENDER -t RECIPIENT 127.0.0.1:PORT``: a fresh
connection per message, HELO, MAIL, RCPT, DATA, in lock step like bench/load.py, at next to no CPU of its
own. Its message is its own: ``From: <SENDER>``, ``To: <RECIPIENT>``, ``Date``, ``Message-Id:
<pid.session.count@HOST>``, then LENGTH bytes of 80-character lines of ``X``. smartbcc accepts it as a
message its user sent to the gateway (the seeded user's address in From); ``-M`` gives each run a host
name of its own, so the run's Message-IDs can be told apart in smartbcc's database.

smtp-source stops at the first reply other than the expected one and exits non-zero: a run that exits 0
had every message answered 250.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass

from bench.machine import CpuMeter, CpuSplit

SMTP_SOURCE = "smtp-source"


@dataclass(frozen=True)
class SourceRun:
    server: str
    size_name: str
    length: int              # -l: the body's length, headers not counted
    messages: int
    sessions: int
    seconds: float
    error: str               # "" when every message got its 250
    cpu: CpuSplit
    host: str                # -M: the Message-IDs end with @host

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds if self.ok and self.seconds else 0.0


def available() -> bool:
    return shutil.which(SMTP_SOURCE) is not None


def run_source(server: str, size_name: str, port: int, pid: int, length: int, count: int, sessions: int,
               sender: str, recipient: str) -> SourceRun:
    host = f"src{secrets.token_hex(4)}.bench.example"
    argv = [SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(length), "-M", host,
            "-f", sender, "-t", recipient, f"127.0.0.1:{port}"]
    meter = CpuMeter(pid)
    started = time.perf_counter()
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=900)
        error = "" if result.returncode == 0 else \
            f"exit {result.returncode}: {(result.stderr or result.stdout).strip()[:300]}"
    except subprocess.TimeoutExpired:
        error = "no end within 900 s"
    seconds = time.perf_counter() - started
    return SourceRun(server, size_name, length, count, sessions, seconds, error, meter.stop(), host)
