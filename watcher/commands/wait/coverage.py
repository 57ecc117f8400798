"""Which changed paths an invalidation covers: pure, on the daemon's own routing and encoding.

An invalidation covers a path when it lists the path or a wildcard whose prefix
the path starts with (`InvalidationPlan.covers`, as the daemon decides what a
flush covered), on the same distribution, created at or after the change.
Times compare to the whole second: S3 keeps LastModified to the second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from watcher.commands.wait.listing import ChangedObject
from watcher.core.planning import InvalidationPlan
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
    plan: InvalidationPlan

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
    # Newest first: the invalidation that covers a recent change is among the recent ones.
    ordered = {
        dist: sorted(known, key=lambda k: k.create_time, reverse=True)
        for dist, known in invalidations.items()
    }
    for item in needed:
        entry = progress.setdefault(item.distribution_id, DistributionProgress(item.distribution_id))
        entry.total += 1
        changed = _second(item.changed_at)
        covering = [
            known
            for known in ordered.get(item.distribution_id, ())
            if _second(known.create_time) >= changed and known.plan.covers(item.path)
        ]
        if covering:
            entry.covered += 1
        if any(known.completed for known in covering):
            entry.completed += 1
        else:
            entry.pending.append(item)
    for dist, entry in progress.items():
        entry.in_progress = [k for k in ordered.get(dist, ()) if not k.completed]
    return progress
