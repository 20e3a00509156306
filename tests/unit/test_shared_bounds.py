"""The bounds of `smartbcc serve --workers N` are the whole gateway's (gateway.ops.shared): two handles
of one shared file stand for two worker processes, each counting in its own row."""

from __future__ import annotations

import pytest

from gateway.ops.shared import SharedBudget, SharedSenderRate, SharedSessions, SharedState
from gateway.replies import LOOP_DETECTED, SENDER_RATE, TOO_MANY_SESSIONS


@pytest.fixture
def two(tmp_path):
    """The supervisor's file, and the view each of two workers has of it."""
    made = SharedState.create(tmp_path / "bounds", 2)
    views = [SharedState(tmp_path / "bounds", 2) for _ in range(2)]
    yield made, views
    for state in (made, *views):
        state.close()


def test_sessions_are_bounded_in_all_not_per_worker(two):
    supervisor, (zero, one) = two
    first, second = SharedSessions(zero, 0, 3, 2), SharedSessions(one, 1, 3, 2)
    assert first.admit("192.0.2.1") is None and second.admit("192.0.2.1") is None
    assert first.admit("192.0.2.1") == TOO_MANY_SESSIONS        # two from that client, across the workers
    assert second.admit("192.0.2.2") is None
    assert first.admit("192.0.2.3") == TOO_MANY_SESSIONS        # three in all
    assert (first.total, second.by_client.get("192.0.2.1")) == (3, 2)
    second.release("192.0.2.2")
    assert first.admit("192.0.2.3") is None
    supervisor.clear(0)                                          # worker 0 died: its sessions are gone
    assert (second.total, second.by_client.get("192.0.2.1"), second.by_client.get("192.0.2.3")) == (1, 1, 0)


def test_the_memory_budget_is_shared(two):
    supervisor, (zero, one) = two
    first, second = SharedBudget(zero, 0, 1000), SharedBudget(one, 1, 1000)
    assert first.reserve(600) and not second.reserve(500) and second.reserve(400)
    assert (first.used, first.available, second.peak) == (1000, 0, 1000)
    first.release(600)
    assert second.reserve(500) and second.used == 900
    supervisor.clear(1)
    assert (first.used, first.peak) == (0, 1000)


def test_sender_bounds_count_what_every_worker_accepted(two):
    supervisor, (zero, one) = two
    first, second = SharedSenderRate(zero, 0, 3, 2), SharedSenderRate(one, 1, 3, 2)
    now = 1_000_000.0
    first.record("1:ada@acme.example", False, now)
    second.record("1:ada@acme.example", True, now + 60)
    second.record("1:ada@acme.example", True, now + 120)
    assert first.decide("1:ada@acme.example", True, now + 130).reply == LOOP_DETECTED
    assert first.decide("1:ada@acme.example", False, now + 130).reply == SENDER_RATE
    assert second.decide("2:ada@acme.example", False, now + 130).reply is None      # another sender
    supervisor.clear(1)                           # a replaced worker's senders still count: the mail was taken
    assert first.decide("1:ada@acme.example", False, now + 130).reply == SENDER_RATE
    assert first.decide("1:ada@acme.example", False, now + 3600).reply is None       # the first is an hour old
    first.record("1:ada@acme.example", False, now + 3600)     # the first minute's bucket again: cleared first
    assert supervisor.sent("1:ada@acme.example", now + 3600) == (3, 2)
