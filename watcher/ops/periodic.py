"""Every periodic job of the daemon, one way: a loop per job, waiting on the injected clock.

Poll cycles, the reads that only feed metrics (GetInvalidation, ListInvalidations,
GetQueueAttributes), the site index's listings and the monthly bill's check all run
here. Each job has its own daemon thread, so a read hung in an AWS incident delays
neither the other jobs nor a flush, an acknowledgement or the heartbeat, and never
holds up the process exit after a drain. A job runs once at start (or after
`first_after`), then every `seconds` from the start of its previous run, never
overlapping itself: runs missed while one was slow become one, at once. A failing
job is logged, never fatal. Waiting on the injected clock lets tests drive it.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from watcher.core.clock import Clock, SystemClock

__all__ = ["Periodic"]


@dataclass(frozen=True, slots=True)
class _Job:
    name: str
    seconds: float
    action: Callable[[], None]
    jitter: float
    first_after: float


class Periodic:
    """Runs jobs every so often until `join` (or `stop`, when given: no job runs once it is set)."""

    def __init__(
        self,
        *,
        stop: threading.Event | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._stop = stop or threading.Event()
        self._ending = threading.Event()  # join(): no more runs, wake every sleeping job
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._jobs: list[_Job] = []
        self._threads: list[threading.Thread] = []
        self._log = structlog.get_logger("watcher.periodic")

    def every(
        self,
        seconds: float,
        action: Callable[[], None],
        name: str,
        *,
        jitter: float = 0.0,
        first_after: float = 0.0,
    ) -> None:
        """Run `action` after `first_after` seconds, then every `seconds` (+ up to `jitter`)."""
        self._jobs.append(_Job(name, seconds, action, jitter, first_after))

    def start(self) -> None:
        """One daemon thread per job."""
        for job in self._jobs:
            thread = threading.Thread(
                target=self._loop, args=(job,), name=f"periodic-{job.name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def join(self, timeout: float) -> None:
        """No more runs; wait at most `timeout` in all for runs in progress."""
        self._ending.set()
        deadline = self._clock.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - self._clock.monotonic()))

    def _loop(self, job: _Job) -> None:
        due = self._clock.monotonic() + job.first_after
        while not self._ending.is_set():
            if self._clock.sleep(max(0.0, due - self._clock.monotonic()), self._ending):
                return
            if self._stop.is_set() or self._ending.is_set():
                return
            started = self._clock.monotonic()
            self._run(job)
            # From the start of this run; a run that took longer than the interval is followed at once.
            due = started + job.seconds + (self._rng.uniform(0, job.jitter) if job.jitter else 0.0)

    def _run(self, job: _Job) -> None:
        try:
            job.action()
        except Exception:  # noqa: BLE001 - periodic work must never take the daemon down
            self._log.exception("periodic job failed", job=job.name)
