"""Every periodic job of the daemon on one APScheduler scheduler.

Poll cycles, the reads that only feed metrics (GetInvalidation, ListInvalidations,
GetQueueAttributes), the site index's listings and the monthly bill's check are jobs of
one `BackgroundScheduler`, each on an `IntervalTrigger`: a job runs once at start (or
after `first_after`), then every `seconds` (+ up to `jitter`). It never overlaps itself
(`max_instances=1`); the runs that came due while it was running become one run, started
as soon as it ends (`coalesce`, and no misfire grace: a late run is never dropped). A
failing run is logged, never fatal, and no run starts once `stop` is set.

Each run has a daemon thread of its own (`_DaemonThreadExecutor`), so a read hung in an
AWS incident delays neither the other jobs nor a flush, an acknowledgement or the
heartbeat, and never holds up the process exit after a drain: APScheduler's stock
`ThreadPoolExecutor` runs jobs in `concurrent.futures` threads, which the interpreter
joins at exit (poll mode overran `shutdown_timeout_seconds` while S3 hung).

APScheduler keeps its time on the wall clock; it cannot run on an injected clock. The
jobs read the daemon's clock for what they do, and a test that needs a run now (rather
than after an interval) calls `run_now(name)`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

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

    def __init__(self, *, stop: threading.Event | None = None, clock: Clock | None = None) -> None:
        self._stop = stop or threading.Event()
        self._clock = clock or SystemClock()  # the jobs' own time: how long a run took
        self._executor = _DaemonThreadExecutor()
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            daemon=True,
            executors={"default": self._executor},
            # Never overlapping; runs missed meanwhile become one, however late (never dropped).
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._waiting: list[_Job] = []  # added before start: their first run counts from start
        self._started = False
        self._lock = threading.Lock()
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
        """Run `action` `first_after` seconds after start (or now, if started), then every
        `seconds` (+ up to `jitter`). `name` is the job's id (for `run_now` and `cancel`)."""
        job = _Job(name, seconds, action, jitter, first_after)
        with self._lock:
            if not self._started:
                self._waiting.append(job)
                return
        self._add(job)

    def start(self) -> None:
        """Start the scheduler's thread; every job added so far runs after its `first_after`."""
        with self._lock:
            self._started = True
            waiting, self._waiting = self._waiting, []
        for job in waiting:
            self._add(job)
        self._scheduler.start()

    def run_now(self, name: str) -> None:
        """Run job `name` now (right after its run in progress, if any); its interval counts
        from now. No effect on a job that is not scheduled (any more)."""
        try:
            self._scheduler.modify_job(name, next_run_time=datetime.now(UTC))  # wakes the scheduler
        except JobLookupError:
            return

    def cancel(self, name: str) -> None:
        """No more runs of job `name`; a run in progress is not waited for."""
        with self._lock:
            self._waiting = [job for job in self._waiting if job.name != name]
        self._executor.forget(name)
        try:
            self._scheduler.remove_job(name)
        except JobLookupError:
            return

    def join(self, timeout: float) -> None:
        """No more runs; wait at most `timeout` in all for runs in progress (a hung one is left
        behind: its thread is a daemon)."""
        # Real time: this waits on threads, whatever clock the jobs read.
        deadline = time.monotonic() + timeout
        if self._scheduler.running:
            # Without waiting: the scheduler's own thread only submits runs, it never runs one.
            self._scheduler.shutdown(wait=False)
        self._executor.join(deadline)

    def _add(self, job: _Job) -> None:
        first = datetime.now(UTC) + timedelta(seconds=job.first_after)
        self._scheduler.add_job(
            self._guarded,
            IntervalTrigger(seconds=job.seconds, jitter=job.jitter or None, timezone=UTC),
            args=(job,),
            id=job.name,
            name=job.name,
            next_run_time=first,
        )

    def _guarded(self, job: _Job) -> None:
        if self._stop.is_set():
            return
        started = self._clock.monotonic()
        try:
            job.action()
        except Exception:  # noqa: BLE001 - periodic work must never take the daemon down
            self._log.exception("periodic job failed", job=job.name)
        took = self._clock.monotonic() - started
        if took > job.seconds:
            # Say why runs were fewer than the interval makes: those due meanwhile became one.
            self._log.info("periodic job outlasted its interval", job=job.name, seconds=round(took, 2))


class _DaemonThreadExecutor(BaseExecutor):  # type: ignore[misc] # APScheduler 3 has no type hints
    """APScheduler's executor API: each run in a daemon thread of its own.

    A run that comes due while its job is still running (`max_instances` reached) is kept,
    one however many come due, and started by that thread as soon as the running one ends:
    coalesced, never overlapping, never dropped (the stock executors skip it with a warning).
    """

    def __init__(self) -> None:
        super().__init__()
        self._again: dict[str, tuple[Any, list[datetime]]] = {}  # job id -> (job, [run time])
        self._threads: set[threading.Thread] = set()
        self._ended = False
        self._guard = threading.Lock()  # _threads and _ended (the base's _lock exists once started)

    def submit_job(self, job: Any, run_times: list[datetime]) -> None:
        """Start a run, or keep it for when the job's run in progress ends."""
        with self._lock:  # the scheduler's RLock: the base class takes it again
            if self._instances[job.id] >= job.max_instances:
                self._again[job.id] = (job, run_times[-1:])
                return
            super().submit_job(job, run_times)

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        with self._guard:
            if self._ended:
                return
            thread = threading.Thread(
                target=self._work, args=(job, run_times), name=f"periodic-{job.id}", daemon=True
            )
            self._threads.add(thread)
        thread.start()

    def _work(self, job: Any, run_times: list[datetime]) -> None:
        try:
            while True:
                try:
                    events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
                except BaseException:  # noqa: BLE001 - reported as the stock executors do
                    self.forget(job.id)  # the scheduler comes round again on its interval
                    self._run_job_error(job.id, *sys.exc_info()[1:])
                    return
                with self._lock:
                    again = None if self._ended else self._again.pop(job.id, None)
                    if again is not None:
                        self._instances[job.id] += 1  # this thread keeps the job's one instance
                self._run_job_success(job.id, events)
                if again is None:
                    return
                job, run_times = again
        finally:
            with self._guard:
                self._threads.discard(threading.current_thread())

    def forget(self, job_id: str) -> None:
        """A job removed: the run kept for it is not started."""
        if self._lock is not None:
            with self._lock:
                self._again.pop(job_id, None)

    def shutdown(self, wait: bool = True) -> None:
        """No more runs start (nor kept runs); `wait` is `join`'s, bounded, not APScheduler's."""
        with self._guard:
            self._ended = True

    def join(self, deadline: float) -> None:
        """No more runs; wait for those in progress until `deadline` (time.monotonic)."""
        self.shutdown(wait=False)
        with self._guard:
            running = list(self._threads)
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))
