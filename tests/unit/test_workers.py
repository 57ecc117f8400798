"""The daemon-thread pool: results and errors land in futures; a stuck job never holds up exit."""

from __future__ import annotations

import threading

import pytest

from watcher.core.workers import WorkerPool


def test_results_and_errors_land_in_the_futures() -> None:
    pool = WorkerPool(2, "test")
    try:
        assert pool.submit(lambda: 6 * 7).result(timeout=5) == 42

        def fail() -> None:
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            pool.submit(fail).result(timeout=5)
    finally:
        pool.shutdown()


def test_its_threads_are_daemons_and_shutdown_cancels_what_waits() -> None:
    # GIVEN one worker stuck in a job, and a job waiting behind it
    pool = WorkerPool(1, "stuck")
    release, started = threading.Event(), threading.Event()

    def stuck_job() -> bool:
        started.set()
        return release.wait()

    stuck = pool.submit(stuck_job)
    assert started.wait(5)
    waiting = pool.submit(lambda: "never")
    # THEN the worker is a daemon (a stuck call cannot hold the process past its exit) ...
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("stuck-"))
    # ... and shutdown cancels the waiting job, and refuses new ones
    pool.shutdown()
    assert waiting.cancelled()
    assert pool.submit(lambda: "late").cancelled()
    release.set()
    assert stuck.result(timeout=5) is True
