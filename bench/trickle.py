"""Do 200 trickling sessions lock real senders out? ``python -m bench.trickle`` measures it.

The real gateway (default limits: max_sessions 200, 20 per client address) runs on a loopback port. 200
tricklers fill it from ten addresses (127.0.0.10-19): half sit between commands and send a NOOP every
few seconds, half are in DATA and send one byte every two seconds; none ever falls silent long enough
for ``idle_timeout`` or ``data_timeout``. Once they have held the server for ``--hold`` seconds, real
senders (from 127.0.0.2) connect one after another, each sending a whole message. The script prints,
for the real senders, how many got in and how long each took from connecting to the 250; and, for the
tricklers, how many were shed to make room and how many the DATA rate bound cut off.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.config import load_settings
from gateway.server import RunningGateway, start
from gateway.store.database import Database, initialize
from gateway.store.models import Company, User

USER = "ada@acme.example"
MESSAGE = (b"From: ada@acme.example\r\nTo: bob@customer.example\r\nSubject: real\r\n"
           b"Message-ID: <%d.real@acme.example>\r\nDate: Mon, 06 Jan 2025 10:15:00 +0100\r\n\r\nHello.\r\n")


@dataclass
class Trickler:
    in_data: bool
    ended: str = ""          # the reply that ended it, if any
    ended_at: float = 0.0


async def _reply(reader: asyncio.StreamReader) -> bytes:
    while True:
        line = await reader.readline()
        if not line or line[3:4] != b"-":
            return line


async def _trickle(port: int, source: str, trickler: Trickler, started: float, stop: asyncio.Event,
                   company: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        if not (await _reply(reader)).startswith(b"220"):
            trickler.ended = "refused"
            return
        writer.write(b"EHLO trickler.example\r\n")
        await _reply(reader)
        if trickler.in_data:
            for line in (f"MAIL FROM:<{USER}>", f"RCPT TO:<{company}>", "DATA"):
                writer.write(line.encode() + b"\r\n")
                await _reply(reader)
        every = 2.0 if trickler.in_data else 5.0
        while not stop.is_set():
            writer.write(b"x" if trickler.in_data else b"NOOP\r\n")
            sent = time.monotonic()
            pending = asyncio.ensure_future(_reply(reader))
            done, _ = await asyncio.wait({pending}, timeout=every)
            if not done:
                if not trickler.in_data:
                    continue           # (a NOOP is always answered; for DATA, silence is the normal case)
                pending.cancel()
                continue
            line = pending.result()
            if trickler.in_data or not line.startswith(b"250"):
                trickler.ended, trickler.ended_at = line.decode().strip() or "closed", time.monotonic() - started
                return
            await asyncio.sleep(max(0.0, every - (time.monotonic() - sent)))
    except (ConnectionError, OSError):
        trickler.ended, trickler.ended_at = "reset", time.monotonic() - started
    finally:
        writer.close()


async def _send_one(port: int, number: int, company: str) -> tuple[bool, float, str]:
    began = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
    except OSError as error:
        return False, time.monotonic() - began, str(error)
    try:
        greeting = await _reply(reader)
        if not greeting.startswith(b"220"):
            return False, time.monotonic() - began, greeting.decode().strip()
        for line in ("EHLO sender.example", f"MAIL FROM:<{USER}>", f"RCPT TO:<{company}>", "DATA"):
            writer.write(line.encode() + b"\r\n")
            await _reply(reader)
        writer.write(MESSAGE % number + b".\r\n")
        final = await _reply(reader)
        writer.write(b"QUIT\r\n")
        return final.startswith(b"250"), time.monotonic() - began, final.decode().strip()
    finally:
        writer.close()


async def _seed(db: Database) -> None:
    async with db.sessions() as session, session.begin():
        acme = Company(name="Acme", domain="acme.example", slug="acme")
        session.add(acme)
        await session.flush()
        session.add(User(company_id=acme.id, email=USER, name="Ada"))


async def measure(tricklers: int, hold: float, senders: int, watch: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="smartbcc-trickle-"))
    settings = load_settings(overrides={"data_dir": str(folder), "mail_domain": "bcc.example.net", "port": 0,
                                        "antispoof": "none", "log_level": "ERROR"}, environ={})
    await initialize(settings)
    db = await Database.open(settings)
    await _seed(db)
    company = db.company_address("acme")
    await db.close()
    # the gateway on an event loop of its own, as in production: the clients here do not slow it down
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    gateway: RunningGateway = asyncio.run_coroutine_threadsafe(start(settings), loop).result(30)
    port = gateway.port
    print(f"gateway on port {port}: max_sessions {settings.max_sessions}, idle_timeout {settings.idle_timeout:g} s, "
          f"data_timeout {settings.data_timeout:g} s, data_min_rate {settings.data_min_rate:g} B/s after "
          f"{settings.data_rate_grace:g} s, busy_idle_timeout {settings.busy_idle_timeout:g} s")
    stop = asyncio.Event()
    started = time.monotonic()
    crowd = [Trickler(in_data=n % 2 == 1) for n in range(tricklers)]
    tasks = [asyncio.ensure_future(_trickle(port, f"127.0.0.{10 + n % 10}", t, started, stop, company))
             for n, t in enumerate(crowd)]
    await asyncio.sleep(hold)
    open_now = sum(1 for t in crowd if not t.ended)
    print(f"{open_now} of {tricklers} tricklers hold sessions after {hold:g} s; the gateway counts "
          f"{gateway.sessions.total} open")
    results = [await _send_one(port, n, company) for n in range(senders)]
    times = [seconds for ok, seconds, _ in results if ok]
    print(f"real senders: {len(times)} of {senders} delivered; connect to 250: median "
          f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms" if times else
          f"real senders: none of {senders} delivered: {results[0][2]}")
    await asyncio.sleep(max(0.0, watch - (time.monotonic() - started)))
    shed = [t for t in crowd if t.ended.startswith("421 4.7.0")]
    cut = [t for t in crowd if t.ended.startswith("421 4.4.2")]
    data_left = sum(1 for t in crowd if t.in_data and not t.ended)
    print(f"tricklers shed to make room: {len(shed)}; cut off by the DATA rate bound: {len(cut)} "
          f"(the last at {max((t.ended_at for t in cut), default=0):.1f} s); DATA tricklers still open at "
          f"{watch:g} s: {data_left}")
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tricklers", type=int, default=200)
    parser.add_argument("--hold", type=float, default=15.0, help="seconds the tricklers hold before senders come")
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--watch", type=float, default=45.0, help="seconds from the start to the final count")
    options = parser.parse_args()
    logging.disable(logging.WARNING)      # the gateway's warnings about each trickler are expected here
    asyncio.run(measure(options.tricklers, options.hold, options.senders, options.watch))


if __name__ == "__main__":
    main()
