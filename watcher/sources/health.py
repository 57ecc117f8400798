"""Per-source readiness: ready after one successful AWS call, unready after failing too long."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from watcher.core.clock import Clock

__all__ = ["SourceHealth"]


class SourceHealth:
    """Tracks the AWS calls of one source for /readyz. Thread-safe."""

    def __init__(
        self,
        name: str,
        *,
        clock: Clock,
        unready_after: float,
        needs_first_success: bool = True,
        parts: Sequence[SourceHealth] = (),
    ) -> None:
        """`needs_first_success=False`: ready until failing too long (a dependency used only now and then).

        `parts`: other calls of the same source, tracked apart (a successful receive says
        nothing about deletes): the source is unready when one of them is.
        """
        self.name = name
        self._parts = tuple(parts)
        self._needs_first_success = needs_first_success
        self._clock = clock
        self._unready_after = unready_after
        self._succeeded = False
        self._failing_since: float | None = None
        self._last_failure = 0.0
        self._last_error = ""
        self._lock = threading.Lock()

    def success(self) -> None:
        """An AWS call of this source succeeded."""
        with self._lock:
            self._succeeded = True
            self._failing_since = None
            self._last_error = ""

    def failure(self, reason: str) -> None:
        """An AWS call of this source failed."""
        with self._lock:
            now = self._clock.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            self._last_failure = now
            self._last_error = reason

    @property
    def failing(self) -> bool:
        """The last call failed."""
        with self._lock:
            return self._failing_since is not None

    @property
    def last_error(self) -> str:
        """The last failure's reason ("" after a success)."""
        with self._lock:
            return self._last_error

    def record(self, error: str | None) -> None:
        """One call's outcome: None when it succeeded, else why it failed."""
        if error is None:
            self.success()
        else:
            self.failure(error)

    def unready_reason(self) -> str | None:
        """None when ready, else a one-line reason."""
        reason = self._own_unready_reason()
        if reason is not None:
            return reason
        return next((reason for part in self._parts if (reason := part.unready_reason()) is not None), None)

    def _own_unready_reason(self) -> str | None:
        with self._lock:
            if not self._succeeded and self._needs_first_success:
                detail = f" (last error: {self._last_error})" if self._last_error else ""
                return f"{self.name}: no successful AWS call yet{detail}"
            now = self._clock.monotonic()
            if self._failing_since is not None and now - self._last_failure >= self._unready_after:
                # No call has failed for that long (a dependency called now and then, e.g.
                # CloudFront between deploys): nothing says it still fails.
                self._failing_since = None
            if self._failing_since is not None:
                failing = now - self._failing_since
                if failing >= self._unready_after:
                    return f"{self.name}: failing for {failing:.0f}s: {self._last_error}"
            return None
