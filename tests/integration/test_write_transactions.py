"""A service that reads then writes, while another process holds SQLite's write lock and then commits:
it waits for the lock and succeeds (its transaction takes the write lock when it begins), where a
deferred BEGIN would read an old snapshot and then fail at once with "database is locked"."""

from __future__ import annotations

import sqlite3
import threading

from gateway.services import preferences
from tests.support.gwtest import seed, with_db


def test_a_read_then_write_waits_for_another_writer_and_succeeds(sqlite_settings):
    seed(sqlite_settings)
    path = sqlite_settings.effective_database_url.split("///", 1)[1]
    held, release = threading.Event(), threading.Event()

    def other_writer() -> None:        # another process's transaction: the lock, a write, then commit
        connection = sqlite3.connect(path, isolation_level=None, timeout=5)
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE companies SET name = name || ''")
        held.set()
        release.wait(10)
        connection.execute("COMMIT")
        connection.close()
    writer = threading.Thread(target=other_writer)
    writer.start()
    assert held.wait(10)

    async def change(db):
        threading.Timer(0.3, release.set).start()       # the other writer commits while this one waits
        return await preferences.set_user(db, "ada@acme.example", auto_link=False)
    try:
        changed = with_db(sqlite_settings, change)
    finally:
        release.set()
        writer.join(10)
    assert changed.auto_link is False
