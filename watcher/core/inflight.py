"""How many calls of one kind may be in flight: AIMD, as TCP paces itself.

A failed call (a timeout, throttling, a 5xx) halves the limit; each call that
succeeds adds 1/limit, so a full round of successes adds one, up to the
ceiling. Against a healthy endpoint the limit stays at the ceiling (several
calls in flight); against a slow one (a brownout, or a backlog that makes
every call slow) it falls to one call at a time instead of piling calls up
until each one times out and is sent again.
"""

from __future__ import annotations

import threading

__all__ = ["InFlightLimit"]


class InFlightLimit:
    """Slots for calls in flight, between 1 and `ceiling`. Thread-safe."""

    def __init__(self, ceiling: int) -> None:
        if ceiling < 1:
            raise ValueError("ceiling must be at least 1")
        self.ceiling = ceiling
        self._limit = float(ceiling)
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        """Calls allowed in flight now."""
        with self._lock:
            return int(self._limit)

    @property
    def in_flight(self) -> int:
        """Calls taken and not yet done."""
        with self._lock:
            return self._in_flight

    def room(self) -> int:
        """How many more calls may start now (without taking them)."""
        with self._lock:
            return max(0, int(self._limit) - self._in_flight)

    def take(self, wanted: int) -> int:
        """Take up to `wanted` slots; returns how many were taken (each needs its `done`)."""
        with self._lock:
            taken = max(0, min(wanted, int(self._limit) - self._in_flight))
            self._in_flight += taken
            return taken

    def done(self, *, ok: bool) -> None:
        """One call ended: grow the limit after a success, halve it after a failure."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if ok:
                self._limit = min(float(self.ceiling), self._limit + 1.0 / self._limit)
            else:
                self._limit = max(1.0, self._limit / 2)
