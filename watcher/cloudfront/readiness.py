"""CloudFront's part of /readyz, per distribution: which one keeps failing, and whether a probe may clear it.

Readiness turns 503 once one distribution's CreateInvalidation has failed for
`unready_after` seconds, naming the distribution. Only a CreateInvalidation that
succeeds on that same distribution clears a refusal (AccessDenied, NoSuchDistribution,
a role that cannot be assumed): a read succeeding proves nothing about the right to
invalidate. An outage (throttling, 5xx, timeouts) may also be cleared by the probe's
cheap read of the same distribution, so that /readyz follows a recovery without
waiting for the next deploy.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from watcher.core.clock import Clock

__all__ = ["CloudFrontHealth"]


@dataclass(slots=True)
class _Failing:
    since: float
    last: float
    error: str
    outage: bool  # transient or throttled: a probe of the same distribution may clear it


class CloudFrontHealth:
    """CreateInvalidation's outcomes per distribution, for /readyz. Thread-safe."""

    name = "cloudfront"

    def __init__(self, *, clock: Clock, unready_after: float) -> None:
        self._clock = clock
        self._unready_after = unready_after
        self._failing: dict[str, _Failing] = {}
        self._lock = threading.Lock()

    def record(self, distribution_id: str, error: str | None, outage: bool = False) -> None:
        """One CreateInvalidation of `distribution_id`: error None when accepted, else why not.

        `outage`: the error was transient or throttling (a probe may clear it).
        """
        with self._lock:
            if error is None:
                self._failing.pop(distribution_id, None)
                return
            now = self._clock.monotonic()
            failing = self._failing.get(distribution_id)
            if failing is None:
                self._failing[distribution_id] = _Failing(now, now, error, outage)
            else:
                failing.last, failing.error, failing.outage = now, error, outage

    def probe_targets(self) -> list[str]:
        """Distributions failing with an outage: the ones a successful read may clear."""
        with self._lock:
            return [d for d, failing in self._failing.items() if failing.outage]

    def probed(self, distribution_id: str, error: str | None) -> None:
        """A probe's read of the distribution: success clears an outage (never a refusal)."""
        with self._lock:
            failing = self._failing.get(distribution_id)
            if failing is None or not failing.outage:
                return
            if error is None:
                del self._failing[distribution_id]
            else:
                failing.last, failing.error = self._clock.monotonic(), error

    @property
    def failing(self) -> bool:
        """Some distribution's last CreateInvalidation failed."""
        with self._lock:
            return bool(self._failing)

    def unready_reason(self) -> str | None:
        """None when ready, else one line naming the distribution that fails and why."""
        with self._lock:
            now = self._clock.monotonic()
            for distribution_id, failing in list(self._failing.items()):
                if now - failing.last >= self._unready_after:
                    # No call has failed for that long (no deploy since, so no call at all):
                    # nothing says it still fails.
                    del self._failing[distribution_id]
            for distribution_id, failing in sorted(self._failing.items(), key=lambda item: item[1].since):
                seconds = now - failing.since
                if seconds >= self._unready_after:
                    why = f"failing for {seconds:.0f}s: {failing.error}"
                    return f"cloudfront: distribution {distribution_id}: {why}"
            return None
