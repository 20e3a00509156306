"""The SMTP protocol class alone on a loopback port: no gateway, no database, a stub handler."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def serving(protocol: Callable[[asyncio.AbstractEventLoop], asyncio.Protocol]) -> Iterator[int]:
    """Serve ``protocol(loop)`` (e.g. GatewaySMTP over a stub handler) on 127.0.0.1 from its own event loop
    in a thread; yields the port, and closes the server and the loop after."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def listen() -> asyncio.Server:
        return await loop.create_server(lambda: protocol(loop), host="127.0.0.1", port=0)
    listening = asyncio.run_coroutine_threadsafe(listen(), loop).result(10)
    try:
        yield listening.sockets[0].getsockname()[1]
    finally:
        listening.close()
        asyncio.run_coroutine_threadsafe(listening.wait_closed(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
