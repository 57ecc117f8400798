"""Time, injected: tests of batching and retries never sleep for real."""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "Deadline", "SystemClock"]


class Clock(Protocol):
    """Monotonic time for deadlines, wall time for timestamps, and a sleep that a stop event interrupts."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Sleep, or return True early when `stop` is set."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back."""
        return time.monotonic()

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Sleep `seconds`; True if `stop` was set meanwhile."""
        if stop is None:
            time.sleep(max(0.0, seconds))
            return False
        return stop.wait(max(0.0, seconds))


class Deadline:
    """A moment `seconds` after now on a clock's monotonic time (a planner's budget)."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self.at = clock.monotonic() + seconds

    def expired(self) -> bool:
        """Whether the moment has come."""
        return self._clock.monotonic() >= self.at
