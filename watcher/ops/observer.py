"""One background thread for the AWS reads that only feed metrics and logs.

GetInvalidation, ListInvalidations and GetQueueAttributes can each take
seconds during an AWS incident; run here, they never delay a flush, an
acknowledgement or the heartbeat that /healthz reports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from watcher.core.clock import Clock

__all__ = ["Observer"]

_TICK = 0.25


@dataclass(slots=True)
class _Task:
    name: str
    every: float
    action: Callable[[], None]
    next_at: float = 0.0


class Observer:
    """Runs periodic tasks in one daemon thread until `stop` is set; a failing task is logged, never fatal."""

    def __init__(self, *, clock: Clock, stop: threading.Event) -> None:
        self._clock = clock
        self._stop = stop
        self._tasks: list[_Task] = []
        self._thread: threading.Thread | None = None
        self._log = structlog.get_logger("watcher.observer")

    def every(self, seconds: float, action: Callable[[], None], name: str) -> None:
        """Run `action` every `seconds` (first run at start)."""
        self._tasks.append(_Task(name, seconds, action))

    def run_due(self) -> None:
        """Run every task that is due now (the thread's body; tests call it directly)."""
        for task in self._tasks:
            now = self._clock.monotonic()
            if now < task.next_at:
                continue
            task.next_at = now + task.every
            try:
                task.action()
            except Exception:  # noqa: BLE001 - observation must never take the daemon down
                self._log.exception("background task failed", task=task.name)

    def start(self) -> None:
        """Start the thread (no-op without tasks)."""
        if not self._tasks:
            return
        self._thread = threading.Thread(target=self._loop, name="observer", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the thread after `stop` was set."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            self._clock.sleep(_TICK, self._stop)
