"""Per-distribution coalescing of a deploy burst, with an injected clock.

A distribution's batch is due when it got no new change for the quiet period,
when its oldest change has waited `max_delay`, or when it holds more than the
backpressure caps allow (then the planner collapses it into wildcards sooner).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from watcher.core.clock import Clock
from watcher.core.model import Change

__all__ = ["Batch", "Batcher"]


@dataclass(frozen=True, slots=True)
class Batch:
    """What one flush to one distribution must cover: each change with its paths."""

    distribution_id: str
    entries: tuple[tuple[Change, tuple[str, ...]], ...]
    first_seen: float

    @property
    def paths(self) -> frozenset[str]:
        """Every (encoded) path of the batch."""
        return frozenset(path for _, paths in self.entries for path in paths)

    @property
    def changes(self) -> tuple[Change, ...]:
        """The changes, in arrival order."""
        return tuple(change for change, _ in self.entries)


@dataclass(slots=True)
class _Pending:
    first_seen: float
    last_seen: float
    entries: list[tuple[Change, tuple[str, ...]]] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)


class Batcher:
    """Holds pending changes per distribution until they are due. Thread-safe."""

    def __init__(
        self,
        *,
        quiet_period: float,
        max_delay: float,
        clock: Clock,
        max_pending_paths: int = 3000,
        max_pending_changes: int = 20_000,
    ) -> None:
        self._quiet = quiet_period
        self._max_delay = max_delay
        self._clock = clock
        self._max_paths = max_pending_paths
        self._max_changes = max_pending_changes
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    def add(self, distribution_id: str, change: Change, paths: tuple[str, ...]) -> None:
        """Add one change and the paths it needs invalidated on this distribution."""
        now = self._clock.monotonic()
        with self._lock:
            pending = self._pending.get(distribution_id)
            if pending is None:
                pending = self._pending[distribution_id] = _Pending(first_seen=now, last_seen=now)
            pending.last_seen = now
            pending.entries.append((change, paths))
            pending.paths.update(paths)

    def due(self, *, force: bool = False) -> list[str]:
        """Distributions whose batch should be flushed now (all of them when forced)."""
        now = self._clock.monotonic()
        with self._lock:
            return [
                distribution_id
                for distribution_id, pending in self._pending.items()
                if force or self._is_due(pending, now)
            ]

    def _is_due(self, pending: _Pending, now: float) -> bool:
        return (
            now - pending.last_seen >= self._quiet
            or now - pending.first_seen >= self._max_delay
            or len(pending.paths) >= self._max_paths
            or len(pending.entries) >= self._max_changes
        )

    def take(self, distribution_id: str) -> Batch | None:
        """Remove and return a distribution's batch (None if it has none)."""
        with self._lock:
            pending = self._pending.pop(distribution_id, None)
        if pending is None:
            return None
        return Batch(
            distribution_id=distribution_id,
            entries=tuple(pending.entries),
            first_seen=pending.first_seen,
        )

    def pending_paths(self) -> dict[str, int]:
        """Distinct pending paths per distribution (for the pending_paths gauge)."""
        with self._lock:
            return {key: len(pending.paths) for key, pending in self._pending.items()}

    def pending_since(self) -> dict[str, float]:
        """When (monotonic) each distribution's oldest pending change arrived (for /status)."""
        with self._lock:
            return {key: pending.first_seen for key, pending in self._pending.items()}

    def __len__(self) -> int:
        with self._lock:
            return sum(len(pending.entries) for pending in self._pending.values())
