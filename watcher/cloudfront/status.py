"""`GET /status`: per distribution, what is pending, in flight, and last done. Bounded in size.

Built from what the daemon already knows (no AWS call per request): the
pipeline's pending paths (batched or retrying), the in-progress record (refreshed by a periodic job),
and the last invalidation each flush created.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from watcher.cloudfront.inprogress import InProgress
from watcher.cloudfront.invalidator import FlushResult
from watcher.core.batching import Batch
from watcher.core.clock import Clock

__all__ = ["Pending", "StatusBoard"]

MAX_IN_FLIGHT_SHOWN = 20


class Pending(Protocol):
    """What is not covered yet: batched, or in a flush that retries (the pipeline)."""

    def pending_paths(self) -> dict[str, int]: ...

    def pending_since(self) -> dict[str, float]: ...


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


class StatusBoard:
    """Answers /status from the pipeline's state; `flushed` is told of every flush that created."""

    def __init__(
        self, *, distributions: Sequence[str], batcher: Pending, in_progress: InProgress, clock: Clock
    ) -> None:
        self._distributions = tuple(dict.fromkeys(distributions))
        self._pending = batcher
        self._in_progress = in_progress
        self._clock = clock
        self._last: dict[str, dict[str, Any]] = {}
        self._unchanged: dict[str, int] = {}
        self._lock = threading.Lock()

    def unchanged(self, distribution_id: str, count: int) -> None:
        """Count writes acknowledged unchanged (same content as the version before them)."""
        with self._lock:
            self._unchanged[distribution_id] = self._unchanged.get(distribution_id, 0) + count

    def flushed(self, batch: Batch, result: FlushResult) -> None:
        """Remember the last invalidation a flush created on its distribution."""
        if not result.created:
            return
        last = result.created[-1]
        with self._lock:
            self._last[result.distribution_id] = {
                "id": last.invalidation_id,
                "time": _iso(self._clock.time()),
                "caller_reference": last.caller_reference,
                "paths": sum(len(created.paths) for created in result.created),
                "changes": len(batch.entries),
            }

    def route(self, _accept: str) -> tuple[int, bytes, str]:
        """The HTTP answer of GET /status (status, body, content type)."""
        return 200, json.dumps(self.snapshot(), separators=(",", ":")).encode(), "application/json"

    def snapshot(self) -> dict[str, Any]:
        """The JSON document of /status."""
        now = self._clock.monotonic()
        pending = self._pending.pending_paths()
        since = self._pending.pending_since()
        distributions: dict[str, Any] = {}
        for dist in self._distributions:
            flying = self._in_progress.in_flight(dist)
            with self._lock:
                last = dict(self._last[dist]) if dist in self._last else None
                unchanged = self._unchanged.get(dist, 0)
            oldest = since.get(dist)
            distributions[dist] = {
                "pending_paths": pending.get(dist, 0),
                "oldest_pending_seconds": round(now - oldest, 3) if oldest is not None else None,
                "in_flight_count": len(flying),
                "in_flight": [
                    {"id": i, "state": "InProgress", "created_time": _iso(created) if created else None}
                    for i, created in flying[:MAX_IN_FLIGHT_SHOWN]
                ],
                "last_invalidation": last,
                "unchanged_writes": unchanged,
            }
        return {"time": _iso(self._clock.time()), "distributions": distributions}
