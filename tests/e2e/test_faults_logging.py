"""A database outage under the real server logs one line per failure, with a full traceback at most once
per kind of error in a while: not the statement, its parameters and a traceback for every message."""

from __future__ import annotations

import asyncio
import logging

from tests.support.gwtest import ThreadedGateway, seed
from tests.support.rawsmtp import Raw, message
from test_faults_database import _database_name, _pg_admin, postgres_only, write_lock

SENDS = 20
BODY = "quoted text of the message, some of which a parameter dump would repeat\n" * 600     # ~40 KiB
LINE = 600          # bytes a one-line failure record may take, formatted


def _failures(caplog) -> list[logging.LogRecord]:
    """What the gateway logged as failures of messages (the per-transaction record of smartbcc.transaction
    aside, and the webhook sender's, which says once a minute at most that it cannot reach the database)."""
    return [record for record in caplog.records if record.name.startswith("smartbcc")
            and record.name not in ("smartbcc.transaction", "smartbcc.webhooks")
            and record.levelno >= logging.WARNING]


def _measure(records: list[logging.LogRecord]) -> tuple[int, int, int]:
    """Lines, bytes and tracebacks the records make once formatted as the gateway's log does."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    text = "\n".join(formatter.format(record) for record in records)
    return text.count("\n") + 1 if text else 0, len(text.encode()), text.count("Traceback (most recent call last)")


def _assert_a_line_each(records: list[logging.LogRecord], kinds: int) -> None:
    """One line per failure; a traceback for the first of each kind of error only."""
    with_traceback = [record for record in records if record.exc_info]
    assert len(with_traceback) <= kinds, [record.getMessage() for record in with_traceback]
    plain = [record for record in records if not record.exc_info]
    lines, size, tracebacks = _measure(plain)
    assert (lines, tracebacks) == (len(plain), 0) and size <= LINE * len(plain), (lines, size)
    lines, size, _ = _measure(records)
    assert size <= LINE * len(records) + 20_000 * kinds, (len(records), lines, size)


def test_a_locked_database_logs_a_line_per_failed_message(settings, caplog):
    settings = settings.replace(lock_timeout=0.05, error_sleep_time=0)   # errors here are the database's
    seed(settings)
    caplog.set_level(logging.INFO)
    with ThreadedGateway(settings) as gateway:
        with write_lock(settings):
            for n in range(SENDS):
                with Raw(gateway.host, gateway.port) as smtp:
                    smtp.envelope()
                    code, _ = smtp.data(message(subject=f"while locked {n}", body=BODY, to=f"p{n}@prospect.example"))
                assert code == 451
    failures = _failures(caplog)
    assert len(failures) == SENDS, [r.getMessage()[:200] for r in failures]
    _assert_a_line_each(failures, kinds=1)
    assert all("while locked" not in r.getMessage() for r in failures)       # no parameters of the statement


@postgres_only
def test_an_unreachable_database_logs_a_line_per_failure(settings, caplog):
    settings = settings.replace(error_sleep_time=0)       # errors here are the database's
    seed(settings)
    name = _database_name(settings)
    caplog.set_level(logging.INFO)
    with ThreadedGateway(settings) as gateway:
        asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        asyncio.run(_pg_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        try:
            for n in range(SENDS):
                with Raw(gateway.host, gateway.port) as smtp:
                    smtp.ehlo()
                    if smtp.cmd("MAIL FROM:<ada@acme.example>")[0] == 250:     # MAIL may be answered without
                        assert smtp.cmd("RCPT TO:<acme@bcc.example.net>")[0] == 451  # the database; RCPT is not
        finally:
            asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    failures = _failures(caplog)
    assert len(failures) == SENDS, [r.getMessage()[:200] for r in failures]
    _assert_a_line_each(failures, kinds=1)
    assert "not currently accepting connections" in failures[-1].getMessage()
