"""When poll cycles run: every `[poll] interval_seconds` (jittered), one at a time, missed runs
coalesced, as a job of the daemon's one APScheduler scheduler (watcher/ops/periodic.py).

Only the timing lives here; the cycle is a plain method that tests and `--once` call directly.
"""

from __future__ import annotations

from collections.abc import Callable

from watcher.ops.periodic import Periodic

__all__ = ["JOB", "schedule_cycles"]

JOB = "poll"  # the job's name on the scheduler
_MAX_JITTER_SECONDS = 30.0


def schedule_cycles(periodic: Periodic, cycle: Callable[[], None], interval_seconds: float) -> None:
    """Run `cycle` when `periodic` starts (or now, if it runs), then every interval."""
    # Jitter so that pollers of one bucket (other tools, other sites) do not align.
    periodic.every(interval_seconds, cycle, JOB, jitter=min(interval_seconds / 10, _MAX_JITTER_SECONDS))
