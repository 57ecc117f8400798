"""Which changed paths an invalidation covers: pure, on the daemon's own routing and encoding.

An invalidation covers a path when it lists the path or a wildcard whose prefix
the path starts with (as `InvalidationPlan.covers` decides what a daemon's flush
covered), on the same distribution, created at or after the change. The
invalidations are indexed by path and by wildcard prefix, so one look costs a
few dictionary lookups per pending path however many invalidations there are.
Times compare to the whole second: S3 keeps LastModified to the second.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from watcher.commands.wait.listing import ChangedObject
from watcher.core.planning import is_wildcard
from watcher.core.routing import Router

__all__ = ["DistributionProgress", "KnownInvalidation", "NeededPath", "assess", "needed_paths"]


@dataclass(frozen=True, slots=True)
class NeededPath:
    """A path that must be invalidated on a distribution, and when its object changed."""

    distribution_id: str
    path: str
    changed_at: datetime
    key: str


@dataclass(slots=True)
class KnownInvalidation:
    """An invalidation `wait` looked at: paths from GetInvalidation, status kept fresh by listing."""

    id: str
    create_time: datetime
    status: str
    paths: tuple[str, ...]

    @property
    def completed(self) -> bool:
        """CloudFront's status, compared case-insensitively (emulators differ)."""
        return self.status.lower() == "completed"


@dataclass(slots=True)
class DistributionProgress:
    """Per distribution: paths needed, covered by an invalidation, covered by a Completed one."""

    distribution_id: str
    total: int = 0
    covered: int = 0
    completed: int = 0
    pending: list[NeededPath] = field(default_factory=list)
    in_progress: list[KnownInvalidation] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Every needed path is covered by a Completed invalidation."""
        return self.completed == self.total


class _Index:
    """One distribution's invalidations by exact path and by wildcard prefix."""

    def __init__(self, invalidations: Iterable[KnownInvalidation]) -> None:
        self._exact: dict[str, list[KnownInvalidation]] = {}
        self._wild: dict[str, list[KnownInvalidation]] = {}
        for known in invalidations:
            for path in set(known.paths):
                if is_wildcard(path):
                    self._wild.setdefault(path[:-1], []).append(known)
                else:
                    self._exact.setdefault(path, []).append(known)
        self._lengths = sorted({len(prefix) for prefix in self._wild})

    def covering(self, path: str) -> Iterator[KnownInvalidation]:
        """Every invalidation that lists `path`, or a wildcard whose prefix `path` starts with."""
        yield from self._exact.get(path, ())
        if is_wildcard(path):
            yield from self._wild.get(path[:-1], ())  # "/a*" is covered by "/a*" itself
        for length in self._lengths:
            if length > len(path):
                break
            yield from self._wild.get(path[:length], ())


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def needed_paths(router: Router, changes: Iterable[ChangedObject]) -> tuple[list[NeededPath], list[str]]:
    """Every (distribution, encoded path) the changes need, latest change wins; and keys no site takes."""
    needed: dict[tuple[str, str], NeededPath] = {}
    unrouted: list[str] = []
    for change in changes:
        result = router.route(change.bucket, change.key)
        if result.ignored:
            unrouted.append(f"s3://{change.bucket}/{change.key}")
            continue
        for route in result.routes:
            for path in route.paths:
                seen = needed.get((route.distribution_id, path))
                if seen is None or change.changed_at > seen.changed_at:
                    needed[(route.distribution_id, path)] = NeededPath(
                        route.distribution_id, path, change.changed_at, change.key
                    )
    return sorted(needed.values(), key=lambda n: (n.distribution_id, n.path)), unrouted


def assess(
    needed: Sequence[NeededPath],
    invalidations: Mapping[str, Sequence[KnownInvalidation]],
    distributions: Iterable[str] = (),
) -> dict[str, DistributionProgress]:
    """Progress per distribution of the needed paths against the known invalidations."""
    progress = {d: DistributionProgress(d) for d in distributions}
    indexes = {dist: _Index(known) for dist, known in invalidations.items()}
    for item in needed:
        entry = progress.setdefault(item.distribution_id, DistributionProgress(item.distribution_id))
        entry.total += 1
        changed = _second(item.changed_at)
        index = indexes.get(item.distribution_id)
        covering = (
            [k for k in index.covering(item.path) if _second(k.create_time) >= changed] if index else []
        )
        if covering:
            entry.covered += 1
        if any(known.completed for known in covering):
            entry.completed += 1
        else:
            entry.pending.append(item)
    for dist, entry in progress.items():
        newest_first = sorted(invalidations.get(dist, ()), key=lambda k: k.create_time, reverse=True)
        entry.in_progress = [k for k in newest_first if not k.completed]
    return progress
