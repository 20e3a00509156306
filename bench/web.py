"""The web mailbox at scale: a company with 1,000,000 messages, and the server time of its pages.

Seeds an embedded (SQLite) database with one company of ``--users`` users and ``--messages`` messages
(bulk INSERTs straight into the tables through the stdlib driver, the full-text index filled in one
statement afterwards, as the migration does for existing mail), then times, in process, whole requests
to the ASGI application (session look-up, queries, template), ``--rounds`` times each:

- the mailbox page (Sent, the folder most Bcc'd mail lands in, and Inbox);
- a filter (all folders, unread, linked, a date range);
- a search (a word in about one message in a thousand, and one in about one in ten).

Prints p50/p95/max per page, and the query plan of each, which must read through indexes.

    .venv/bin/python -m bench.web                        # 1,000,000 messages (a few minutes to seed)
    .venv/bin/python -m bench.web --messages 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

WORDS = [f"w{n:04d}" for n in range(2000)]
TARGET_MS = 100.0


def seed(path: Path, messages: int, users: int, persons: int = 5000) -> dict[str, Any]:
    """Bulk rows into a migrated database; returns what the measurements need."""
    random.seed(7)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    stamp = lambda moment: moment.replace(tzinfo=None).isoformat(sep=" ")   # noqa: E731 - UTCDateTime's form
    created = stamp(now)
    with db:
        db.execute("INSERT INTO companies (id, name, domain, slug, crm_mode, deal_for_new_inquiry, classic_creates, "
                   "max_new_contacts, created_at, allow_any_address, any_address_creates) VALUES "
                   "(1, 'Acme', 'acme.example', 'acme', 'simple', 0, 'lead', 20, ?, 0, 'lead')", (created,))
        db.executemany("INSERT INTO users (id, company_id, email, name, active, auto_link, default_visibility, "
                       "created_at) VALUES (?, 1, ?, '', 1, 1, 'private', ?)",
                       [(u, f"user{u}@acme.example", created) for u in range(1, users + 1)])
        db.executemany("INSERT INTO persons (id, company_id, token_version, email, name, created_at) "
                       "VALUES (?, 1, 1, ?, ?, ?)",
                       [(p, f"c{p}@customer{p % 500}.example", f"Contact {p}", created) for p in range(1, persons + 1)])
        db.execute("DROP TRIGGER message_search_insert")
        rows, links, step = [], [], 10_000
        started = time.monotonic()
        for message, link in rows_of(messages, users, persons):
            rows.append(message[:9] + (stamp(message[9]),) + message[10:13] + (stamp(message[13]),))
            links.append(link[:4] + (stamp(link[4]),))
            if len(rows) == step:
                _flush(db, rows, links)
        _flush(db, rows, links)
        seeded = time.monotonic() - started
        started = time.monotonic()
        statements = _migration()._SQLITE      # the index, its two triggers, and the fill of existing mail
        db.execute(statements[3])
        db.execute(statements[1])
        indexed = time.monotonic() - started
    db.execute("ANALYZE")
    db.close()
    return {"seconds_rows": round(seeded, 1), "seconds_search_index": round(indexed, 1)}


def rows_of(messages: int, users: int, persons: int) -> Any:
    """The seeded messages and their links, made by formula (the same on both databases)."""
    random.seed(7)
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    for ident in range(1, messages + 1):
        owner = 1 + ident % users
        person = 1 + ident % persons
        words = " ".join(random.choices(WORDS[:1000], k=4) + [WORDS[1000 + ident % 1000]] + [WORDS[ident % 10]])
        received = now - timedelta(seconds=(messages - ident) * 30)
        yield ((ident, owner, "shared" if ident % 3 == 0 else "private",
                "incoming" if random.random() < 0.2 else "outgoing", f"<m{ident}@acme.example>", f"{ident:064x}",
                f"{ident:064x}", 2000, f"Subject {words}", received, f"user{owner}@acme.example",
                json.dumps([{"name": f"Contact {person}", "email": f"c{person}@customer{person % 500}.example"}]),
                f"Hello, about {words}.", received),
               (ident, "person", person, "participant", received))


async def seed_postgres(url: str, messages: int, users: int, persons: int = 5000) -> dict[str, Any]:
    """The same rows into a migrated PostgreSQL database, by COPY; the search index filled afterwards."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        now = datetime(2026, 12, 1, tzinfo=timezone.utc)
        await connection.execute(
            "INSERT INTO companies (id, name, domain, slug, crm_mode, deal_for_new_inquiry, classic_creates, "
            "max_new_contacts, created_at, allow_any_address, any_address_creates) VALUES "
            "(1, 'Acme', 'acme.example', 'acme', 'simple', false, 'lead', 20, $1, false, 'lead')", now)
        await connection.copy_records_to_table("users", columns=[
            "id", "company_id", "email", "name", "active", "auto_link", "default_visibility", "created_at"],
            records=[(u, 1, f"user{u}@acme.example", "", True, True, "private", now) for u in range(1, users + 1)])
        await connection.copy_records_to_table("persons", columns=[
            "id", "company_id", "token_version", "email", "name", "created_at"],
            records=[(p, 1, 1, f"c{p}@customer{p % 500}.example", f"Contact {p}", now) for p in range(1, persons + 1)])
        await connection.execute("ALTER TABLE messages DISABLE TRIGGER message_search_insert")
        started = time.monotonic()
        batch: list[Any] = []
        links: list[Any] = []
        columns = ["id", "company_id", "owner_user_id", "visibility", "direction", "message_id", "content_hash",
                   "sha256", "size", "subject", "date", "from_email", "from_name", "to_addrs", "cc_addrs",
                   "in_reply_to", "references", "text_body", "html_body", "auto_generated", "envelope_from",
                   "envelope_rcpts", "client_address", "auth_verdict", "auth_reason", "received_at"]
        for message, link in rows_of(messages, users, persons):
            (ident, owner, visibility, direction, mid, content, sha, size, subject, received, sender, to, body,
             _) = message
            batch.append((ident, 1, owner, visibility, direction, mid, content, sha, size, subject, received, sender,
                          "", to, "[]", "[]", "[]", body, "", "", "", "[]", "", "none", "", received))
            links.append(link)
            if len(batch) == 50_000:
                await connection.copy_records_to_table("messages", columns=columns, records=batch)
                await connection.copy_records_to_table("links", columns=[
                    "message_pk", "kind", "record_id", "rule", "created_at"], records=links)
                batch, links = [], []
        if batch:
            await connection.copy_records_to_table("messages", columns=columns, records=batch)
            await connection.copy_records_to_table("links", columns=[
                "message_pk", "kind", "record_id", "rule", "created_at"], records=links)
        seeded = time.monotonic() - started
        started = time.monotonic()
        await connection.execute("DROP INDEX ix_message_search_document")
        await connection.execute(_migration()._POSTGRES[4])
        await connection.execute(_migration()._POSTGRES[1])
        await connection.execute("ALTER TABLE messages ENABLE TRIGGER message_search_insert")
        for table in ("messages", "links", "users", "persons"):
            await connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
        await connection.execute("VACUUM ANALYZE")
        return {"seconds_rows": round(seeded, 1), "seconds_search_index": round(time.monotonic() - started, 1)}
    finally:
        await connection.close()


