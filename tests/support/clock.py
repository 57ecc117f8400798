"""A fake clock: time moves only when a test (or a sleeping component) moves it."""

from __future__ import annotations

import threading

__all__ = ["FakeClock", "TickingClock"]


class FakeClock:
    """Implements watcher.clock.Clock. `sleep` advances time at once and records the nap."""

    def __init__(self, start: float = 1_000.0, wall: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall - start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """The fake monotonic time."""
        with self._lock:
            return self._now

    def time(self) -> float:
        """Wall time, moving with the monotonic time."""
        with self._lock:
            return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass."""
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """No real waiting: time jumps ahead; True when `stop` is already set."""
        if stop is not None and stop.is_set():
            return True
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        return False


class TickingClock(FakeClock):
    """A FakeClock on which every reading of the monotonic time takes `tick` seconds.

    For work bounded by a deadline: the work's own clock reads are what move time, so
    how far it gets is the same on any machine.
    """

    def __init__(self, tick: float, start: float = 1_000.0) -> None:
        super().__init__(start)
        self.tick = tick
        self.reads = 0

    def monotonic(self) -> float:
        """The time, then one tick later."""
        self.reads += 1
        now = super().monotonic()
        self.advance(self.tick)
        return now
