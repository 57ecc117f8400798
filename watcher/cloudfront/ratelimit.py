"""One CreateInvalidation rate limiter for the whole account (CloudFront limits per account)."""

from __future__ import annotations

import threading

from watcher.core.clock import Clock

__all__ = ["BURST_SECONDS", "RateLimiter", "burst_for"]

# A burst of ten seconds' worth of calls: 5 at CloudFront's 0.5/s; a replica with a
# share of the rate gets a share of the burst, so N replicas stay within one account's.
BURST_SECONDS = 10.0


def burst_for(rate: float) -> int:
    """The burst that goes with a sustained `rate` (at least one call)."""
    return max(1, int(rate * BURST_SECONDS))


class RateLimiter:
    """A token bucket: `rate` calls a second sustained, bursts of `burst` (default: `burst_for(rate)`).

    Thread-safe.
    """

    def __init__(self, *, rate: float, burst: int | None = None, clock: Clock) -> None:
        burst = burst_for(rate) if burst is None else burst
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock.monotonic()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Take a token if one is there; else the seconds until one will be."""
        with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self._rate

    def acquire(self, *, abort: threading.Event | None = None, deadline: float | None = None) -> bool:
        """Wait for a slot. False when `abort` is set or the slot would come after `deadline`."""
        while True:
            wait = self._reserve()
            if wait == 0.0:
                return True
            if deadline is not None and self._clock.monotonic() + wait > deadline:
                return False
            if self._clock.sleep(wait, abort):
                return False