def _migration() -> Any:
    import importlib.util

    from gateway.store.migrate import MIGRATIONS
    spec = importlib.util.spec_from_file_location("web_mailbox_migration",
                                                  MIGRATIONS / "versions" / "0005_web_mailbox.py")
    module = importlib.util.module_from_spec(spec)   # type: ignore[arg-type]
    spec.loader.exec_module(module)                    # type: ignore[union-attr]
    return module


def _flush(db: sqlite3.Connection, rows: list[tuple[Any, ...]], links: list[tuple[Any, ...]]) -> None:
    db.executemany(
        "INSERT INTO messages (id, company_id, owner_user_id, visibility, direction, message_id, content_hash, "
        "sha256, size, subject, date, from_email, from_name, to_addrs, cc_addrs, in_reply_to, \"references\", "
        "text_body, html_body, auto_generated, envelope_from, envelope_rcpts, client_address, auth_verdict, "
        "auth_reason, received_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, '[]', '[]', '[]', ?, '', "
        "'', '', '[]', '', 'none', '', ?)", rows)
    db.executemany("INSERT INTO links (message_pk, kind, record_id, rule, created_at) VALUES (?, ?, ?, ?, ?)", links)
    rows.clear()
    links.clear()


async def measure(settings: Any, rounds: int) -> dict[str, Any]:
    import httpx

    from gateway.services import web_auth
    from gateway.store.database import Database
    from gateway.web.app import create_app

    db = await Database.open(settings)
    try:
        await web_auth.set_password(db, "user1@acme.example", "bench password 1")
        app = create_app(settings, db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            page = await client.get("/sign-in")
            csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            signed = await client.post("/sign-in", data={"email": "user1@acme.example", "password": "bench password 1",
                                                         "csrf": csrf})
            assert signed.status_code == 303, signed.text
            pages = {
                "mailbox page (Sent)": {"folder": "sent"},
                "mailbox page (Inbox)": {"folder": "inbox"},
                "filter (all folders, unread, linked, 30 days)": {
                    "folder": "all", "read": "unread", "linked": "yes", "since": "2026-10-15", "until": "2026-11-15"},
                "search, 1 in 1000 (a subject word)": {"q": WORDS[1234]},
                "search, 1 in 10": {"q": WORDS[3]},
                "search, two words": {"q": f"{WORDS[1234]} {WORDS[4]}"},
            }
            out = {}
            for name, params in pages.items():
                timings, rows = [], 0
                for _ in range(rounds):
                    started = time.perf_counter()
                    response = await client.get("/mailbox", params=params)
                    timings.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text[:500]
                    rows = response.text.count('class="subject"')
                timings.sort()
                out[name] = {"p50_ms": round(statistics.median(timings), 1),
                             "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
                             "max_ms": round(timings[-1], 1), "rows": rows}
            return out
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--data-dir", help="keep the seeded database here (default: a temporary folder)")
    parser.add_argument("--database-url", default="",
                        help="an empty PostgreSQL database to seed and measure instead of the embedded SQLite")
    parser.add_argument("--json", help="write the figures to this file as well")
    parser.add_argument("--measure-only", action="store_true", help="time the pages of a --data-dir seeded before")
    args = parser.parse_args()

    from gateway.config import load_settings
    from gateway.store.database import initialize

    folder = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="smartbcc-web-bench-"))
    settings = load_settings(overrides={"data_dir": str(folder), "mail_domain": "bcc.example.net",
                                        "database_url": args.database_url}, environ={})
    figures: dict[str, Any] = {"messages": args.messages, "users": args.users, "rounds": args.rounds}
    if not args.measure_only:
        asyncio.run(initialize(settings))
        if args.database_url:
            figures["seed"] = asyncio.run(seed_postgres(args.database_url, args.messages, args.users))
        else:
            figures["seed"] = seed(folder / "smartbcc.db", args.messages, args.users)
    figures["database"] = "postgresql" if args.database_url else "sqlite"
    figures["pages"] = asyncio.run(measure(settings, args.rounds))
    print(json.dumps(figures, indent=2))
    slow = [name for name, page in figures["pages"].items() if page["p95_ms"] > TARGET_MS]
    print(f"target p95 < {TARGET_MS:g} ms: " + ("met by every page" if not slow else "missed by " + ", ".join(slow)))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
