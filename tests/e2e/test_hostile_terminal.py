"""Mail that carries terminal control codes and bidi overrides, sent through the real server: no command of
`smartbcc` prints them raw (CliRunner and a real subprocess), text output shows them escaped, and --json
stays exact JSON that decodes to the stored text."""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from gateway.services import quarantine
from gateway.cli import cli
from gateway.store.filing import batch as filing_batch
from gateway.store.models import Company, Deal, utcnow
from tests.support.gwtest import ThreadedGateway, seed, sqlite_only, with_db
from tests.support.rawsmtp import COMPANY, USER, Raw

ROOT = Path(__file__).resolve().parents[2]

# ESC sequences (clear screen, set the window title, colour), BEL, BS, CR, DEL, C1 (8-bit CSI, NEL),
# bidi overrides and isolates, marks.
HOSTILE = ("\x1b[2J\x1b]0;pwned\x07\x1b[31mred\x08\r\x7f\x9b31m\x85"
           "\u202ereversed\u202c\u2066iso\u2069\u200e\u200f\u061c\u202a\u202b\u202d\u2067\u2068")
# Everything a terminal could act on; newline is allowed (it separates output lines) and tab.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
ATTACHMENT = "\u202etxt.exe"


def _encoded(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def hostile_message(message_id: str, to: str) -> bytes:
    lines = [
        f"From: {_encoded('Ada ' + HOSTILE)} <{USER}>",
        f"To: {_encoded('Nina ' + HOSTILE)} <{to}>, Bob <bob@customer.example>",
        f"Subject: {_encoded('Offer ' + HOSTILE)}",
        "Date: Mon, 06 Jan 2025 10:15:00 +0100",
        f"Message-ID: <{message_id}@acme.example>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b"',
        "",
        "--b",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        base64.b64encode(f"Hello\r\nline two {HOSTILE}\r\nend\r\n".encode()).decode(),
        "--b",
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
        f"Content-Disposition: attachment; filename*=utf-8''{quote(ATTACHMENT)}",
        "",
        base64.b64encode(b"MZ not really").decode(),
        "--b--",
        "",
    ]
    return "\r\n".join(lines).encode()


def _deliver(gateway, raw: bytes) -> str:
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope(USER, COMPANY)
        code, reply = smtp.data(raw)
    assert code == 250, reply
    return reply


def _change(settings, *statements) -> None:
    async def work(db):
        async with db.sessions() as session, session.begin():
            for statement in statements:
                await session.execute(statement)
    with_db(settings, work)


def _options(settings) -> list[str]:
    return ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url,
            "--mail-domain", settings.mail_domain]


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_") or k.startswith("SMARTBCC_TEST_")}
    env.update(SMARTBCC_DATA_DIR=str(settings.data_dir), SMARTBCC_MAIL_DOMAIN=settings.mail_domain,
               SMARTBCC_DATABASE_URL=settings.database_url)
    return env


def planner_bug(*args, **kwargs):
    raise RuntimeError("cannot file " + HOSTILE)


@pytest.fixture
def hostile(settings, monkeypatch):
    """Hostile mail filed through the real server: a message making a new contact and a review item, one
    making a lead in classic mode, and one quarantined by a failure whose text quotes the mail."""
    seeded = seed(settings)
    _change(settings, Deal.__table__.insert().values(company_id=seeded.company_id, title="Second deal",
                                                     status="open", person_id=seeded.person_id, token_version=1,
                                                     created_at=utcnow()))
    with ThreadedGateway(settings) as gateway:
        message = int(_deliver(gateway, hostile_message("m1", "nina@prospect.example")).rsplit(" ", 1)[1])
        _change(settings, update(Company).where(Company.slug == "acme")
                .values(crm_mode="classic", classic_creates="lead"))
        _deliver(gateway, hostile_message("m2", "lena@other.example"))
        with monkeypatch.context() as patched:
            patched.setattr(filing_batch, "plan_filing", planner_bug)
            _deliver(gateway, hostile_message("m3", "kim@third.example"))
    assert with_db(settings, lambda db: quarantine.list_entries(db)), "the third message was not quarantined"
    return message


