"""Is the load generator fast enough? Our client against Postfix's ``smtp-sink`` (C, answers everything):
the most our client can push on this machine; it should be well above what the bare aiosmtpd server
takes. (Postfix's ``smtp-source`` against every server is bench/source.py: a client that costs next to
nothing; where it gets about what our client gets, a figure is the server's, not the client's.)
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench.load import run_phase
from bench.mail import MessageFactory
from bench.servers import free_port


def _rate(what: str, messages: int, seconds: float, size: int, extra: str = "") -> tuple[str, str]:
    return what, f"{messages / seconds:,.0f} msg/s ({messages * size / 1e6 / seconds:,.1f} MB/s){extra}"


async def client_vs_sink(work: Path, factory: MessageFactory, size: int, count: int,
                         concurrency: int) -> list[tuple[str, str]]:
    if not shutil.which("smtp-sink"):
        return [("our client against smtp-sink", "smtp-sink not installed (apt-get install postfix)")]
    port = free_port()
    with (work / "smtp-sink.log").open("wb") as log:
        sink = subprocess.Popen(["smtp-sink", "-u", "nobody", f"127.0.0.1:{port}", "1024"],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(0.5)
            phase = await run_phase("sink", "127.0.0.1", port, factory.make, size, count, concurrency)
        finally:
            sink.send_signal(signal.SIGTERM)
            sink.wait(10)
    extra = f", {len(phase.errors)} errors" if phase.errors else ""
    return [_rate(f"our client against smtp-sink, {size / 1e3:g} kB, {concurrency} sessions",
                  len(phase.accepted), phase.seconds, size, extra)]
