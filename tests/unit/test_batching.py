"""Batching: quiet period, max delay and caps per distribution, on a fake clock."""

from __future__ import annotations

import pytest

from tests.support.clock import FakeClock
from watcher.core.batching import Batcher
from watcher.core.model import Change, ChangeKind


def _change(key: str) -> Change:
    return Change(bucket="site-bucket", key=key, kind=ChangeKind.CREATED, identity=f"m-{key}#0")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def batcher(clock: FakeClock) -> Batcher:
    return Batcher(quiet_period=5, max_delay=60, clock=clock)


def test_a_burst_is_due_once_it_has_been_quiet_for_the_quiet_period(
    clock: FakeClock, batcher: Batcher
) -> None:
    # GIVEN three changes a second apart
    for key in ("a", "b", "c"):
        batcher.add("E1", _change(key), (f"/{key}",))
        clock.advance(1)
    # WHEN less than the quiet period has passed since the last one
    clock.advance(3.9)
    # THEN nothing is due yet
    assert batcher.due() == []
    # WHEN the quiet period passes
    clock.advance(0.1)
    # THEN the distribution is due, and its batch holds every change with its paths, in order
    assert batcher.due() == ["E1"]
    batch = batcher.take("E1")
    assert batch is not None
    assert [c.key for c in batch.changes] == ["a", "b", "c"]
    assert batch.paths == {"/a", "/b", "/c"}
    assert len(batcher) == 0
    assert batcher.take("E1") is None


def test_a_never_ending_trickle_is_flushed_at_the_max_delay(clock: FakeClock, batcher: Batcher) -> None:
    # GIVEN a change every 4 s (never quiet for 5 s)
    first_seen = clock.monotonic()
    for i in range(15):
        batcher.add("E1", _change(str(i)), (f"/{i}",))
        clock.advance(4)
        if clock.monotonic() - first_seen < 60:
            assert batcher.due() == [], f"due after {clock.monotonic() - first_seen} s"
    # THEN at 60 s after the first change it is due, whatever keeps coming
    assert clock.monotonic() - first_seen == 60
    assert batcher.due() == ["E1"]
    batch = batcher.take("E1")
    assert batch is not None
    assert batch.first_seen == first_seen


def test_a_batch_is_due_at_the_earlier_of_quiet_period_and_max_delay(clock: FakeClock) -> None:
    # GIVEN a 10 s quiet period, a 12 s max delay, and changes at 0 s and 5 s
    batcher = Batcher(quiet_period=10, max_delay=12, clock=clock)
    batcher.add("E1", _change("a"), ("/a",))
    clock.advance(5)
    batcher.add("E1", _change("b"), ("/b",))
    # THEN it is due at 12 s (max delay), not at 15 s (quiet period after the last change)
    clock.advance(6.9)
    assert batcher.due() == []
    clock.advance(0.1)
    assert batcher.due() == ["E1"]
    assert Batcher(quiet_period=1, max_delay=2, clock=clock).due() == []


def test_distributions_are_batched_independently(clock: FakeClock, batcher: Batcher) -> None:
    # GIVEN a change for E1, then 3 s later one for E2
    batcher.add("E1", _change("a"), ("/a",))
    clock.advance(3)
    batcher.add("E2", _change("b"), ("/b",))
    # WHEN E1 has been quiet for 5 s
    clock.advance(2)
    # THEN only E1 is due; taking it leaves E2 pending
    assert batcher.due() == ["E1"]
    e1 = batcher.take("E1")
    assert e1 is not None
    assert e1.paths == {"/a"}
    assert batcher.pending_paths() == {"E2": 1}
    # AND a new change to E1 does not delay E2
    batcher.add("E1", _change("c"), ("/c",))
    clock.advance(3)
    assert batcher.due() == ["E2"]


def test_force_makes_every_pending_distribution_due(clock: FakeClock, batcher: Batcher) -> None:
    batcher.add("E1", _change("a"), ("/a",))
    batcher.add("E2", _change("b"), ("/b",))
    assert batcher.due() == []
    assert sorted(batcher.due(force=True)) == ["E1", "E2"]


def test_the_pending_paths_cap_makes_a_batch_due_at_once(clock: FakeClock) -> None:
    # GIVEN a cap of 10 distinct pending paths
    batcher = Batcher(quiet_period=5, max_delay=60, clock=clock, max_pending_paths=10)
    # WHEN 9 distinct paths are pending, and the same paths again
    for i in range(9):
        batcher.add("E1", _change(str(i)), (f"/{i}",))
        batcher.add("E1", _change(f"again-{i}"), (f"/{i}",))
    # THEN duplicates do not count towards the cap
    assert batcher.pending_paths() == {"E1": 9}
    assert batcher.due() == []
    # WHEN the tenth distinct path arrives, THEN the batch is due without waiting
    batcher.add("E1", _change("9"), ("/9",))
    assert batcher.due() == ["E1"]


def test_the_pending_changes_cap_makes_a_batch_due_at_once(clock: FakeClock) -> None:
    # GIVEN a cap of 5 changes: many messages naming the same path
    batcher = Batcher(quiet_period=5, max_delay=60, clock=clock, max_pending_changes=5)
    for i in range(4):
        batcher.add("E1", _change(f"same-{i}"), ("/index.html",))
    assert batcher.due() == []
    batcher.add("E1", _change("same-4"), ("/index.html",))
    assert batcher.due() == ["E1"]
    assert len(batcher) == 5


def test_a_change_routed_to_two_distributions_is_in_both_batches(clock: FakeClock, batcher: Batcher) -> None:
    change = _change("app.js")
    batcher.add("EPROD", change, ("/app.js",))
    batcher.add("ESTAGING", change, ("/static/app.js",))
    clock.advance(5)
    batches = {d: batcher.take(d) for d in batcher.due()}
    assert {d: b.paths for d, b in batches.items() if b} == {
        "EPROD": {"/app.js"},
        "ESTAGING": {"/static/app.js"},
    }
