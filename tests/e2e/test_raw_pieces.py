"""A large message's bytes are written ahead in pieces, each its own transaction (gateway.store.raw): the
message is stored exactly, its row names the pieces, and no piece outlives the message that needs it:
not when the same message comes again, not when its filing fails, not when it is deleted, not after
a crash (the sweep when the gateway starts, and every few hours while it runs)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.services import messages as service
from gateway.store import raw
from gateway.store.filing import batch as filing_batch
from gateway.store.database import Database
from gateway.store.models import Message, MessageRaw, QuarantinedMessage, RawPiece, utcnow
from tests.support.gwtest import ThreadedGateway, count, messages, seed, with_db
from tests.support.rawsmtp import Raw, message
from tests.support.replies import assert_reply


def large_message(size: int, subject: str = "Large", message_id: str | None = None) -> bytes:
    headers = message(subject=subject, body="the figures follow\n", message_id=message_id)
    line = b"0123456789" * 7 + b"\r\n"
    return headers + line * ((size - len(headers)) // len(line) + 1)


def send(gateway, content: bytes) -> tuple[int, str]:
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        return smtp.data(content)


def pieces(settings) -> list[tuple[int, int, int]]:
    """(upload, seq, length) of every piece."""
    async def work(db: Database):
        async with db.sessions() as session:
            rows = await session.execute(select(RawPiece.upload, RawPiece.seq, func.length(RawPiece.data))
                                         .order_by(RawPiece.upload, RawPiece.seq))
            return [tuple(row) for row in rows]
    return with_db(settings, work)


def raw_rows(settings) -> list[tuple[int, int, int | None]]:
    """(message_pk, length of raw, upload) of every message_raw row."""
    async def work(db: Database):
        async with db.sessions() as session:
            rows = await session.execute(select(MessageRaw.message_pk, func.length(MessageRaw.raw),
                                                MessageRaw.upload).order_by(MessageRaw.message_pk))
            return [tuple(row) for row in rows]
    return with_db(settings, work)


def test_a_large_message_is_written_in_pieces_and_stored_exactly(settings):
    seed(settings)
    content = large_message(raw.APART + raw.PIECE // 3)
    with ThreadedGateway(settings) as gateway:
        code, text = send(gateway, content)
        assert code == 250, text
        small = message(subject="small beside it")
        assert send(gateway, small)[0] == 250
    by_subject = {m.subject: m for m in messages(settings)}
    assert by_subject["Large"].raw == content and by_subject["small beside it"].raw == small
    [(pk, length, upload), (_, small_length, no_upload)] = raw_rows(settings)
    assert (length, small_length, no_upload) == (0, len(small), None) and upload is not None
    stored = pieces(settings)
    assert [(u, s) for u, s, _ in stored] == [(upload, n) for n in range(len(content) // raw.PIECE + 1)]
    assert [n for _, _, n in stored[:-1]] == [raw.PIECE] * (len(stored) - 1)
    assert sum(n for _, _, n in stored) == len(content)
    assert with_db(settings, lambda db: service.message_raw(db, pk)) == content


def test_a_message_below_the_limit_is_kept_in_its_row(settings):
    seed(settings)
    content = large_message(raw.APART - 4096)
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, content)[0] == 250
    [(_, length, upload)] = raw_rows(settings)
    assert (length, upload) == (len(content), None) and pieces(settings) == []
    assert messages(settings)[0].raw == content


def test_the_same_large_message_twice_is_stored_once_and_leaves_no_pieces(settings):
    seed(settings)
    content = large_message(raw.APART + 10, message_id="<twice@example.com>")
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, content)[0] == 250
        first = pieces(settings)
        assert send(gateway, content)[0] == 250
    assert count(settings, Message) == 1
    assert pieces(settings) == first       # the second copy's pieces went with its filing


def test_a_failed_filing_keeps_the_message_in_the_quarantine_and_its_pieces_go(settings, monkeypatch):
    seed(settings)
    content = large_message(raw.APART + 10)

    def planner_bug(*args, **kwargs):
        raise RuntimeError("planner bug")

    with ThreadedGateway(settings) as gateway:
        monkeypatch.setattr(filing_batch, "plan_filing", planner_bug)
        code, text = send(gateway, content)
        assert_reply((code, text), "250 2.0.0")
    assert count(settings, Message) == 0 and count(settings, QuarantinedMessage) == 1
    assert pieces(settings) == []


def test_deleting_a_message_deletes_its_pieces(settings):
    seed(settings)
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, large_message(raw.APART + 10))[0] == 250
    [(pk, _, _)] = raw_rows(settings)
    assert pieces(settings)
    with_db(settings, lambda db: service.delete_message(db, pk))
    assert pieces(settings) == [] and raw_rows(settings) == []


def _add_pieces(settings, number: int, age: timedelta) -> None:
    async def work(db: Database) -> None:
        def write(session: Session) -> None:
            session.execute(insert(RawPiece), [{"upload": number, "seq": n, "data": b"left over",
                                                "created_at": utcnow() - age} for n in range(2)])
        await db.writer.run(write)
    with_db(settings, work)


def test_pieces_no_message_names_are_swept_when_the_gateway_starts_once_a_day_old(settings):
    seed(settings)
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, large_message(raw.APART + 10))[0] == 250
    named = pieces(settings)
    [(_, _, upload)] = raw_rows(settings)
    _add_pieces(settings, 11, timedelta(days=2))       # a crash between the pieces and the filing
    _add_pieces(settings, 12, timedelta(hours=1))      # maybe still being filed by another gateway
    with ThreadedGateway(settings):
        pass
    assert sorted(pieces(settings)) == sorted(named + [(12, 0, 9), (12, 1, 9)])
    assert {u for u, _, _ in named} == {upload}


def test_a_running_gateway_sweeps_now_and_then(settings, monkeypatch):
    """Pieces whose deletion failed while the gateway runs (the database was failing) do not wait for
    its next start."""
    import time

    from gateway import server
    seed(settings)
    monkeypatch.setattr(server, "SWEEP_EVERY", 0.2)
    with ThreadedGateway(settings):
        _add_pieces(settings, 21, timedelta(days=2))
        _add_pieces(settings, 22, timedelta(hours=1))
        for _ in range(100):
            if [u for u, _, _ in pieces(settings)] == [22, 22]:
                break
            time.sleep(0.1)
        assert [u for u, _, _ in pieces(settings)] == [22, 22]


def test_an_upload_that_fails_midway_deletes_what_it_wrote(settings, monkeypatch):
    seed(settings)
    _add_pieces(settings, 77, timedelta(0))     # its piece 1 is taken: the upload's second piece fails
    monkeypatch.setattr(secrets, "randbits", lambda bits: 76)

    async def work(db: Database) -> None:
        with pytest.raises(IntegrityError):
            await raw.upload(db, b"x" * (raw.PIECE + 1))
    with_db(settings, work)
    assert pieces(settings) == []


def test_filing_refuses_an_upload_with_a_piece_missing(settings):
    seed(settings)
    content = large_message(raw.APART + 10)
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, content)[0] == 250
    [(pk, _, upload)] = raw_rows(settings)

    async def work(db: Database) -> None:
        number = await raw.upload(db, content)

        def keep_without_a_piece(session: Session) -> None:
            session.execute(RawPiece.__table__.delete().where(RawPiece.upload == number, RawPiece.seq == 2))
            session.execute(MessageRaw.__table__.delete().where(MessageRaw.message_pk == pk))
            raw.keep(session, pk, content, number)

        with pytest.raises(raw.MissingPieces, match=f"upload {number} holds 4 pieces"):
            await db.writer.run(keep_without_a_piece)
        await raw.discard(db, number)
    with_db(settings, work)
    assert raw_rows(settings) == [(pk, 0, upload)]       # rolled back: the message keeps its bytes
    assert with_db(settings, lambda db: service.message_raw(db, pk)) == content


def test_pieces_take_turns_with_the_other_writes(settings):
    """While a large message's pieces are written, other transactions run between them, not after."""
    seed(settings)
    seen: list[int] = []

    async def work(db: Database) -> None:
        def other(session: Session) -> None:
            seen.append(session.scalar(select(func.count()).select_from(RawPiece)))
        upload = asyncio.ensure_future(raw.upload(db, b"y" * (3 * raw.PIECE)))
        await asyncio.sleep(0)          # its first piece is on its way
        await asyncio.gather(*(db.writer.run(other) for _ in range(2)))
        await upload
    with_db(settings, work)
    assert len(seen) == 2 and max(seen) < 3 and pieces(settings)[-1][1] == 2


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_on_postgresql_raw_bytes_are_compressed_with_lz4_or_not_at_all(settings):
    """pglz, PostgreSQL's default, spends about 15 ms per MB on bytes it mostly cannot shrink (migration 0003)."""
    from sqlalchemy import text
    seed(settings)
    with ThreadedGateway(settings) as gateway:
        assert send(gateway, large_message(2 * 1024 * 1024, subject="In its row"))[0] == 250     # compressible
        assert send(gateway, large_message(raw.APART + 10, subject="In pieces"))[0] == 250

    async def work(db: Database):
        async with db.sessions() as session:
            lz4 = (await session.execute(text(
                "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"))).first()
            columns = (await session.execute(text(
                "SELECT attrelid::regclass::text, attname::text, attcompression::text, attstorage::text FROM pg_attribute "
                "WHERE (attrelid, attname) IN (('message_raw'::regclass, 'raw'), ('raw_pieces'::regclass, 'data'))"
            ))).all()
            stored = (await session.execute(text(
                "SELECT pg_column_compression(raw) FROM message_raw WHERE length(raw) > 8192 "     # toasted sizes
                "UNION ALL SELECT pg_column_compression(data) FROM raw_pieces WHERE length(data) > 8192"
            ))).scalars().all()
            return bool(lz4), sorted(tuple(c) for c in columns), stored
    lz4, columns, stored = with_db(settings, work)
    if lz4:
        assert columns == [("message_raw", "raw", "l", "x"), ("raw_pieces", "data", "l", "x")]
        assert stored and set(stored) == {"lz4"}
    else:
        assert columns == [("message_raw", "raw", "", "e"), ("raw_pieces", "data", "", "e")]
        assert stored and set(stored) == {None}
