"""When poll cycles run: every `[poll] interval_seconds` (jittered), one at a time, missed runs
coalesced, on the daemon's one periodic runner (watcher/ops/periodic.py).

Only the timing lives here; the cycle is a plain method that tests and `--once` call directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from watcher.core.clock import Clock
from watcher.ops.periodic import Periodic

__all__ = ["start_schedule"]

_MAX_JITTER_SECONDS = 30.0


def start_schedule(
    cycle: Callable[[], None], interval_seconds: float, *, clock: Clock, stop: threading.Event
) -> Periodic:
    """Run `cycle` now, then every interval, in a background thread; `join(0)` ends the schedule."""
    schedule = Periodic(stop=stop, clock=clock)
    # Jitter so that pollers of one bucket (other tools, other sites) do not align.
    schedule.every(interval_seconds, cycle, "poll", jitter=min(interval_seconds / 10, _MAX_JITTER_SECONDS))
    schedule.start()
    return schedule
