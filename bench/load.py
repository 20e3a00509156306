"""The load generator: C concurrent sessions on asyncio streams, one fresh connection per message.

Each message is one full dialogue, in lock step (no pipelining): connect, greeting, EHLO, MAIL (with
SIZE), RCPT, DATA, the payload and ``.``, then QUIT. Its latency runs from the connect to the reply after
the final dot. Any reply other than 250 there, and any error on the way, is an error with its text;
errors are never counted as accepted messages.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from bench.mail import MessageFactory, Outgoing

TIMEOUT = 300.0      # seconds a single message may take before it counts as an error


class SmtpError(Exception):
    pass


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    latency: float          # seconds, connect -> reply to the final dot
    size: int
    message_id: str
    reply: str              # the reply to the final dot, or what went wrong


@dataclass
class Phase:
    """One size against one server: what was sent, what came back, how long it all took."""

    label: str
    size: int
    concurrency: int
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.accepted]

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.accepted]

    @property
    def messages_per_second(self) -> float:
        return len(self.accepted) / self.seconds if self.seconds else 0.0

    @property
    def megabytes_per_second(self) -> float:
        return sum(o.size for o in self.accepted) / 1e6 / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Latency in seconds at ``fraction`` (nearest rank) over the accepted messages."""
        latencies = sorted(o.latency for o in self.accepted)
        if not latencies:
            return float("nan")
        rank = max(1, min(len(latencies), round(fraction * len(latencies) + 0.5)))
        return latencies[rank - 1]

    def error_summary(self, limit: int = 3) -> str:
        counts: dict[str, int] = {}
        for outcome in self.errors:
            counts[outcome.reply[:120]] = counts.get(outcome.reply[:120], 0) + 1
        return "; ".join(f"{n} x {text}" for text, n in sorted(counts.items(), key=lambda i: -i[1])[:limit])


async def _reply(reader: asyncio.StreamReader) -> tuple[int, str]:
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise SmtpError("connection closed by the server")
        lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if line[3:4] != b"-":
            return int(line[:3]), " / ".join(lines)


async def _command(reader, writer, line: bytes, expected: int) -> str:  # type: ignore[no-untyped-def]
    writer.write(line)
    code, text = await _reply(reader)
    if code != expected:
        raise SmtpError(f"{line.split(b' ')[0].decode().strip()}: {text}")
    return text


async def _dialogue(host: str, port: int, message: Outgoing, started: float) -> Outcome:
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 16)
    try:
        code, text = await _reply(reader)
        if code != 220:
            raise SmtpError(f"greeting: {text}")
        await _command(reader, writer, b"EHLO client.bench.example\r\n", 250)
        await _command(reader, writer, f"MAIL FROM:<{message.mail_from}> SIZE={message.size}\r\n".encode(), 250)
        await _command(reader, writer, f"RCPT TO:<{message.rcpt_to}>\r\n".encode(), 250)
        await _command(reader, writer, b"DATA\r\n", 354)
        writer.writelines(message.chunks)
        writer.write(b".\r\n")
        code, text = await _reply(reader)
        latency = time.perf_counter() - started
        try:
            await _command(reader, writer, b"QUIT\r\n", 221)
        except (SmtpError, OSError):
            pass    # the message's fate is decided; a rough goodbye does not change it
        return Outcome(code == 250, latency, message.size, message.message_id, text)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def send(host: str, port: int, message: Outgoing) -> Outcome:
    started = time.perf_counter()
    try:
        return await asyncio.wait_for(_dialogue(host, port, message, started), TIMEOUT)
    except (SmtpError, OSError, asyncio.TimeoutError, ValueError) as error:
        reason = str(error) or type(error).__name__
        return Outcome(False, time.perf_counter() - started, message.size, message.message_id, reason)


async def run_phase(label: str, host: str, port: int, make: Callable[[int], Outgoing], size: int, count: int,
                    concurrency: int) -> Phase:
    """Send ``count`` messages of ``size`` over ``concurrency`` sessions; the phase's time is wall-clock."""
    phase = Phase(label, size, concurrency)
    remaining = iter(range(count))

    async def worker() -> None:
        for _ in remaining:
            phase.outcomes.append(await send(host, port, make(size)))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, count)))))
    phase.seconds = time.perf_counter() - started
    return phase


def _loop_big(host: str, port: int, factory: MessageFactory, size: int, shapes: tuple[str, ...], sessions: int,
              begun: Any, stop: Any, out: Any) -> None:
    """In a process of its own: ``sessions`` loops of ``size`` messages, of each of ``shapes`` in turn,
    until ``stop`` is set; the outcomes go back through ``out``."""
    async def main() -> list[Outcome]:
        outcomes: list[Outcome] = []
        turn = itertools.cycle(shapes)

        async def loop() -> None:
            while not stop.is_set():
                outcomes.append(await send(host, port, factory.make(size, next(turn))))

        tasks = [asyncio.create_task(loop()) for _ in range(sessions)]
        begun.set()
        await asyncio.gather(*tasks)
        return outcomes

    out.send(asyncio.run(main()))
    out.close()


async def run_mixed(host: str, port: int, factory: MessageFactory, small_size: int, big_size: int,
                    seconds: float, small_sessions: int, big_sessions: int,
                    big_shapes: tuple[str, ...] = ("",)) -> tuple[Phase, Phase]:
    """Small messages for ``seconds`` while ``big_sessions`` send big ones (of ``big_shapes`` in turn)
    in a loop meanwhile.

    The big ones are sent from a process of their own, so that pushing them does not hold up this
    process's event loop, which times the small ones (clients are other machines; here they would
    otherwise share one loop). The small messages start half a second after the big sessions (their
    transfers are under way), and the big sessions stop starting new messages when the small ones are
    done (those in flight finish).
    """
    small = Phase("mixed-small", small_size, small_sessions)
    big = Phase("mixed-big", big_size, big_sessions)
    context = multiprocessing.get_context("spawn")
    begun, stop = context.Event(), context.Event()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_loop_big, daemon=True,
                              args=(host, port, factory.fork("b"), big_size, big_shapes, big_sessions, begun, stop,
                                    sender))

    async def small_loop(deadline: float) -> None:
        while time.perf_counter() < deadline:
            small.outcomes.append(await send(host, port, factory.make(small_size)))

    process.start()
    sender.close()
    try:
        if not await asyncio.to_thread(begun.wait, 60):
            raise RuntimeError("the process sending the big messages did not start")
        started = time.perf_counter()
        await asyncio.sleep(0.5)     # the big transfers are under way
        begun_small = time.perf_counter()
        await asyncio.gather(*(small_loop(begun_small + seconds) for _ in range(small_sessions)))
        small.seconds = time.perf_counter() - begun_small
        stop.set()
        big.outcomes = await asyncio.to_thread(receiver.recv)
        big.seconds = time.perf_counter() - started
    finally:
        stop.set()
        await asyncio.to_thread(process.join, TIMEOUT)
        if process.is_alive():
            process.kill()
        receiver.close()
    return small, big
