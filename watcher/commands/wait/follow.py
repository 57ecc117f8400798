"""The waiting loop: look at each distribution every interval until every path is settled.

Completed is final: a path settled once is never checked again, so a look costs in
proportion to what is still pending, not to the size of the deploy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from watcher.commands.wait.coverage import DistributionProgress, NeededPath, assess
from watcher.commands.wait.invalidations import DistributionInvalidations
from watcher.commands.wait.progress import Progress
from watcher.core.clock import Clock

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["SHOWN_PENDING", "Waiting", "follow"]

SHOWN_PENDING = 20


@dataclass(frozen=True, slots=True)
class Waiting:
    """What to wait for and how."""

    needed: Sequence[NeededPath]
    objects: int
    since: datetime
    started: float  # monotonic
    timeout: float
    interval: float


def follow(
    cloudfront_for: Callable[[str], CloudFrontClient],
    waiting: Waiting,
    *,
    clock: Clock,
    progress: Progress,
    out: TextIO,
) -> bool:
    """True once every needed path is covered by a Completed invalidation; False at the timeout."""
    waiting_on = sorted({item.distribution_id for item in waiting.needed})
    trackers = {
        dist: DistributionInvalidations(cloudfront_for(dist), dist, waiting.since) for dist in waiting_on
    }
    deadline = waiting.started + waiting.timeout
    remaining = list(waiting.needed)
    settled: Counter[str] = Counter()
    done: set[str] = set()
    while True:
        for dist, tracker in trackers.items():
            if dist not in done:
                tracker.refresh()
        state = assess(remaining, {d: t.known for d, t in trackers.items()}, waiting_on)
        for dist, entry in state.items():
            entry.total, entry.covered = entry.total + settled[dist], entry.covered + settled[dist]
            entry.completed += settled[dist]
            settled[dist] = entry.completed
        remaining = [item for entry in state.values() for item in entry.pending]
        now = clock.monotonic()
        progress.update(state, now)
        done = {dist for dist, entry in state.items() if entry.done}
        if len(done) == len(state):
            progress.close()
            print(
                f"live: {len(waiting.needed)} paths of {waiting.objects} objects changed since "
                f"{waiting.since.isoformat()} are covered by Completed invalidations on {len(state)} "
                f"distribution(s) (waited {now - waiting.started:.1f} s)",
                file=out,
            )
            return True
        if now >= deadline:
            progress.close()
            report_timeout(state, trackers, waiting.timeout, out)
            return False
        clock.sleep(max(0.0, min(waiting.interval, deadline - now)))


def report_timeout(
    state: dict[str, DistributionProgress],
    trackers: dict[str, DistributionInvalidations],
    timeout: float,
    out: TextIO,
) -> None:
    """The first paths still pending and their count, the invalidations in progress, the last errors."""
    pending = [item for entry in state.values() for item in entry.pending]
    print(
        f"timed out after {timeout:g} s: {len(pending)} path(s) not yet covered by a Completed invalidation",
        file=out,
    )
    print(f"pending (first {min(SHOWN_PENDING, len(pending))} of {len(pending)}):", file=out)
    for item in pending[:SHOWN_PENDING]:
        print(
            f"  {item.distribution_id} {item.path}  (key {item.key}, changed {item.changed_at.isoformat()})",
            file=out,
        )
    running = [(dist, known) for dist, entry in state.items() for known in entry.in_progress]
    print(f"invalidations in progress: {len(running)}", file=out)
    for dist, known in running:
        print(f"  {dist} {known.id} {known.status}, created {known.create_time.isoformat()}", file=out)
    for dist, tracker in trackers.items():
        if tracker.last_error:
            print(f"  {dist}: last ListInvalidations/GetInvalidation error: {tracker.last_error}", file=out)
