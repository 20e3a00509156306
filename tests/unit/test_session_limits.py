"""The pure session bounds of gateway.handlers.limits: the DATA deadline, who is shed when full, error memory."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, Settings, load_settings
from gateway.handlers.limits import ErrorMemory, SessionLimits, data_deadline, data_progress, shed_choice

LIMITS = SessionLimits(data_min_rate=500, data_rate_grace=30, data_max_time=3600)


@pytest.mark.parametrize("received, deadline", [
    (0, 130), (500, 131), (5_000_000, 100 + 3600),          # the rate extends it, never past the total
])
def test_data_deadline_grows_with_the_bytes_and_stops_at_the_total(received, deadline):
    assert data_deadline(100, received, LIMITS) == deadline


def test_a_trickle_falls_behind_its_deadline_and_a_steady_sender_does_not():
    for seconds in range(31, 200):
        assert data_deadline(0, seconds * 1, LIMITS) < seconds          # one byte a second
        assert data_deadline(0, seconds * 600, LIMITS) > seconds        # 600 bytes a second


def test_without_a_rate_only_the_total_counts():
    limits = SessionLimits(data_min_rate=0, data_max_time=60)
    assert data_deadline(10, 0, limits) == data_deadline(10, 10**9, limits) == 70
    assert data_progress(10, 10**9, limits) == 10


@pytest.mark.parametrize("marks, now, expected", [
    ([], 100, None),
    ([(95, "a"), (99, "b")], 100, None),          # everyone moved within the idle bound: nobody yields
    ([(95, "a"), (80, "b"), (85, "c")], 100, "b"),
])
def test_shed_choice_is_the_oldest_progress_beyond_the_idle_bound(marks, now, expected):
    assert shed_choice(marks, now, 10) == expected


def test_error_memory_forgets_after_its_time_a_delivery_and_beyond_its_size():
    memory = ErrorMemory(forget_after=60, size=2)
    memory.remember("a", 7, now=0)
    assert memory.recall("a", now=59) == 7 and memory.recall("a", now=61) == 0
    memory.remember("a", 3, now=100)
    memory.remember("a", 0, now=101)              # the session delivered mail
    assert memory.recall("a", now=102) == 0
    for n, client in enumerate("bcd"):
        memory.remember(client, 1, now=200 + n)
    assert len(memory) == 2 and memory.recall("b", now=210) == 0


def test_session_limits_come_from_the_settings_with_postfix_defaults():
    limits = SessionLimits.of(Settings())
    assert (limits.data_min_rate, limits.error_sleep_time, limits.soft_error_limit, limits.hard_error_limit) == (
        500, 1, 10, 20)
    assert SessionLimits.of(Settings(max_session_time=5)).max_session_time == 5


@pytest.mark.parametrize("env, message", [
    ({"SMARTBCC_MAX_SESSION_TIME": "0"}, "max_session_time must be above zero"),
    ({"SMARTBCC_HARD_ERROR_LIMIT": "0"}, "hard_error_limit must be above zero"),
    ({"SMARTBCC_DATA_MIN_RATE": "-1"}, "data_min_rate must be zero or more"),
])
def test_session_bounds_that_cannot_work_are_refused_at_load(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)
