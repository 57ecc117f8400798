"""The receiver thread: long polls one SQS queue until stopped (or, with --once, drained).

While receives come back full (a backlog), it starts more receivers, up to
`max_receivers` in all, each ending at its first receive that is not full:
a backlog drains with several receives in flight, a quiet queue costs one
long poll at a time. Extra receivers also end (and none start) while the
deletes of covered messages lag: the queue is the bottleneck then, and more
receives in flight would only make every call to it slower.
"""

from __future__ import annotations

import random
import threading

import structlog

from watcher.awserrors import Backoff, classify
from watcher.core.clock import Clock
from watcher.core.mode import RunMode
from watcher.sources.sqs import SqsSource

__all__ = ["Receiver"]

_PAUSE = 0.1
_MAX_BACKOFF = 30.0
# The extra receivers' long poll: short, so that they end soon once the backlog is gone.
_EXTRA_WAIT_SECONDS = 1


class Receiver(threading.Thread):
    """Receives until `stop`; with `once`, until a receive comes back empty (and no extra receiver
    got messages meanwhile) or `max_seconds` pass.

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
        max_receivers: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(name="receiver", daemon=True)
        # Not `_stop`: threading.Thread has a private method of that name.
        self._source = source
        self._stopping = stop
        self._clock = clock
        mode = mode or RunMode()
        self._once = mode.once
        self._max_seconds = mode.max_seconds
        self._max_receivers = max_receivers
        self._extra: list[threading.Thread] = []
        # Full jitter: replicas that failed together (an outage) do not all come back at once.
        self._backoff = Backoff(rng or random.Random(), base=1.0, ceiling=_MAX_BACKOFF)
        self.done = threading.Event()
        self.failed = False
        self._log = structlog.get_logger("watcher.sqs")

    def run(self) -> None:
        """The loop; `done` is set when it ends."""
        try:
            self._loop()
        finally:
            for extra in self._extra:
                extra.join()  # each ends within one short long poll (bounded by its read timeout)
            self.done.set()

    def _loop(self) -> None:
        started = self._clock.monotonic()
        failures = 0
        while not self._stopping.is_set():
            if self._once and self._clock.monotonic() - started >= self._max_seconds:
                return
            if self._source.saturated:
                # Flushes must catch up before we hold more messages.
                self._clock.sleep(_PAUSE, self._stopping)
                continue
            others = self._source.nonempty_receives
            try:
                received = self._source.receive()
            except Exception as exc:  # noqa: BLE001 - counted and logged by the source; keep receiving
                error = classify(exc)
                if self._once and not error.retryable:
                    self._log.error("receive failed permanently", code=error.code, error=str(exc)[:300])
                    self.failed = True
                    return
                delay = self._backoff.delay(failures, error.code)
                if self._once:  # --max-seconds bounds the backoff too
                    delay = min(delay, max(0.0, started + self._max_seconds - self._clock.monotonic()))
                failures += 1
                self._log.warning(
                    "retrying receive", reason=error.code, attempt=failures, delay=round(delay, 2)
                )
                self._clock.sleep(delay, self._stopping)
                continue
            failures = 0
            if self._once and received == 0 and self._source.nonempty_receives == others:
                return  # drained: no receiver got a message during this long poll
            if received >= self._source.batch_size and not self._source.acks_behind:
                self._add_receiver()

    def _add_receiver(self) -> None:
        """One more receiver while the backlog lasts (up to `max_receivers` in all)."""
        self._extra = [extra for extra in self._extra if extra.is_alive()]
        if len(self._extra) + 1 >= self._max_receivers:
            return
        extra = threading.Thread(
            target=self._extra_loop, name=f"receiver-{len(self._extra) + 1}", daemon=True
        )
        self._extra.append(extra)
        extra.start()

    def _extra_loop(self) -> None:
        """Receive until a receive is not full (or on any error: the main receiver goes on)."""
        while not self._stopping.is_set() and not self._source.saturated and not self._source.acks_behind:
            try:
                received = self._source.receive(wait_time_seconds=_EXTRA_WAIT_SECONDS)
            except Exception:  # noqa: BLE001 - counted and logged by the source
                return
            if received < self._source.batch_size:
                return
