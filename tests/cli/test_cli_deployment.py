"""`smartbcc init` and `serve`, settings and database errors, and the real console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.services.deployment import database_display
from tests.support.clitest import RAW, Smartbcc, store_message
from tests.support.gwtest import sqlite_only

ROOT = Path(__file__).resolve().parents[2]


def test_init_is_idempotent(bare, settings):
    first = bare.json("init")
    assert (first["revision_before"], first["state"]) == (None, "created") and first["revision"]
    again = bare.json("init")
    assert (again["revision_before"], again["state"]) == (first["revision"], "already up to date")
    assert again["database"] == database_display(settings) and again["mail_domain"] == "bcc.example.net"
    text = bare.ok("init")
    # where the database is: the SQLite file's absolute path, else the URL without its password
    where = str(settings.data_dir.absolute() / "smartbcc.db") if settings.is_embedded else database_display(settings)
    assert "already up to date" in text and f"database:    {where}\n" in text
    assert again["path"] == (where if settings.is_embedded else None)


def test_database_url_is_shown_without_password(settings):
    shown = database_display(settings.replace(database_url="postgres://smartbcc:s3cret@db.internal/bcc"))
    assert "s3cret" not in shown and shown == "postgresql+asyncpg://smartbcc:***@db.internal/bcc"


def test_every_command_asks_for_init_first(bare, settings):
    """On SQLite no command but init makes the database: the file is not there, and stays missing."""
    database = settings.data_dir.absolute() / "smartbcc.db"
    told = (f"no database at {database}: run `smartbcc init` first (or pass --data-dir DIR / SMARTBCC_DATA_DIR)"
            if settings.is_embedded else "the database has no schema yet: run `smartbcc init` first")
    for args in (("company", "list"), ("company", "add", "A", "--domain", "a.example"), ("user", "list"),
                 ("alias", "list"), ("deal", "list", "--company", "acme"), ("messages", "list"),
                 ("messages", "export", "1"), ("serve", "--port", "0")):
        error = bare.fails(*args)
        assert told in error, args
    assert not database.exists() and not settings.data_dir.exists()


def test_settings_and_database_errors_are_clean(smartbcc, tmp_path, monkeypatch):
    assert "config file" in smartbcc.fails("--config", str(tmp_path / "none.toml"), "company", "list")
    (tmp_path / "bad.toml").write_text("colour = 'blue'\n")
    assert "unknown setting 'colour'" in smartbcc.fails("--config", str(tmp_path / "bad.toml"), "company", "list")
    assert "only SQLite and PostgreSQL" in smartbcc.fails("--database-url", "mysql://x/y", "company", "list")
    error = smartbcc.fails("--database-url", "postgresql://nobody@127.0.0.1:1/x", "company", "list")
    assert error.startswith("Error: cannot use the database postgresql+asyncpg://nobody@127.0.0.1:1/x")
    monkeypatch.setenv("SMARTBCC_PORT", "many")
    assert "setting 'port' must be a whole number" in smartbcc.fails("company", "list")
    monkeypatch.delenv("SMARTBCC_PORT")
    assert "Usage:" in smartbcc.ok("--config", str(tmp_path / "none.toml"), "company", "--help")


def test_serve_passes_host_and_port(smartbcc, monkeypatch):
    import gateway.server

    seen = []

    async def fake_run(settings) -> None:  # type: ignore[no-untyped-def]
        seen.append(settings)
    monkeypatch.setattr(gateway.server, "run", fake_run)
    smartbcc.ok("serve", "--host", "0.0.0.0", "--port", "2526", "--workers", "1")
    monkeypatch.setenv("SMARTBCC_WORKERS", "1")       # one process: gateway.server.run in this one
    smartbcc.ok("serve")
    assert [(s.host, s.port) for s in seen] == [("0.0.0.0", 2526), ("127.0.0.1", 2525)]
    assert seen[0].mail_domain == "bcc.example.net"
    assert "0<=x<=65535" in smartbcc.fails("serve", "--port", "70000", code=2)
    assert "x>=0" in smartbcc.fails("serve", "--workers", "-1", code=2)


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_") or k.startswith("SMARTBCC_TEST_")}
    env.update(SMARTBCC_DATA_DIR=str(settings.data_dir), SMARTBCC_MAIL_DOMAIN=settings.mail_domain,
               SMARTBCC_DATABASE_URL=settings.database_url)
    return env


def _run(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], env=_env(settings), cwd=ROOT,
                          capture_output=True, timeout=60)


@sqlite_only     # exit codes of the process; test_every_command_asks_for_init_first runs on both databases
def test_console_script_exit_codes(bare, settings):
    missing = _run(settings, "company", "list")
    assert missing.returncode == 1 and missing.stdout == b""
    assert missing.stderr.decode().startswith(f"Error: no database at {settings.data_dir / 'smartbcc.db'}: ")
    bare.ok("init")
    unknown = _run(settings, "company", "show", "acmee", "--json")
    assert unknown.returncode == 1 and unknown.stdout == b""
    assert unknown.stderr.decode() == "Error: no company with slug 'acmee' (see `smartbcc company list`)\n"
    usage = _run(settings, "company", "frobnicate")
    assert usage.returncode == 2 and b"No such command 'frobnicate'" in usage.stderr
    for result in (missing, unknown, usage):
        assert b"Traceback" not in result.stderr


def test_console_script_exports_raw_bytes(sqlite_settings):
    settings = sqlite_settings
    smartbcc = Smartbcc(settings)
    smartbcc.ok("init")
    smartbcc.ok("company", "add", "Acme", "--domain", "acme.example")
    smartbcc.ok("user", "add", "ada@acme.example", "--company", "acme")
    exported = _run(settings, "messages", "export", str(store_message(settings)))
    assert exported.returncode == 0 and exported.stdout == RAW and exported.stderr == b""
    bad = _run(settings, "user", "add", "not-an-address", "--company", "acme", "--json")
    assert bad.returncode == 1 and bad.stderr.startswith(b"Error: 'not-an-address' is not a valid address")
    assert b"Traceback" not in bad.stderr


@pytest.mark.parametrize("args", [["--help"], ["deal", "--help"], ["alias", "verify", "--help"]])
def test_help_needs_no_database(args, tmp_path):
    out = CliRunner().invoke(cli, ["--config", str(tmp_path / "missing.toml"), *args])
    assert out.exit_code == 0 and "Usage: " in out.stdout


def test_cli_py_at_the_root_runs_the_cli_from_a_checkout(tmp_path):
    """`python cli.py` needs no install: with -S no .pth file runs, so the installed (editable) package is
    not importable, and cli.py still finds the checkout beside it; from any working folder."""
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(site_packages)}
    bare = subprocess.run([sys.executable, "-S", "-c", "import gateway"], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    assert bare.returncode != 0, "gateway is importable without the checkout: this test proves nothing"
    done = subprocess.run([sys.executable, "-S", str(ROOT / "cli.py"), "--help"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: smartbcc [OPTIONS] COMMAND") and "quarantine" in done.stdout
    routes = subprocess.run([sys.executable, "-S", str(ROOT / "cli.py"), "routes", "--help"], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert routes.returncode == 0 and "Usage: smartbcc routes" in routes.stdout
