"""The in-flight limit: halves on a failed call, grows back by one per round of successes."""

from __future__ import annotations

import pytest

from watcher.core.inflight import InFlightLimit


def test_a_healthy_endpoint_keeps_every_slot() -> None:
    limit = InFlightLimit(4)
    assert limit.take(10) == 4
    for _ in range(4):
        limit.done(ok=True)
    assert (limit.limit, limit.in_flight, limit.room()) == (4, 0, 4)


def test_failures_fall_to_one_call_at_a_time_and_successes_climb_back() -> None:
    # GIVEN four calls in flight that all time out
    limit = InFlightLimit(4)
    assert limit.take(4) == 4
    for _ in range(4):
        limit.done(ok=False)
    # THEN one call at a time, never none
    assert limit.limit == 1
    assert limit.take(3) == 1
    # WHEN calls succeed again THEN the limit grows about one per round, back to the ceiling
    limit.done(ok=True)
    assert limit.limit == 2
    for _ in range(20):
        limit.take(1)
        limit.done(ok=True)
    assert limit.limit == 4


def test_a_ceiling_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InFlightLimit(0)
