"""The receiver thread: long polls one SQS queue until stopped (or, with --once, drained)."""

from __future__ import annotations

import threading

import structlog

from watcher.awserrors import classify
from watcher.core.clock import Clock
from watcher.core.mode import RunMode
from watcher.sources.sqs import SqsSource

__all__ = ["Receiver"]

_PAUSE = 0.1
_MAX_BACKOFF = 30.0


class Receiver(threading.Thread):
    """Receives until `stop`; with `once`, until a receive comes back empty or `max_seconds` pass.

    Errors are counted and logged by the source; here they only back off. With
    `once`, a permanent error (missing queue, no permission) ends the run with
    `failed` set rather than retrying until `max_seconds`.
    """

    def __init__(
        self,
        source: SqsSource,
        *,
        stop: threading.Event,
        clock: Clock,
        mode: RunMode | None = None,
    ) -> None:
        super().__init__(name="receiver", daemon=True)
        # Not `_stop`: threading.Thread has a private method of that name.
        self._source = source
        self._stopping = stop
        self._clock = clock
        mode = mode or RunMode()
        self._once = mode.once
        self._max_seconds = mode.max_seconds
        self.done = threading.Event()
        self.failed = False
        self._log = structlog.get_logger("watcher.sqs")

    def run(self) -> None:
        """The loop; `done` is set when it ends."""
        try:
            self._loop()
        finally:
            self.done.set()

    def _loop(self) -> None:
        started = self._clock.monotonic()
        backoff, failures = 1.0, 0
        while not self._stopping.is_set():
            if self._once and self._clock.monotonic() - started >= self._max_seconds:
                return
            if self._source.saturated:
                self._stopping.wait(_PAUSE)  # flushes must catch up before we hold more messages
                continue
            try:
                received = self._source.receive()
            except Exception as exc:  # noqa: BLE001 - counted and logged by the source; keep receiving
                error = classify(exc)
                if self._once and not error.retryable:
                    self._log.error("receive failed permanently", code=error.code, error=str(exc)[:300])
                    self.failed = True
                    return
                failures += 1
                self._log.warning("retrying receive", reason=error.code, attempt=failures, delay=backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            backoff, failures = 1.0, 0
            if self._once and received == 0:
                return
