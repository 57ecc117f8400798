"""One burst -> the requests to send now and the paths that wait: never past a CloudFront limit.

Pure. CloudFront allows 15 wildcard paths and 3,000 file paths in progress per
distribution (people share both with us); a request past either is refused, so
the plan fits the room left and holds back what does not fit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from watcher.core.planning import (
    CLOUDFRONT_MAX_FILE_PATHS,
    InvalidationPlan,
    is_wildcard,
    normalize,
    plan_invalidation,
)

__all__ = ["Planner", "Schedule", "schedule_requests"]

T = TypeVar("T")


class Planner(Protocol):
    """Plans one request within `max_paths` paths and `wildcard_budget` (>= 1) wildcards."""

    def __call__(self, paths: Iterable[str], *, max_paths: int, wildcard_budget: int) -> InvalidationPlan: ...


@dataclass(frozen=True, slots=True)
class Schedule:
    """The requests to send now, and the paths that must wait for room on the distribution."""

    requests: tuple[InvalidationPlan, ...]
    deferred: frozenset[str] = frozenset()

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path sent now, sorted."""
        return tuple(sorted(path for request in self.requests for path in request.paths))

    def covers(self, path: str) -> bool:
        """Whether a path is covered by one of the requests sent now."""
        return any(request.covers(path) for request in self.requests)

    def settle(
        self, entries: Iterable[tuple[T, tuple[str, ...]]], accepted: InvalidationPlan
    ) -> tuple[list[T], list[T], int]:
        """(changes the accepted paths cover, changes they do not, how many of those wait for room)."""
        covered: list[T] = []
        failed: list[T] = []
        waiting = 0
        for change, paths in entries:
            if all(accepted.covers(path) for path in paths):
                covered.append(change)
            else:
                failed.append(change)
                waiting += any(path in self.deferred for path in paths)
        return covered, failed, waiting


def schedule_requests(
    paths: Iterable[str],
    *,
    max_paths: int,
    wildcard_budget: int,
    file_room: int = CLOUDFRONT_MAX_FILE_PATHS,
    planner: Planner = plan_invalidation,
) -> Schedule:
    """Encoded paths of one burst -> requests that keep every CloudFront limit, plus what waits.

    `wildcard_budget`: wildcards still free on the distribution; `file_room`: file paths
    CloudFront still accepts in progress (3,000 less those already running). With a free
    wildcard, one request from `planner` fits both. With none, exact paths go out in
    requests of at most `max_paths`, as many as the file room takes; wildcard paths (and
    exact ones past the room) are deferred until an invalidation completes.
    """
    if max_paths < 1:
        raise ValueError(f"max_paths must be at least 1, not {max_paths}")
    kept = normalize(paths)
    if not kept:
        return Schedule(())
    room = max(file_room, 0)
    if wildcard_budget >= 1 and room >= 1:
        plan = planner(kept, max_paths=min(max_paths, room), wildcard_budget=wildcard_budget)
        return Schedule((plan,))
    exact = sorted(path for path in kept if not is_wildcard(path))
    sendable = exact[:room]
    requests = tuple(
        InvalidationPlan(tuple(sendable[i : i + max_paths])) for i in range(0, len(sendable), max_paths)
    )
    return Schedule(requests, frozenset(kept) - frozenset(sendable))
