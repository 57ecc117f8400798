"""Which changed paths an invalidation covers: pure, on the daemon's own routing and encoding.

An invalidation covers a path when it lists the path or a wildcard whose prefix
the path starts with (as `InvalidationPlan.covers` decides what a daemon's flush
covered), on the same distribution, created after the change. The invalidations
are indexed by path and by wildcard prefix, so one look costs a few dictionary
lookups per pending path however many invalidations there are.

S3 dates a change to the second (LastModified has no fraction) and CloudFront an
invalidation to the millisecond: an invalidation created 0.4 s into the second of
a write may be older than the write. It counts only if created at or after the
end of that second.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from watcher.commands.wait.listing import ChangedObject
from watcher.core.planning import is_wildcard
from watcher.core.routing import Router

__all__ = [
    "DistributionProgress",
    "KnownInvalidation",
    "NeededPath",
    "Unserved",
    "assess",
    "counts_for",
    "needed_paths",
]


@dataclass(frozen=True, slots=True)
class NeededPath:
    """A path that must be invalidated on a distribution, and when its object changed."""

    distribution_id: str
    path: str
    changed_at: datetime
    key: str
    dated_by: str = "last_modified"  # listing.py's LAST_MODIFIED, DELETE_MARKER or SEEN_BY_WAIT


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
    settled_by: dict[NeededPath, KnownInvalidation] = field(default_factory=dict)
    awaited: dict[str, int] = field(
        default_factory=dict
    )  # InProgress invalidation id -> pending paths it covers

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


def counts_for(known: KnownInvalidation, changed_at: datetime) -> bool:
    """Created at or after the end of the second in which S3 dates the change."""
    end_of_second = changed_at.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
    return known.create_time >= end_of_second


@dataclass(frozen=True, slots=True)
class Unserved:
    """Changed objects no site serves: in no site bucket (a usage error) or not taken by its globs."""

    other_buckets: tuple[str, ...]
    not_served: int


def needed_paths(router: Router, changes: Iterable[ChangedObject]) -> tuple[list[NeededPath], Unserved]:
    """Every (distribution, encoded path) the changes need, latest change wins; and what no site takes."""
    needed: dict[tuple[str, str], NeededPath] = {}
    other_buckets: list[str] = []
    not_served = 0
    for change in changes:
        result = router.route(change.bucket, change.key)
        if result.ignored:
            # A bucket no site watches is a mistake; a key the site's prefix or globs leave out owes nothing.
            if any(reason.startswith("no site watches bucket") for reason in result.reasons):
                other_buckets.append(f"s3://{change.bucket}/{change.key}")
            else:
                not_served += 1
            continue
        for route in result.routes:
            for path in route.paths:
                seen = needed.get((route.distribution_id, path))
                if seen is None or change.changed_at > seen.changed_at:
                    needed[(route.distribution_id, path)] = NeededPath(
                        route.distribution_id, path, change.changed_at, change.key, change.dated_by
                    )
    ordered = sorted(needed.values(), key=lambda n: (n.distribution_id, n.path))
    return ordered, Unserved(tuple(other_buckets), not_served)


def assess(
    needed: Sequence[NeededPath],
    invalidations: Mapping[str, Sequence[KnownInvalidation]],
    distributions: Iterable[str] = (),
) -> dict[str, DistributionProgress]:
    """Progress per distribution of the needed paths against the known invalidations.

    A path settled by a Completed invalidation names it in `settled_by`; the
    InProgress invalidations covering a pending path are `awaited` (the next look
    asks CloudFront about them).
    """
    progress = {d: DistributionProgress(d) for d in distributions}
    indexes = {dist: _Index(known) for dist, known in invalidations.items()}
    for item in needed:
        entry = progress.setdefault(item.distribution_id, DistributionProgress(item.distribution_id))
        entry.total += 1
        index = indexes.get(item.distribution_id)
        covering = [k for k in index.covering(item.path) if counts_for(k, item.changed_at)] if index else []
        if covering:
            entry.covered += 1
        done = next((known for known in covering if known.completed), None)
        if done is not None:
            entry.completed += 1
            entry.settled_by[item] = done
            continue
        entry.pending.append(item)
        for known in covering:
            entry.awaited[known.id] = entry.awaited.get(known.id, 0) + 1
    for dist, entry in progress.items():
        newest_first = sorted(invalidations.get(dist, ()), key=lambda k: k.create_time, reverse=True)
        entry.in_progress = [k for k in newest_first if not k.completed]
    return progress
