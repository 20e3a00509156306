"""The one retry policy for a unique-key race (gateway.store.filing.retry_races), used by store_message
and by the SMTP side's batches: which items are filed again, how often, and when their result is given."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from gateway.store.filing import RACE_ATTEMPTS, Retry, Stored, race_pause, retry_races


def _race() -> Retry:
    return Retry(IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")))


class Scripted:
    """A filing step that answers each item from its script, one entry per filing of it."""

    def __init__(self, script: dict[str, list[str]]) -> None:
        self.script = script
        self.calls: list[list[str]] = []

    async def __call__(self, items: list[str]) -> list[Stored | Exception]:
        self.calls.append(list(items))
        results: list[Stored | Exception] = []
        for item in items:
            outcome = self.script[item][len([c for c in self.calls if item in c]) - 1]
            results.append(Stored(ord(item[0]), True, 0, 0) if outcome == "ok"
                           else _race() if outcome == "race" else ValueError(item))
        return results


async def _run(script: dict[str, list[str]]) -> tuple[list[tuple[str, str]], list[list[str]]]:
    step = Scripted(script)
    got = [(item, type(result).__name__) async for item, result in retry_races(step, list(script))]
    return got, step.calls


@pytest.mark.parametrize(("script", "results", "calls"), [
    # all filed at once: one filing, results in order
    ({"a": ["ok"], "b": ["ok"]}, [("a", "Stored"), ("b", "Stored")], [["a", "b"]]),
    # an item's own failure is final, not filed again
    ({"a": ["fail"], "b": ["ok"]}, [("a", "ValueError"), ("b", "Stored")], [["a", "b"]]),
    # a race: the settled item is answered first, only the racer is filed again
    ({"a": ["race", "ok"], "b": ["ok"]}, [("b", "Stored"), ("a", "Stored")], [["a", "b"], ["a"]]),
    ({"a": ["race", "race", "fail"], "b": ["race", "ok"]},
     [("b", "Stored"), ("a", "ValueError")], [["a", "b"], ["a", "b"], ["a"]]),
    # a race that never resolves: its Retry is final after RACE_ATTEMPTS filings
    ({"a": ["race"] * RACE_ATTEMPTS}, [("a", "Retry")], [["a"]] * RACE_ATTEMPTS),
    ({"a": ["race"] * (RACE_ATTEMPTS - 1) + ["ok"]}, [("a", "Stored")], [["a"]] * RACE_ATTEMPTS),
])
async def test_races_are_filed_again_up_to_the_attempts(script, results, calls):
    assert await _run(script) == (results, calls)


async def test_a_failing_filing_step_raises_with_the_unsettled_items_unanswered():
    calls = 0

    async def step(items: list[str]) -> list[Stored | Exception]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("database gone")
        return [_race() if item == "a" else Stored(1, True, 0, 0) for item in items]

    got = []
    with pytest.raises(ConnectionError):
        async for item, result in retry_races(step, ["a", "b"]):
            got.append((item, result))
    assert [item for item, _ in got] == ["b"]


def test_the_pause_is_zero_first_then_random_and_growing():
    assert race_pause(0) == 0.0
    for attempt in range(1, RACE_ATTEMPTS):
        pauses = [race_pause(attempt) for _ in range(200)]
        assert all(0.0 <= pause <= 0.02 * attempt for pause in pauses)
        assert len(set(pauses)) > 1


def test_a_retry_keeps_the_integrity_error_and_reads_as_it():
    race = _race()
    assert isinstance(race.error, IntegrityError)
    assert str(race) == repr(race.error)
