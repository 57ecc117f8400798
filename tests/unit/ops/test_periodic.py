"""The one periodic runner: on the injected clock, never overlapping, never fatal, never holding up a stop."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from tests.support.clock import FakeClock
from watcher.ops.periodic import Periodic


def _runs_until(
    count: int, clock: FakeClock, times: list[float], done: threading.Event
) -> Callable[[], None]:
    def job() -> None:
        if len(times) < count:
            times.append(clock.monotonic())
        if len(times) >= count:
            done.set()

    return job


def test_a_job_runs_at_start_and_then_every_interval_in_fake_time() -> None:
    # GIVEN a job every 60 s on a fake clock
    clock, done = FakeClock(), threading.Event()
    times: list[float] = []
    periodic = Periodic(clock=clock)
    periodic.every(60, _runs_until(4, clock, times, done), "counting")
    # WHEN it runs (no real waiting: the fake clock's sleep moves time)
    periodic.start()
    assert done.wait(10)
    periodic.join(5)
    # THEN it ran at once, then every 60 s of the clock
    assert [t - times[0] for t in times] == [0, 60, 120, 180]
    assert times[0] == 1_000.0


def test_jitter_adds_up_to_its_amount_and_first_after_delays_the_first_run() -> None:
    clock, done = FakeClock(), threading.Event()
    times: list[float] = []
    periodic = Periodic(clock=clock)
    periodic.every(60, _runs_until(5, clock, times, done), "jittered", jitter=6, first_after=30)
    periodic.start()
    assert done.wait(10)
    periodic.join(5)
    assert times[0] == 1_030.0
    assert all(60 <= later - earlier <= 66 for earlier, later in itertools.pairwise(times))


def test_a_run_slower_than_the_interval_is_followed_at_once_not_twice() -> None:
    # GIVEN a job every 10 s whose runs take 25 s of the clock
    clock, done = FakeClock(), threading.Event()
    times: list[float] = []
    periodic = Periodic(clock=clock)

    def slow() -> None:
        times.append(clock.monotonic())
        clock.advance(25)
        if len(times) >= 3:
            done.set()

    periodic.every(10, slow, "slow")
    periodic.start()
    assert done.wait(10)
    periodic.join(5)
    # THEN each run follows the previous one's end (the missed runs became one), never overlapping
    assert times[:3] == [1_000.0, 1_025.0, 1_050.0]


def test_a_failing_job_is_only_logged_and_its_neighbour_keeps_running() -> None:
    clock, done = FakeClock(), threading.Event()
    times: list[float] = []
    periodic = Periodic(clock=clock)

    def failing() -> None:
        raise RuntimeError("AWS is down")

    periodic.every(1, failing, "failing")
    periodic.every(1, _runs_until(3, clock, times, done), "counting")
    periodic.start()
    assert done.wait(10)
    periodic.join(5)
    assert len(times) == 3


def test_join_is_bounded_by_its_timeout_even_during_a_slow_read() -> None:
    # GIVEN a job stuck in a read that takes far longer than the shutdown margin (real clock)
    release, started = threading.Event(), threading.Event()
    periodic = Periodic()

    def slow_read() -> None:
        started.set()
        release.wait(30)

    periodic.every(60, slow_read, "slow")
    periodic.start()
    assert started.wait(10)
    # WHEN the daemon stops
    t0 = time.monotonic()
    periodic.join(0.2)
    # THEN join returns after about its timeout, not after the read
    assert time.monotonic() - t0 < 3
    release.set()


def test_no_job_runs_once_stop_is_set() -> None:
    stop = threading.Event()
    stop.set()
    clock = FakeClock()
    periodic = Periodic(stop=stop, clock=clock)
    runs: list[int] = []
    periodic.every(0.05, lambda: runs.append(1), "after-stop")
    periodic.start()
    periodic.join(2)
    assert runs == []
