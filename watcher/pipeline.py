"""Changes in, acknowledgements out: routing -> batching -> invalidation -> acks.

The lifecycle owner (app.py) feeds changes with `submit` from the source
threads and calls `dispatch` from its main loop; flushes run on a small pool,
one at a time per distribution, so a retrying distribution never holds up the
others and its batches stay in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import structlog

from watcher.cloudfront.completion import CompletionTracker
from watcher.cloudfront.invalidator import FlushResult, Invalidator
from watcher.core.batching import Batch, Batcher
from watcher.core.clock import Clock
from watcher.core.model import Change, FanOutAck
from watcher.core.routing import Router
from watcher.ops.metrics import Metrics

__all__ = ["Pipeline"]


class Pipeline:
    """Routes changes into per-distribution batches and flushes them when due."""

    def __init__(
        self,
        *,
        router: Router,
        batcher: Batcher,
        invalidator: Invalidator,
        metrics: Metrics,
        clock: Clock,
        stop: threading.Event,
        completion: CompletionTracker | None = None,
        workers: int = 4,
        on_flushed: Callable[[Batch, FlushResult], None] | None = None,
    ) -> None:
        self.router = router
        self.batcher = batcher
        self.invalidator = invalidator
        self.completion = completion
        self._metrics = metrics
        # Observers of each flush (events, /status), told after the acks; they must not block.
        self._on_flushed = on_flushed
        self._clock = clock
        self._stop = stop
        self._abort = threading.Event()
        self.deadline: float | None = None
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flush")
        self._in_flight: dict[str, Future[None]] = {}
        self._log = structlog.get_logger("watcher.pipeline")

    def submit(self, change: Change) -> None:
        """Route one change to every site that serves it and queue its paths."""
        result = self.router.route(change.bucket, change.key, site_wide=change.site_wide)
        outcome = "ignored" if result.ignored else "accepted"
        self._metrics.events.labels(source=change.source, outcome=outcome).inc()
        if result.ignored:
            self._log.info(
                "change ignored",
                source=change.source,
                change=change.identity,
                bucket=change.bucket,
                key=change.key[:300],
                reasons=list(result.reasons),
            )
            change.ack.covered()  # nothing to invalidate: done
            return
        self._metrics.last_event.set(self._clock.time())
        if len(result.routes) > 1:
            change = replace(change, ack=FanOutAck(change.ack, len(result.routes)))
        for route in result.routes:
            self.batcher.add(route.distribution_id, change, route.paths)

    def dispatch(self, *, force: bool = False) -> None:
        """Start a flush for every distribution whose batch is due (all of them when forced)."""
        for distribution_id in self.batcher.due(force=force):
            running = self._in_flight.get(distribution_id)
            if running is not None and not running.done():
                continue  # one flush per distribution at a time, in order
            batch = self.batcher.take(distribution_id)
            if batch is not None:
                self._in_flight[distribution_id] = self._executor.submit(self._flush, batch)

    @property
    def busy(self) -> bool:
        """Changes are pending or a flush is running."""
        return len(self.batcher) > 0 or any(not future.done() for future in self._in_flight.values())

    def _flush(self, batch: Batch) -> None:
        try:
            result = self.invalidator.flush(batch, abort=self._abort, deadline=self.deadline)
        except Exception:  # noqa: BLE001 - a bug must not lose the batch: release it for redelivery
            self._log.exception("flush crashed; releasing its changes", distribution=batch.distribution_id)
            for change in batch.changes:
                change.ack.failed(0.0)
            return
        if result.outcome == "dry_run":
            for change in batch.changes:
                change.ack.covered()  # the sources acknowledge nothing in dry-run mode
            return
        for change in result.covered:
            change.ack.covered()
        if self.completion is not None:
            for invalidation_id in result.invalidation_ids:
                self.completion.track(result.distribution_id, invalidation_id)
        retry_in = 0.0 if self._stop.is_set() else result.retry_in  # at shutdown: to another replica now
        for change in result.failed:
            change.ack.failed(retry_in)
        if self._on_flushed is not None and result.created:
            try:
                self._on_flushed(batch, result)
            except Exception:  # noqa: BLE001 - an observer's bug must not touch the acks, already done
                self._log.exception("flush observer failed", distribution=batch.distribution_id)

    def abort(self, grace: float) -> None:
        """Give up on running flushes (their changes fail), waiting `grace` seconds for each."""
        self._abort.set()
        for future in self._in_flight.values():
            try:
                future.result(timeout=grace)
            except Exception:  # noqa: BLE001 - a flush that did not finish is released by its source
                self._log.warning("a flush did not finish before the deadline")
        self._executor.shutdown(wait=False, cancel_futures=True)
