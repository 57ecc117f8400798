"""When poll cycles run: APScheduler, one at a time, missed runs coalesced, jittered.

Only the timing lives here; the cycle is a plain method that tests and
`--once` call directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

__all__ = ["start_schedule", "stop_schedule"]

_MAX_JITTER_SECONDS = 30.0


def start_schedule(cycle: Callable[[], None], interval_seconds: float) -> BackgroundScheduler:
    """Run `cycle` now, then every interval, in a background thread; returns the running scheduler."""
    from apscheduler.executors.debug import DebugExecutor  # noqa: PLC0415
    from apscheduler.schedulers.background import BackgroundScheduler  # noqa: PLC0415
    from apscheduler.triggers.interval import IntervalTrigger  # noqa: PLC0415

    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not one line per cycle
    # The cycle runs in the scheduler's own daemon thread (the direct executor), as the
    # observer's reads do: APScheduler's default pool has threads that the interpreter
    # joins at exit, so a cycle hung in S3 held the exit past shutdown_timeout_seconds.
    scheduler = BackgroundScheduler(timezone=UTC, daemon=True, executors={"default": DebugExecutor()})
    scheduler.add_job(
        cycle,
        # Jitter so that pollers of one bucket (other tools, other sites) do not align.
        IntervalTrigger(
            seconds=interval_seconds, jitter=min(interval_seconds / 10, _MAX_JITTER_SECONDS), timezone=UTC
        ),
        max_instances=1,  # a slow cycle is never overlapped by the next
        coalesce=True,  # runs missed while one was slow (or the host slept) become one
        misfire_grace_time=max(1, int(interval_seconds)),
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler


def stop_schedule(scheduler: BackgroundScheduler) -> None:
    """No more cycles, without waiting for a running one (S3 may hang; it stops at its next page).

    APScheduler's shutdown joins its thread, which runs the cycle: a daemon thread does it.
    """
    if scheduler.running:
        threading.Thread(
            target=scheduler.shutdown, kwargs={"wait": False}, name="poll-stop", daemon=True
        ).start()
