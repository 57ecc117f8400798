"""The observer: metric reads on APScheduler, one at a time, never fatal, never holding up a stop."""

from __future__ import annotations

import threading
import time

from tests.support.waiting import wait_until
from watcher.ops.observer import Observer


def test_tasks_run_at_start_and_then_every_interval_and_a_failing_one_is_only_logged() -> None:
    # GIVEN an observer with a task every 0.1 s and one that always fails
    stop = threading.Event()
    observer = Observer(stop=stop)
    runs: list[float] = []
    observer.every(0.1, lambda: runs.append(time.monotonic()), "counting")

    def failing() -> None:
        raise RuntimeError("AWS is down")

    observer.every(0.1, failing, "failing")
    # WHEN it runs for a while
    observer.start()
    try:
        wait_until(lambda: len(runs) >= 3, timeout=10)
    finally:
        stop.set()
        observer.join(5)
    # THEN the counting task kept running despite its failing neighbour
    assert len(runs) >= 3


def test_join_is_bounded_by_its_timeout_even_during_a_slow_read() -> None:
    # GIVEN a task stuck in a read that takes far longer than the shutdown margin
    stop, release, started = threading.Event(), threading.Event(), threading.Event()
    observer = Observer(stop=stop)

    def slow_read() -> None:
        started.set()
        release.wait(30)

    observer.every(60, slow_read, "slow")
    observer.start()
    assert started.wait(10)
    # WHEN the daemon stops
    stop.set()
    t0 = time.monotonic()
    observer.join(0.5)
    # THEN join returns after about its timeout, not after the read
    assert time.monotonic() - t0 < 5
    release.set()


def test_no_task_runs_once_stop_is_set() -> None:
    stop = threading.Event()
    stop.set()
    observer = Observer(stop=stop)
    runs: list[int] = []
    observer.every(0.05, lambda: runs.append(1), "after-stop")
    observer.start()
    time.sleep(0.3)  # not an assertion on timing: runs must stay empty whatever the pace
    observer.join(2)
    assert runs == []


def test_without_tasks_nothing_starts() -> None:
    observer = Observer(stop=threading.Event())
    observer.start()
    observer.join(1)
