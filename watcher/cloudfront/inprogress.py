"""What is in progress on each distribution, from ListInvalidations, not from errors.

CloudFront allows 15 wildcard paths and 3,000 file paths in progress per
distribution; people share that budget with us, so we look before planning.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from watcher.awserrors import AWS_ERRORS, error_code
from watcher.core.clock import Clock
from watcher.core.planning import is_wildcard
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["InProgress"]

# When ListInvalidations is not allowed or fails, assume our own recent
# invalidations are still running for this long (P95 completion is ~25 s).
_ASSUME_RUNNING_SECONDS = 120.0


@dataclass(slots=True)
class _Known:
    wildcards: int
    created: float
    completed: bool = False
    files: int = 0  # file paths: they count against CloudFront's 3,000 in progress
    reference: str = ""  # its CallerReference, when known
    paths: tuple[str, ...] = ()  # as CloudFront lists them, when described


class InProgress:
    """Tracks invalidations in progress per distribution. Thread-safe."""

    def __init__(
        self,
        client: CloudFrontClient,
        *,
        clock: Clock,
        metrics: Metrics,
        client_for: Callable[[str], CloudFrontClient] | None = None,
    ) -> None:
        # client_for(distribution_id): the distribution's own client (a role per site), else `client`.
        self.client_for: Callable[[str], CloudFrontClient] = client_for or (lambda _distribution_id: client)
        self._clock = clock
        self._metrics = metrics
        self._known: dict[str, dict[str, _Known]] = {}
        # Ids CloudFront listed InProgress at the last refresh (people's too), for the gauge.
        self._listed: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        # One writer of the listing at a time: a refresh (ListInvalidations, then the
        # cache update) from a flush thread and one from the periodic in-progress job never interleave.
        self._refresh_lock = threading.Lock()
        self._log = structlog.get_logger("watcher.inprogress")

    def record(
        self,
        distribution_id: str,
        invalidation_id: str,
        paths: list[str],
        *,
        created: float,
        reference: str = "",
    ) -> None:
        """Remember an invalidation we created (its paths are known without a GetInvalidation)."""
        wildcards = sum(1 for path in paths if is_wildcard(path))
        with self._lock:
            self._known.setdefault(distribution_id, {})[invalidation_id] = _Known(
                wildcards=wildcards, created=created, files=len(paths) - wildcards, reference=reference
            )
        self._publish(distribution_id)

    def mark_completed(self, distribution_id: str, invalidation_id: str) -> None:
        """Note that an invalidation finished."""
        with self._lock:
            known = self._known.get(distribution_id, {}).get(invalidation_id)
            if known is not None:
                known.completed = True
            self._listed.get(distribution_id, set()).discard(invalidation_id)
        self._publish(distribution_id)

    def refresh_running(self) -> None:
        """Refresh every distribution believed to have something in progress (keeps the gauge fresh)."""
        with self._lock:
            believed = [d for d in set(self._known) | set(self._listed) if self._running_ids(d)]
        for distribution_id in believed:
            self.refresh(distribution_id)

    def _running_ids(self, distribution_id: str) -> set[str]:
        # Callers hold _lock.
        ours = self._known.get(distribution_id, {})
        running = {i for i, known in ours.items() if not known.completed}
        listed = self._listed.get(distribution_id, set())
        return running | {i for i in listed if i not in ours or not ours[i].completed}

    def _publish(self, distribution_id: str) -> None:
        with self._lock:
            count = len(self._running_ids(distribution_id))
        self._metrics.invalidations_in_progress.labels(distribution=distribution_id).set(count)

    def in_flight(self, distribution_id: str) -> list[tuple[str, float | None]]:
        """Invalidations believed in progress: (id, creation unix time when known), newest first."""
        with self._lock:
            ours = self._known.get(distribution_id, {})
            running = [
                (i, ours[i].created if i in ours else None) for i in self._running_ids(distribution_id)
            ]
        return sorted(running, key=lambda item: (item[1] or 0.0, item[0]), reverse=True)

    def running_with_reference(self, distribution_id: str, prefix: str) -> list[str]:
        """Ids of the invalidations in progress (at the last refresh) whose CallerReference starts
        with `prefix`: this daemon's own, made by a previous run too."""
        with self._lock:
            known = self._known.get(distribution_id, {})
            return sorted(
                i
                for i in self._running_ids(distribution_id)
                if i in known and known[i].reference.startswith(prefix)
            )

    def own_requests(self, distribution_id: str, prefix: str) -> list[tuple[str, ...]]:
        """The paths of each invalidation in progress (at the last refresh) whose CallerReference
        starts with `prefix`, in the order CloudFront lists them: what a batch's first attempt
        sent, a previous run's too."""
        with self._lock:
            known = self._known.get(distribution_id, {})
            return [
                known[i].paths
                for i in sorted(self._running_ids(distribution_id))
                if i in known and known[i].paths and known[i].reference.startswith(prefix)
            ]

    def wildcards(self, distribution_id: str) -> int:
        """Wildcard paths in progress on the distribution (refreshed from CloudFront)."""
        return self.usage(distribution_id)[0]

    def usage(self, distribution_id: str, *, excluding: str = "") -> tuple[int, int]:
        """(wildcard paths, file paths) in progress on the distribution (refreshed from CloudFront).

        `excluding`: a CallerReference prefix whose invalidations do not count (a batch's own
        first attempt, which its retry would otherwise plan around, changing its reference).
        """
        running = [
            known
            for known in self.refresh(distribution_id)
            if not (excluding and known.reference.startswith(excluding))
        ]
        return sum(known.wildcards for known in running), sum(known.files for known in running)

    def refresh(self, distribution_id: str) -> list[_Known]:
        """Ask CloudFront what is in progress; fall back to our own record on errors."""
        with self._refresh_lock:
            return self._refresh(distribution_id)

    def _refresh(self, distribution_id: str) -> list[_Known]:
        try:
            in_progress = self._list_in_progress(distribution_id)
        except AWS_ERRORS as exc:
            code = error_code(exc)
            self._log.warning(
                "ListInvalidations failed; assuming our recent invalidations still run",
                distribution=distribution_id,
                code=code,
            )
            now = self._clock.time()
            with self._lock:
                running = [
                    known
                    for known in self._known.get(distribution_id, {}).values()
                    if not known.completed and now - known.created < _ASSUME_RUNNING_SECONDS
                ]
            self._metrics.invalidations_in_progress.labels(distribution=distribution_id).set(len(running))
            return running
        running = []
        for invalidation_id in in_progress:
            known = self._describe(distribution_id, invalidation_id)
            if known is not None:
                running.append(known)
        now = self._clock.time()
        with self._lock:
            self._listed[distribution_id] = set(in_progress)
            known_here = self._known.get(distribution_id, {})
            for invalidation_id in list(known_here):
                # CloudFront no longer lists it as running: forget it (bounded memory),
                # unless we created it a moment ago and the listing may lag behind.
                if invalidation_id not in in_progress and now - known_here[invalidation_id].created > 30:
                    del known_here[invalidation_id]
        self._publish(distribution_id)
        return running

    def _list_in_progress(self, distribution_id: str) -> set[str]:
        response = self.client_for(distribution_id).list_invalidations(
            DistributionId=distribution_id, MaxItems="100"
        )
        items = response.get("InvalidationList", {}).get("Items", [])
        return {item["Id"] for item in items if str(item.get("Status", "")).lower() == "inprogress"}

    def _describe(self, distribution_id: str, invalidation_id: str) -> _Known | None:
        with self._lock:
            known = self._known.get(distribution_id, {}).get(invalidation_id)
        if known is not None:
            return known
        try:
            response = self.client_for(distribution_id).get_invalidation(
                DistributionId=distribution_id, Id=invalidation_id
            )
        except AWS_ERRORS:
            # Unknown paths: count it as one wildcard, the conservative guess.
            return _Known(wildcards=1, created=self._clock.time())
        batch = response["Invalidation"]["InvalidationBatch"]
        paths = batch["Paths"].get("Items", [])
        created_at = response["Invalidation"].get("CreateTime")
        created = created_at.timestamp() if created_at is not None else self._clock.time()
        wildcards = sum(1 for path in paths if is_wildcard(path))
        known = _Known(
            wildcards=wildcards,
            created=created,
            files=len(paths) - wildcards,
            reference=str(batch.get("CallerReference", "")),
            paths=tuple(paths),
        )
        with self._lock:
            self._known.setdefault(distribution_id, {})[invalidation_id] = known
        return known
