"""`smartbcc backup` and `restore`: real mail through the real server, backed up while it runs, restored
into a fresh data folder byte for byte; an older backup migrated; PostgreSQL sent to pg_dump."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
from pathlib import Path

import pytest
from alembic import command

from gateway.store import migrate
from gateway.store.engine import make_engine
from tests.support.clitest import Smartbcc
from tests.support.gwtest import messages, sqlite_only
from tests.support.messages import COMPANY, USER, message


def digests(settings) -> dict[str, str]:   # type: ignore[no-untyped-def]
    return {m.message_id: hashlib.sha256(m.raw).hexdigest() for m in messages(settings)}


@sqlite_only
def test_a_backup_taken_while_mail_arrives_restores_every_message_byte_for_byte(gateway, tmp_path):
    sent = [message("Small"), message("Accents", body="\u00e9t\u00e9 \u00e0 Z\u00fcrich\n"),
            message("Large", body="0123456789abcdef" * 320_000 + "\n")]    # 5 MB: stored in pieces
    with smtplib.SMTP(gateway.host, gateway.port, timeout=60) as client:
        for raw in sent:
            client.sendmail(USER, [COMPANY], raw)
    live = Smartbcc(gateway.settings)
    file = tmp_path / "backup.db"
    key = gateway.settings.data_dir / "mailbox.key"     # connected mailboxes' key: named, kept out of it
    key.write_bytes(b"k" * 44 + b"\n")
    made = live.json("backup", str(file))
    assert made["messages"] == 3 and made["revision"] == migrate.head_revision()
    assert made["key_file"] == str(key) and b"k" * 44 not in file.read_bytes()
    assert "exists" in live.fails("backup", str(file))
    assert "is in use" in live.fails("restore", str(file), "--force")     # the server still runs on it

    fresh = Smartbcc(gateway.settings.replace(data_dir=tmp_path / "fresh"))
    done = fresh.json("restore", str(file))
    assert done["messages"] == 3 and done["revision"] == done["revision_before"] == migrate.head_revision()
    expected = digests(gateway.settings)
    assert len(expected) == 3 and digests(fresh.settings) == expected
    assert {hashlib.sha256(raw).hexdigest() for raw in sent} <= set(expected.values())
    assert "already holds data" in fresh.fails("restore", str(file))
    assert fresh.json("restore", str(file), "--force")["messages"] == 3

    (tmp_path / "notes.txt").write_text("not a database")
    assert "is not a smartbcc database" in fresh.fails("restore", str(tmp_path / "notes.txt"), "--force")


def test_an_older_backup_is_migrated_on_restore(sqlite_settings, tmp_path):
    async def old_schema() -> None:
        engine = make_engine(sqlite_settings)
        try:
            async with engine.begin() as connection:
                def upgrade(sync_connection) -> None:   # type: ignore[no-untyped-def]
                    config = migrate.alembic_config()
                    config.attributes["connection"] = sync_connection
                    command.upgrade(config, "0005")
                await connection.run_sync(upgrade)
        finally:
            await engine.dispose()
    asyncio.run(old_schema())
    file = tmp_path / "old.db"
    old = Smartbcc(sqlite_settings)
    assert "is the database itself" in old.fails("backup", str(sqlite_settings.data_dir / "smartbcc.db"), "--force")
    assert "does not exist" in old.fails("backup", str(tmp_path / "nowhere" / "b.db"))
    assert old.json("backup", str(file))["revision"] == "0005"
    fresh = Smartbcc(sqlite_settings.replace(data_dir=tmp_path / "fresh"))
    done = fresh.json("restore", str(file))
    assert (done["revision_before"], done["revision"]) == ("0005", migrate.head_revision())
    assert "upgraded from 0005" in fresh.ok("restore", str(file), "--force")


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_on_postgresql_backup_and_restore_name_pg_dump_and_pg_restore(bare, tmp_path: Path):
    bare.ok("init")
    said = bare.fails("backup", str(tmp_path / "b.dump"))
    assert "pg_dump --format=custom" in said and "b.dump" in said and "postgresql://" in said
    (tmp_path / "b.dump").write_bytes(b"")
    said = bare.fails("restore", str(tmp_path / "b.dump"))
    assert "pg_restore --clean" in said and "asyncpg" not in said
