"""The floor: the least a gateway built on aiosmtpd and SQLAlchemy can do and still keep its promise.

Run as ``python -m bench.floor_server PORT DATABASE [DATA_SIZE_LIMIT]``; it serves on 127.0.0.1 until
SIGTERM or SIGINT. Like the bare server it is aiosmtpd with the same options; its DATA handler then does
only what no Smart-Bcc gateway can skip: it reads the header block (stdlib parser, headers only), takes
the addresses of From, To and Cc, and commits one row per message (the raw bytes, the Message-ID and the
addresses) to SQLite with smartbcc's durability settings (WAL, ``synchronous=FULL``) before it answers
250. Messages that arrive together share a commit, one writer thread at a time, as smartbcc does.

No sender check, no contacts, no links, no duplicate detection: whatever smartbcc costs beyond this
is the price of the product's own work; what this costs beyond the bare server is the price of the fixed
choices (Python, aiosmtpd, SQLAlchemy on SQLite) and of a durable 250.
"""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Any

from sqlalchemy import Column, Engine, Integer, LargeBinary, MetaData, String, Table, create_engine, event

from bench.bare_server import DEFAULT_LIMIT, serve_until_stopped

metadata = MetaData()
messages = Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", String, unique=True),
    Column("sender", String, nullable=False),
    Column("participants", String, nullable=False),
    Column("raw", LargeBinary, nullable=False),
)


def open_database(path: str) -> Engine:
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _durable(connection, _record) -> None:  # type: ignore[no-untyped-def]
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")

    metadata.create_all(engine)
    return engine


class KeepOnly:
    """Answers 250 once the message's row is committed; rows that wait together share a commit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="floor-writer")
        self.parser = BytesHeaderParser(policy=compat32)
        self.waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self.writing = False

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        headers = self.parser.parsebytes(envelope.content)
        people = getaddresses([*headers.get_all("from", []), *headers.get_all("to", []),
                               *headers.get_all("cc", [])])
        row = {"message_id": headers["message-id"], "sender": people[0][1] if people else "",
               "participants": ",".join(address for _, address in people), "raw": envelope.content}
        kept: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((row, kept))
        if not self.writing:
            self.writing = True
            asyncio.ensure_future(self._write())
        await kept
        return "250 OK"

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    await loop.run_in_executor(self.thread, self._commit, [row for row, _ in batch])
                except Exception as error:
                    for _, kept in batch:
                        kept.set_exception(error)
                else:
                    for _, kept in batch:
                        kept.set_result(None)
        finally:
            self.writing = False

    def _commit(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as connection:
            connection.execute(messages.insert(), rows)


async def serve(port: int, database: str, data_size_limit: int) -> None:
    handler = KeepOnly(open_database(database))
    try:
        await serve_until_stopped(handler, port, data_size_limit, "floor.bench")
    finally:
        handler.thread.shutdown(wait=True)
        handler.engine.dispose()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else DEFAULT_LIMIT))
