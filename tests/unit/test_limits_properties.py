"""Properties of the limits (hypothesis against simple models) and of the fault classification that
splits 451 from the quarantine, the latter with the errors real databases raise."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import exc

from gateway.handlers.limits import MAX_HOPS, SenderRate, SessionCounter, admission, loop_reason, rate_decision
from gateway.mail.message import Mailbox, ParsedMessage
from gateway.replies import LOOP_DETECTED, SENDER_RATE, TOO_MANY_SESSIONS
from gateway.store.faults import is_transient

FAST = settings(max_examples=150, deadline=None)
CLIENTS = st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3", "::1"])


@FAST
@given(st.integers(1, 5), st.integers(1, 5),
       st.lists(st.tuples(st.sampled_from(["open", "close"]), CLIENTS), max_size=60))
def test_session_counter_matches_a_model_and_never_exceeds_its_bounds(max_total, max_per_client, events):
    counter = SessionCounter(max_total, max_per_client)
    model: list[str] = []
    for action, client in events:
        if action == "open":
            fits = len(model) < max_total and model.count(client) < max_per_client
            assert (counter.admit(client) is None) == fits
            if fits:
                model.append(client)
        elif client in model:
            counter.release(client)
            model.remove(client)
        assert counter.total == len(model) <= max_total
        assert all(counter.by_client.get(c, 0) == model.count(c) <= max_per_client for c in set(model) | {client})
        assert all(n > 0 for n in counter.by_client.values())          # released clients are forgotten


@pytest.mark.parametrize("total, mine, expected", [(0, 0, None), (2, 1, None), (3, 0, TOO_MANY_SESSIONS),
                                                   (1, 2, TOO_MANY_SESSIONS)])
def test_admission_table(total, mine, expected):
    assert admission(total, mine, max_total=3, max_per_client=2) is expected


@FAST
@given(st.integers(1, 6), st.integers(1, 4),
       st.lists(st.tuples(st.sampled_from(["a", "b"]), st.booleans(), st.floats(0, 2000)), max_size=80))
def test_sender_rate_matches_a_sliding_window_model(sender_limit, auto_limit, arrivals):
    rate = SenderRate(sender_limit, auto_limit, window=3600)
    accepted: list[tuple[str, bool, float]] = []
    now = 0.0
    for sender, automatic, gap in arrivals:
        now += gap
        recent = [(s, a) for s, a, t in accepted if s == sender and t > now - 3600]
        expected = rate_decision(len(recent), sum(1 for _, a in recent if a), automatic, sender_limit, auto_limit)
        assert rate.decide(sender, automatic, now) == expected
        if expected.reply is None:
            rate.record(sender, automatic, now)
            accepted.append((sender, automatic, now))
    rate.prune(now + 3601)
    assert len(rate) == 0                                                 # an idle hour forgets everyone


@pytest.mark.parametrize("sent, auto, automatic, reply", [
    (0, 0, False, None), (2, 0, False, None), (3, 0, False, SENDER_RATE), (3, 2, True, LOOP_DETECTED),
    (1, 2, True, LOOP_DETECTED), (1, 2, False, None), (1, 1, True, None),
])
def test_rate_decision_table(sent, auto, automatic, reply):
    assert rate_decision(sent, auto, automatic, sender_limit=3, auto_limit=2).reply is reply


def _parsed(from_=(), header_names=()) -> ParsedMessage:
    return ParsedMessage("<m@x>", False, "0" * 64, 1, "s", None, tuple(Mailbox(e) for e in from_), None, (), (),
                         (), (), (), "", "", header_names=tuple(header_names))


@FAST
@given(st.integers(0, 120), st.sampled_from(["", "ada@acme.example", "acme@bcc.example.net"]),
       st.sampled_from(["bob@customer.example", "smartbcc@bcc.example.net"]))
def test_loops_are_own_addresses_or_too_many_hops(hops, envelope, author):
    reason = loop_reason(_parsed([author], ["received"] * hops + ["from", "to"]), envelope, "bcc.example.net")
    own = envelope.endswith("@bcc.example.net") or author.endswith("@bcc.example.net")
    assert bool(reason) == (own or hops > MAX_HOPS)


# -- which failures are transient (451) and which are the message's own (quarantine) ---------------------

def _sqlite_error(sql: str, setup: str = "") -> exc.DBAPIError:
    connection = sqlite3.connect(":memory:")
    try:
        if setup:
            connection.executescript(setup)
        connection.execute(sql)
    except sqlite3.Error as error:
        return exc.DBAPIError.instance(sql, None, error, sqlite3.Error)
    finally:
        connection.close()
    raise AssertionError("no error")


def _locked_error() -> exc.DBAPIError:
    import tempfile
    folder = tempfile.mkdtemp()
    holder = sqlite3.connect(f"{folder}/db", isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(f"{folder}/db", timeout=0.01)
    try:
        other.execute("INSERT INTO t VALUES (1)")
    except sqlite3.Error as error:
        return exc.DBAPIError.instance("INSERT", None, error, sqlite3.Error)
    finally:
        other.close()
        holder.close()
    raise AssertionError("no error")


def _pg_error(sqlstate: str) -> exc.DBAPIError:
    asyncpg = pytest.importorskip("asyncpg")
    error = asyncpg.PostgresError.new({"C": sqlstate, "M": f"sqlstate {sqlstate}"})
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
    adapted = AsyncAdapt_asyncpg_dbapi(asyncpg).Error(str(error), error)
    return exc.DBAPIError.instance("SQL", None, adapted, AsyncAdapt_asyncpg_dbapi.Error)


@pytest.mark.parametrize("make, transient", [
    (_locked_error, True),
    (lambda: _sqlite_error("SELECT * FROM missing"), True),                 # schema being migrated
    (lambda: _sqlite_error("INSERT INTO t VALUES (NULL)", "CREATE TABLE t (x NOT NULL)"), False),
    (lambda: _sqlite_error("SELEC nonsense"), False),                       # our own bug
    (lambda: _sqlite_error("INSERT INTO t VALUES (1)", "CREATE TABLE t (x); CREATE TRIGGER no BEFORE INSERT ON t "
                           "BEGIN SELECT RAISE(ABORT, 'refused'); END;"), False),
    (lambda: _pg_error("55P03"), True),       # lock not available
    (lambda: _pg_error("53100"), True),       # disk full
    (lambda: _pg_error("57P01"), True),       # admin shutdown
    (lambda: _pg_error("08006"), True),       # connection failure
    (lambda: _pg_error("40P01"), True),       # deadlock
    (lambda: _pg_error("42P01"), True),       # missing table
    (lambda: _pg_error("23505"), False),      # unique violation, beyond the retries
    (lambda: _pg_error("22001"), False),      # value too long
    (lambda: _pg_error("P0001"), False),      # raised by a trigger
    (lambda: _pg_error("42601"), False),      # syntax error: our bug
    (lambda: ConnectionRefusedError(111, "refused"), True),
    (lambda: asyncio.TimeoutError(), True),
    (lambda: exc.TimeoutError("QueuePool limit reached"), True),
    (lambda: RuntimeError("planner bug"), False),
    (lambda: KeyError("x"), False),
    (lambda: LookupError("user 3 vanished during delivery"), False),
])
def test_transient_failures_are_told_from_the_messages_own(make, transient):
    assert is_transient(make()) is transient


def test_a_transient_cause_makes_the_wrapper_transient():
    try:
        try:
            raise ConnectionResetError("gone")
        except ConnectionResetError as inner:
            raise RuntimeError("while filing") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


@pytest.mark.parametrize("env, message", [
    ({"SMARTBCC_MAX_SESSIONS": "0"}, "max_sessions must be above zero"),
    ({"SMARTBCC_DATA_TIMEOUT": "-1"}, "data_timeout must be above zero"),
    ({"SMARTBCC_IDLE_TIMEOUT": "soon"}, "must be a number"),
    ({"SMARTBCC_TLS_CERT_FILE": "/etc/cert.pem"}, "needs both tls_cert_file and tls_key_file"),
])
def test_limits_that_cannot_work_are_refused_at_load(env, message):
    from gateway.config import ConfigError, load_settings
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


def test_limit_defaults_are_those_the_readme_promises():
    from gateway.config import Settings
    defaults = Settings()
    assert (defaults.max_sessions, defaults.max_sessions_per_client, defaults.idle_timeout, defaults.data_timeout,
            defaults.max_commands, defaults.sender_hourly_limit, defaults.auto_hourly_limit,
            defaults.lock_timeout) == (200, 20, 300, 600, 1000, 300, 30, 5)