# Each command that prints mail-derived text, and a piece of it as the text output must show it.
def _commands(message: int) -> list[tuple[list[str], str]]:
    return [(["messages", "list"], "\\x9b31m \\u202ereversed"),
            (["messages", "show", str(message)], "\\u202etxt.exe"),
            (["person", "list", "--company", "acme"], "Nina [2J]0;pwned[31mred \\x9b31m"),
            (["person", "show", "2"], "Nina [2J]0;pwned[31mred \\x9b31m"),
            (["lead", "list", "--company", "acme"], "Nina [2J]0;pwned[31mred \\x9b31m"),
            (["review", "list"], "Offer [2J]0;pwned[31mred \\x9b31m \\u202ereversed"),
            (["quarantine", "list"], "cannot file \\x1b[2J"),
            (["messages", "delete", str(message)], "Offer [2J]0;pwned")]


def _assert_clean(command: list[str], output: str) -> None:
    found = RAW_CONTROL.findall(output)
    assert not found, (command, found, output)


def test_cli_output_never_carries_control_codes(settings, hostile, monkeypatch):
    runner = CliRunner()
    for command, shown in _commands(hostile):
        result = runner.invoke(cli, [*_options(settings), *command])
        assert result.exit_code == 0, (command, result.stdout, result.stderr, result.exception)
        _assert_clean(command, result.stdout + result.stderr)
        assert shown in result.stdout, (command, shown, result.stdout)
        if command[:2] == ["messages", "show"]:      # the body keeps its lines; what is in them is escaped
            assert "text body:\nHello\nline two \\x1b[2J\\x1b]0;pwned\\x07\\x1b[31mred\\x08\n" in result.stdout
    monkeypatch.setattr(filing_batch, "plan_filing", planner_bug)
    failed = runner.invoke(cli, [*_options(settings), "quarantine", "replay", "1"])
    assert failed.exit_code == 1 and "cannot file \\x1b[2J" in failed.stderr, failed.stderr
    _assert_clean(["quarantine", "replay"], failed.stderr)


def test_json_output_is_exact_and_has_no_raw_control_codes(settings, hostile):
    runner = CliRunner()
    for command, _ in _commands(hostile)[:-1]:
        result = runner.invoke(cli, [*_options(settings), *command, "--json"])
        assert result.exit_code == 0, (command, result.stdout, result.stderr, result.exception)
        _assert_clean(command, result.stdout)
        json.loads(result.stdout)
    shown = json.loads(runner.invoke(cli, [*_options(settings), "messages", "show", str(hostile), "--json"]).stdout)
    assert shown["subject"].endswith("\x9b31m \u202ereversed\u202c\u2066iso\u2069\u200e\u200f\u061c"
                                     "\u202a\u202b\u202d\u2067\u2068")
    assert shown["attachments"][0]["filename"] == ATTACHMENT
    assert "line two \x1b[2J\x1b]0;pwned\x07\x1b[31mred\x08\n\x7f\x9b31m\x85\u202ereversed" in shown["text_body"]


@sqlite_only     # what a process prints is the output layer's: the CliRunner tests above run on both databases
def test_subprocess_output_never_carries_control_codes(settings, hostile):
    for command, shown in _commands(hostile)[:2]:
        done = subprocess.run([sys.executable, "-m", "gateway.cli", *command], env=_env(settings), cwd=ROOT,
                              capture_output=True, timeout=60)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        _assert_clean(command, done.stdout.decode("utf-8") + done.stderr.decode("utf-8"))
        assert shown in done.stdout.decode("utf-8")


@sqlite_only     # the terminal check is the output layer's, whatever the database
def test_export_refuses_to_write_raw_bytes_to_a_terminal(settings, hostile, tmp_path):
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "gateway.cli", "messages", "export", str(hostile)],
                              env=_env(settings), cwd=ROOT, stdout=secondary, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(secondary)
    written = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:          # EIO: the terminal's other end is closed and everything was read
            break
        if not chunk:
            break
        written += chunk
    os.close(primary)
    assert done.returncode == 1 and b"not written to a terminal" in done.stderr, done.stderr
    assert written == b""
    piped = subprocess.run([sys.executable, "-m", "gateway.cli", "messages", "export", str(hostile)],
                           env=_env(settings), cwd=ROOT, capture_output=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout.startswith(b"From: =?utf-8?b?")
