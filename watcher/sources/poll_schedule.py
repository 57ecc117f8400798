"""When poll cycles run: APScheduler, one at a time, missed runs coalesced, jittered.

Only the timing lives here; the cycle is a plain method that tests and
`--once` call directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

__all__ = ["start_schedule"]

_MAX_JITTER_SECONDS = 30.0


def start_schedule(cycle: Callable[[], None], interval_seconds: float) -> BackgroundScheduler:
    """Run `cycle` now, then every interval, in a background thread; returns the running scheduler."""
    from apscheduler.schedulers.background import BackgroundScheduler  # noqa: PLC0415
    from apscheduler.triggers.interval import IntervalTrigger  # noqa: PLC0415

    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not one line per cycle
    scheduler = BackgroundScheduler(timezone=UTC)
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
