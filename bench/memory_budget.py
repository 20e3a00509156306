"""Peak memory of the serving process under many concurrent large senders, and what the budget answered.

    python -m bench.memory_budget [--senders 200] [--size-mb 20] [--budget-mb 0] [--rounds 1]

A gateway runs in a subprocess of its own (`python -m gateway.cli serve`) on a fresh SQLite file, with
``memory_budget`` as given; ``--senders`` clients connect at once over raw sockets, each sends one
message of ``--size-mb`` (plain text lines) and reports the reply to MAIL and to the end of its data.
The serving process's peak RSS is VmHWM in ``/proc/PID/status`` (the parsing process is another
process, reported apart). Expect 250s, ``452 4.3.1`` at MAIL and ``451 4.3.1`` after DATA: the deferred
senders would retry later, as MTAs do.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPANY = "acme@bcc.example.net"
USER = "ada@acme.example"


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    """``pid``'s descendants (the parsing processes are the fork server's children)."""
    try:
        children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return children + [grandchild for child in children for grandchild in _children(child)]


def _message(index: int, size: int) -> bytes:
    head = (f"From: {USER}\r\nTo: bob@customer.example\r\nSubject: large {index}\r\n"
            f"Message-ID: <large-{index}-{time.time_ns()}@acme.example>\r\n"
            f"Date: Mon, 06 Jan 2025 10:15:00 +0100\r\nContent-Type: text/plain\r\n\r\n").encode()
    line = b"the quick brown fox jumps over the lazy dog, and again and again and again.....\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


async def _reply(reader: asyncio.StreamReader) -> str:
    while True:
        line = (await reader.readline()).decode(errors="replace")
        if not line:
            return "EOF"
        if line[3:4] != "-":
            return line.strip()


async def _sender(port: int, index: int, body: bytes, start: asyncio.Event) -> str:
    await start.wait()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as error:
        return f"connect: {error.__class__.__name__}"
    try:
        await _reply(reader)
        for command in (b"EHLO bench.example", f"MAIL FROM:<{USER}>".encode()):
            writer.write(command + b"\r\n")
            answer = await _reply(reader)
        if not answer.startswith("250"):
            return "MAIL " + answer[:9]
        writer.write(f"RCPT TO:<{COMPANY}>\r\nDATA\r\n".encode())
        await _reply(reader)
        if not (await _reply(reader)).startswith("354"):
            return "DATA refused"
        for offset in range(0, len(body), 1 << 20):
            writer.write(body[offset:offset + (1 << 20)])
            await writer.drain()
        writer.write(b".\r\nQUIT\r\n")
        return "DATA " + (await _reply(reader))[:9]
    except (OSError, asyncio.IncompleteReadError) as error:
        return f"error: {error.__class__.__name__}"
    finally:
        writer.close()


async def _load(port: int, senders: int, size: int) -> collections.Counter[str]:
    start = asyncio.Event()
    bodies = [_message(i, size) for i in range(min(senders, 4))]     # a few distinct bodies, shared
    tasks = [asyncio.create_task(_sender(port, i, bodies[i % len(bodies)], start)) for i in range(senders)]
    start.set()
    return collections.Counter(await asyncio.gather(*tasks))


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--senders", type=int, default=200)
    options.add_argument("--size-mb", type=float, default=20)
    options.add_argument("--budget-mb", type=float, default=0, help="memory_budget; 0: its default")
    options.add_argument("--rounds", type=int, default=1)
    args = options.parse_args()
    size = int(args.size_mb * 1024 * 1024)
    with tempfile.TemporaryDirectory(prefix="smartbcc-budget-") as work:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
        env.update(PYTHONPATH=str(ROOT), SMARTBCC_DATA_DIR=work, SMARTBCC_MAIL_DOMAIN="bcc.example.net",
                   SMARTBCC_PORT=str(port),
                   SMARTBCC_MAX_MESSAGE_SIZE=str(max(size + 65536, 20 * 1024 * 1024)),
                   SMARTBCC_MAX_SESSIONS=str(args.senders + 10),
                   SMARTBCC_MAX_SESSIONS_PER_CLIENT=str(args.senders + 10), SMARTBCC_LOG_LEVEL="WARNING")
        if args.budget_mb:          # 0: the default (or a version without the setting)
            env["SMARTBCC_MEMORY_BUDGET"] = str(int(args.budget_mb * 1024 * 1024))
        subprocess.run([sys.executable, "-c", _SEED], cwd=ROOT, env=env, check=True)
        log = open(Path(work) / "server.log", "wb")
        server = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit((Path(work) / "server.log").read_text())
                    time.sleep(0.1)
            idle = _status_kib(server.pid, "VmRSS")
            began = time.monotonic()
            outcomes: collections.Counter[str] = collections.Counter()
            for _ in range(args.rounds):
                outcomes += asyncio.run(_load(port, args.senders, size))
            seconds = time.monotonic() - began
            peak = _status_kib(server.pid, "VmHWM")
            helpers = sum(_status_kib(child, "VmHWM") for child in _children(server.pid))
        finally:
            server.terminate()
            server.wait(30)
            log.close()
    print(f"{args.senders} senders x {args.rounds} round(s) of {args.size_mb:g} MB, memory_budget "
          f"{f'{args.budget_mb:g} MiB' if args.budget_mb else 'default'}: {seconds:.1f} s")
    print(f"serving process: RSS {idle / 1024:.0f} MiB idle, peak {peak / 1024:.0f} MiB "
          f"(parsing processes' peaks together: {helpers / 1024:.0f} MiB)")
    for outcome, number in sorted(outcomes.items()):
        print(f"  {number:5d}  {outcome}")


_SEED = """
import sys
sys.path.insert(0, 'tests')
from gateway.config import load_settings
from gwtest import seed
seed(load_settings())
"""

if __name__ == "__main__":
    main()
