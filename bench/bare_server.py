"""The reference point: a bare aiosmtpd server whose handler only answers 250.

Run as ``python -m bench.bare_server PORT [DATA_SIZE_LIMIT]``; it serves on 127.0.0.1 until SIGTERM or
SIGINT. Same event loop, same aiosmtpd protocol class and the same data size limit as smartbcc, nothing
else: whatever smartbcc costs on top of this is the price of parsing, deciding and storing.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiosmtpd.smtp import SMTP

DEFAULT_LIMIT = 20 * 1024 * 1024    # smartbcc's default; bench.run passes smartbcc's actual limit


class AnswerOnly:
    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        return "250 OK"


async def serve_until_stopped(handler: object, port: int, data_size_limit: int, hostname: str) -> None:
    """aiosmtpd with ``handler`` on 127.0.0.1:``port`` until SIGTERM or SIGINT (the floor's too)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, data_size_limit=data_size_limit, enable_SMTPUTF8=True, hostname=hostname, loop=loop),
        host="127.0.0.1", port=port)
    stopped = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    print(f"listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    try:
        await stopped.wait()
    finally:
        server.close()
        await server.wait_closed()


async def serve(port: int, data_size_limit: int) -> None:
    await serve_until_stopped(AnswerOnly(), port, data_size_limit, "bare.bench")


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_LIMIT))
