"""FaultLog: one line per failure, a traceback per kind of error at most once per interval."""

from __future__ import annotations

import logging

from sqlalchemy import exc

from gateway.store.faults import FaultLog, describe


def _error(orig: Exception) -> exc.DBAPIError:
    try:
        raise exc.DBAPIError("INSERT INTO messages (subject) VALUES (?)", ("secret subject",), orig)
    except exc.DBAPIError as error:
        return error


def test_a_traceback_per_kind_per_interval(caplog):
    now = [0.0]
    faults = FaultLog(interval=60, clock=lambda: now[0])
    logger = logging.getLogger("smartbcc.test")
    caplog.set_level(logging.INFO, logger="smartbcc.test")
    for seconds, orig in [(0, OSError("refused")), (1, OSError("refused")), (2, TimeoutError("slow")),
                          (59, OSError("refused")), (61, OSError("refused"))]:
        now[0] = seconds
        faults.log(logger, logging.WARNING, "%s down", "db", error=_error(orig))
    assert [bool(r.exc_info) for r in caplog.records] == [True, False, True, False, True]
    assert caplog.records[1].getMessage() == "db down: DBAPIError: (builtins.OSError) refused"
    assert all("secret subject" not in r.getMessage() and "\n" not in r.getMessage() for r in caplog.records)


def test_every_traceback_at_debug(caplog):
    faults = FaultLog(interval=60, clock=lambda: 0.0)
    caplog.set_level(logging.DEBUG, logger="smartbcc.test")
    for _ in range(3):
        faults.log(logging.getLogger("smartbcc.test"), logging.ERROR, "failed", error=ValueError("x"))
    assert all(r.exc_info for r in caplog.records) and len(caplog.records) == 3


def test_describe_is_one_short_printable_line():
    assert describe(RuntimeError("bad \x1b[2J\u202eexe\nsecond line")) == "RuntimeError: bad \\x1b[2J\\u202eexe"
    assert describe(ValueError("")) == "ValueError"
    assert len(describe(ValueError("x" * 10_000))) < 400
