"""The AWS reads that only feed metrics and logs, on APScheduler (as poll cycles are).

GetInvalidation, ListInvalidations and GetQueueAttributes can each take
seconds during an AWS incident; run here, they never delay a flush, an
acknowledgement or the heartbeat that /healthz reports.

The reads run one at a time in the scheduler's own daemon thread (APScheduler's
direct executor), as a hand-made loop would: a read hung in an outage never
holds up the process exit after a drain, and missed runs are coalesced into one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

__all__ = ["Observer"]


class Observer:
    """Runs periodic tasks until `stop` is set or `join` is called; a failing task is logged, never fatal."""

    def __init__(self, *, stop: threading.Event) -> None:
        self._stop = stop
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            daemon=True,
            executors={"default": DebugExecutor()},
            # A slow read is never overlapped by its next run; runs missed meanwhile become one, late.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._log = structlog.get_logger("watcher.observer")

    def every(self, seconds: float, action: Callable[[], None], name: str) -> None:
        """Run `action` every `seconds` (first run at start)."""
        self._scheduler.add_job(
            self._guarded,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            args=(action, name),
            id=name,
            name=name,
            next_run_time=datetime.now(UTC),
        )

    def start(self) -> None:
        """Start the scheduler's thread (no-op without tasks)."""
        if self._scheduler.get_jobs():
            self._scheduler.start()

    def join(self, timeout: float) -> None:
        """Stop scheduling, waiting at most `timeout` for a read in progress."""
        if not self._scheduler.running:
            return
        # shutdown() joins the scheduler's thread, which may be inside a slow read: bound the wait.
        closer = threading.Thread(target=self._scheduler.shutdown, kwargs={"wait": False}, daemon=True)
        closer.start()
        closer.join(timeout)

    def _guarded(self, action: Callable[[], None], name: str) -> None:
        if self._stop.is_set():
            return
        try:
            action()
        except Exception:  # noqa: BLE001 - observation must never take the daemon down
            self._log.exception("background task failed", task=name)
