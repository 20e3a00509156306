"""A message's raw bytes: kept in its ``message_raw`` row, or, when it is large, written ahead in pieces.

Filing commits a message's row, its links and its bytes in one transaction, so that a 250 means all of
it is kept. SQLite has one writer: a 20 MB message would hold it for as long as writing and syncing
20 MB takes, and every small message arriving meanwhile would wait that long for its own commit. So
the bytes of a message of :data:`APART` or more are written first (:func:`upload`), a :data:`PIECE` at a
time, each piece a transaction of its own that takes its turn with the other writes; the filing then
names the upload in ``message_raw.upload`` (:func:`keep`), after checking that every piece is there.

Pieces that no filing came to name (the filing failed, the message had been stored before, the gateway
stopped in between) are deleted at once where the gateway can (:func:`discard`, or inside the filing
transaction), otherwise by :func:`sweep` when the gateway starts and every few hours after, once they
are a day old.
"""

from __future__ import annotations

import functools
import logging
import secrets
import sqlite3
from datetime import timedelta
from typing import cast

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gateway.store import sqlite_driver
from gateway.store.database import Database
from gateway.store.models import MessageRaw, RawPiece, utcnow

log = logging.getLogger("smartbcc.store")

APART = 4 * 1024 * 1024          # a message this large is written ahead, in pieces
PIECE = 1024 * 1024              # bytes per piece: one piece's transaction is short
ORPHANED_AFTER = timedelta(days=1)   # pieces no message names are swept once this old

_INSERT_PIECE = insert(RawPiece)
_INSERT_RAW = insert(MessageRaw)


class MissingPieces(Exception):
    """The pieces of an upload are not all there: the message cannot be filed with them."""


async def upload(db: Database, raw: bytes) -> int:
    """Write ``raw`` as pieces of a new upload, each in its own transaction; the upload's number.

    On failure the pieces written so far are deleted (if the database allows) and the error raised."""
    number = secrets.randbits(62) + 1
    view = memoryview(raw)
    try:
        for seq, start in enumerate(range(0, len(raw), PIECE)):
            await db.writer.run(functools.partial(_write_piece, number=number, seq=seq,
                                                  data=view[start:start + PIECE]))
    except Exception:
        try:
            await discard(db, number)
        except Exception as error:       # the sweep deletes them later
            log.warning("could not delete the pieces of upload %d (%r)", number, error)
        raise
    return number


def _write_piece(session: Session, number: int, seq: int, data: memoryview) -> None:
    session.connection().execute(_INSERT_PIECE, {"upload": number, "seq": seq, "data": data})


async def discard(db: Database, number: int) -> None:
    """Delete the pieces of upload ``number`` (no message names it)."""
    await db.writer.run(functools.partial(drop, number=number))


def drop(session: Session, number: int) -> None:
    """Delete the pieces of upload ``number``, inside the caller's transaction."""
    session.connection().execute(delete(RawPiece).where(RawPiece.upload == number))


def keep(session: Session, message_pk: int, raw: bytes, number: int | None) -> None:
    """The message's bytes, exactly as received, for row ``message_pk``: the pieces of upload ``number``
    (checked to hold all of ``raw``), or, with no upload, ``raw`` itself in the ``message_raw`` row.

    On SQLite a large ``raw`` is written in place into a zero-filled blob (incremental blob I/O):
    binding it as a parameter would have SQLite copy the whole message twice in memory."""
    connection = session.connection()
    if number is not None:
        count, size = connection.execute(
            select(func.count(), func.coalesce(func.sum(func.length(RawPiece.data)), 0))
            .where(RawPiece.upload == number)).one()
        if count != -(-len(raw) // PIECE) or size != len(raw):
            raise MissingPieces(f"upload {number} holds {count} pieces, {size} bytes; "
                                f"the message has {len(raw)}")
        connection.execute(_INSERT_RAW, {"message_pk": message_pk, "raw": b"", "upload": number})
        return
    if connection.dialect.name != "sqlite" or len(raw) < sqlite_driver.BLOB_IN_PLACE:
        connection.execute(_INSERT_RAW, {"message_pk": message_pk, "raw": raw})
        return
    connection.execute(insert(MessageRaw).values(message_pk=message_pk, raw=func.zeroblob(len(raw))))
    # the writer's SQLite engine is the synchronous one (gateway.store.writer): its DBAPI connection is sqlite3's
    dbapi_connection = cast(sqlite3.Connection, connection.connection.dbapi_connection)
    sqlite_driver.write_in_place(dbapi_connection, "message_raw", "raw", message_pk, raw)


async def read(session: AsyncSession, message_pk: int) -> bytes | None:
    """The bytes kept for message ``message_pk`` (None: none are)."""
    row = (await session.execute(select(MessageRaw.raw, MessageRaw.upload)
                                 .where(MessageRaw.message_pk == message_pk))).one_or_none()
    if row is None:
        return None
    if row.upload is None:
        return bytes(row.raw)
    pieces = await session.scalars(select(RawPiece.data).where(RawPiece.upload == row.upload)
                                   .order_by(RawPiece.seq))
    return b"".join(pieces)


async def sweep(db: Database, older_than: timedelta = ORPHANED_AFTER) -> int:
    """Delete pieces older than ``older_than`` that no message names; how many were deleted."""
    cutoff = utcnow() - older_than
    named = select(MessageRaw.upload).where(MessageRaw.upload.is_not(None))

    def work(session: Session) -> int:
        result = session.connection().execute(
            delete(RawPiece).where(RawPiece.created_at < cutoff, RawPiece.upload.not_in(named)))
        return result.rowcount or 0

    return await db.writer.run(work)
