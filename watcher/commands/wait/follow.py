"""The waiting loop: look at each distribution every interval until every path is settled.

Completed is final: a path settled once is not checked again (unless it changes
again), so a look costs in proportion to what is still pending, not to the size
of the deploy. Before saying live, the site is listed again: a write during the
wait, or a rollback, is a change to cover first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from watcher.awserrors import AWS_ERRORS, error_code
from watcher.commands.wait.coverage import DistributionProgress, KnownInvalidation, NeededPath, assess
from watcher.commands.wait.invalidations import DistributionInvalidations
from watcher.commands.wait.progress import Progress
from watcher.core.clock import Clock

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["Follower", "Summary", "Waiting"]

Key = tuple[str, str]  # (distribution id, path)


@dataclass(frozen=True, slots=True)
class Waiting:
    """What to wait for and how."""

    needed: Sequence[NeededPath]
    floor: datetime  # TIME minus the clock skew: no older invalidation can count
    started: float  # monotonic
    timeout: float
    interval: float


@dataclass(slots=True)
class Summary:
    """The latest state: per distribution, and the invalidations that count (id -> paths covered)."""

    distributions: dict[str, DistributionProgress] = field(default_factory=dict)
    counting: dict[str, dict[str, tuple[KnownInvalidation, int]]] = field(default_factory=dict)
    paths: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Every needed path is covered by a Completed invalidation."""
        return all(entry.done for entry in self.distributions.values())


class Follower:
    """Looks until live or the timeout; `summary` is the latest state (also after Ctrl-C)."""

    def __init__(
        self,
        cloudfront_for: Callable[[str], CloudFrontClient],
        waiting: Waiting,
        relist: Callable[[], list[NeededPath]],
        *,
        clock: Clock,
        progress: Progress,
    ) -> None:
        self._cloudfront_for = cloudfront_for
        self._waiting = waiting
        self._relist = relist
        self._clock = clock
        self._progress = progress
        self._needed: dict[Key, NeededPath] = {}
        self._settled: dict[Key, KnownInvalidation] = {}
        self._trackers: dict[str, DistributionInvalidations] = {}
        self._awaited: dict[str, set[str]] = {}
        self._relist_error = ""
        self.summary = Summary()
        self._add(waiting.needed)

    def run(self) -> str:
        """ "live", "timeout", or "unknown" (the timeout passed while AWS errors hid the answer)."""
        deadline = self._waiting.started + self._waiting.timeout
        while True:
            self._look()
            if self.summary.done:
                added = self._list_again()
                if added == 0:
                    return "live"
                if added:
                    self._look()  # the new changes, at once
            if self._clock.monotonic() >= deadline:
                return "unknown" if self.summary.errors else "timeout"
            self._clock.sleep(max(0.0, min(self._waiting.interval, deadline - self._clock.monotonic())))

    def _add(self, paths: Sequence[NeededPath]) -> int:
        """Needed paths, a later change of a path reopening it; how many were new or reopened."""
        added = 0
        for item in paths:
            key = (item.distribution_id, item.path)
            seen = self._needed.get(key)
            if seen is None or item.changed_at > seen.changed_at:
                self._needed[key] = item
                self._settled.pop(key, None)
                added += 1
        return added

    def _list_again(self) -> int | None:
        """The number of changes found by listing the site again; None when the listing failed."""
        try:
            fresh = self._relist()
        except AWS_ERRORS as exc:
            self._relist_error = f"listing the site again: {error_code(exc)}: {str(exc)[:200]}"
            self.summary.errors = [self._relist_error]
            return None
        self._relist_error = ""
        return self._add(fresh)

    def _tracker(self, dist: str) -> DistributionInvalidations:
        tracker = self._trackers.get(dist)
        if tracker is None:
            tracker = DistributionInvalidations(
                self._cloudfront_for(dist), dist, self._waiting.floor, sleep=self._clock.sleep
            )
            self._trackers[dist] = tracker
        return tracker

    def _look(self) -> None:
        """One look at each distribution still waiting, then the summary and the progress."""
        pending = [item for key, item in self._needed.items() if key not in self._settled]
        for dist in sorted({item.distribution_id for item in pending}):
            self._tracker(dist).refresh(self._awaited.get(dist, ()))
        everywhere = sorted({dist for dist, _ in self._needed})
        state = assess(pending, {d: t.known for d, t in self._trackers.items()}, everywhere)
        for dist, entry in state.items():
            for item, known in entry.settled_by.items():
                self._settled[(dist, item.path)] = known
            self._awaited[dist] = set(entry.awaited)
        self.summary = self._summarise(state)
        self._progress.update(self.summary.distributions, self._clock.monotonic())

    def _summarise(self, state: dict[str, DistributionProgress]) -> Summary:
        summary = Summary(paths=len(self._needed))
        for (dist, _), item in self._needed.items():
            counting = summary.counting.setdefault(dist, {})
            known = self._settled.get((dist, item.path))
            if known is not None:
                _, paths = counting.get(known.id, (known, 0))
                counting[known.id] = (known, paths + 1)
        for dist, entry in state.items():
            settled = sum(1 for d, _ in self._settled if d == dist)
            entry.total += settled - len(entry.settled_by)
            entry.covered += settled - len(entry.settled_by)
            entry.completed += settled - len(entry.settled_by)
            by_id = (
                {known.id: known for known in self._trackers[dist].known} if dist in self._trackers else {}
            )
            for invalidation_id, paths in entry.awaited.items():
                counting = summary.counting.setdefault(dist, {})
                counting[invalidation_id] = (by_id[invalidation_id], paths)
            tracker = self._trackers.get(dist)
            if tracker is not None and tracker.last_error and entry.pending:
                summary.errors.append(f"{dist}: ListInvalidations/GetInvalidation: {tracker.last_error}")
        if self._relist_error:
            summary.errors.append(self._relist_error)
        summary.distributions = state
        return summary
