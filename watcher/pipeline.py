"""Changes in, acknowledgements out: routing -> content -> batching -> invalidation -> acks.

The content check (versioned buckets) starts its S3 lookups when a change is
submitted and runs them off the main loop during the quiet period; each flush first
sifts its batch: unchanged writes are acknowledged without an invalidation.

The lifecycle owner (app.py) feeds changes with `submit` from the source
threads and calls `dispatch` from its main loop; flushes run on a small pool
of daemon threads, one at a time per distribution, so a retrying distribution
never holds up the others and its batches stay in order. At shutdown it calls
`drain(deadline)`; the pipeline owns its state (the batcher, the flushes in
flight, the deadline) behind these methods.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from functools import partial

import structlog

from watcher.cloudfront.completion import CompletionTracker
from watcher.cloudfront.invalidator import FlushResult, Invalidator
from watcher.core.batching import Batch, Batcher
from watcher.core.clock import Clock
from watcher.core.model import Change, FanOutAck
from watcher.core.routing import Router
from watcher.core.workers import WorkerPool
from watcher.ops.metrics import Metrics
from watcher.sources.content import ContentCheck

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
        content: ContentCheck | None = None,
        on_unchanged: Callable[[str, int], None] | None = None,
    ) -> None:
        """`content` compares writes with their previous version (None: every write is a change);
        `on_unchanged(distribution_id, count)` hears of the writes a flush acknowledged unchanged."""
        self._router = router
        self._batcher = batcher
        self._invalidator = invalidator
        self._completion = completion
        self._metrics = metrics
        # Observers of each flush (events, /status), told after the acks; they must not block.
        self._on_flushed = on_flushed
        self._content = content
        self._on_unchanged = on_unchanged
        self._clock = clock
        self._stop = stop
        self._abort = threading.Event()
        self._lock = threading.Lock()  # guards _deadline, _draining and _in_flight
        self._deadline: float | None = None
        self._draining = False
        self._pool = WorkerPool(workers, "flush")
        self._in_flight: dict[str, Future[None]] = {}
        # Paths of the batch each flush is sending (or retrying): still pending for the site.
        self._flushing: dict[str, Batch] = {}  # guarded by _lock
        self._log = structlog.get_logger("watcher.pipeline")

    def submit(self, change: Change) -> None:
        """Route one change to every site that serves it and queue its paths."""
        result = self._router.route(change.bucket, change.key, site_wide=change.site_wide)
        if self._content is not None and not result.ignored:
            change = self._content.start(change)  # counted accepted or unchanged once compared
        if change.content is None:
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
            self._batcher.add(route.distribution_id, change, route.paths)

    def dispatch(self, *, force: bool = False) -> None:
        """Start a flush for every distribution whose batch is due (all of them when forced or draining)."""
        with self._lock:
            force = force or self._draining
            for distribution_id in self._batcher.due(force=force):
                running = self._in_flight.get(distribution_id)
                if running is not None and not running.done():
                    continue  # one flush per distribution at a time, in order
                batch = self._batcher.take(distribution_id)
                if batch is not None:
                    self._flushing[distribution_id] = batch
                    flush = self._pool.submit(partial(self._flush, batch))
                    self._in_flight[distribution_id] = flush

    def drain(self, deadline: float) -> None:
        """Shutdown: flush everything pending now and as it arrives; flushes give up at `deadline`."""
        with self._lock:
            self._deadline = deadline
            self._draining = True
        self.dispatch()

    def pending_paths(self) -> dict[str, int]:
        """Paths not yet covered per distribution: waiting in the batcher, or in a flush that retries.

        The one source of pending work: the pending_paths gauge and /status both read it.
        """
        pending = self._batcher.pending_paths()
        with self._lock:
            flushing = list(self._flushing.values())
        for batch in flushing:
            pending[batch.distribution_id] = pending.get(batch.distribution_id, 0) + len(batch.paths)
        return pending

    def pending_since(self) -> dict[str, float]:
        """When (monotonic) each distribution's oldest change not yet covered arrived."""
        since = self._batcher.pending_since()
        with self._lock:
            flushing = list(self._flushing.values())
        for batch in flushing:
            dist = batch.distribution_id
            since[dist] = min(since.get(dist, batch.first_seen), batch.first_seen)
        return since

    def publish_pending(self, distributions: list[str]) -> None:
        """The pending_paths gauge, per distribution (0 for those with nothing pending)."""
        pending = self.pending_paths()
        for distribution_id in distributions:
            self._metrics.pending_paths.labels(distribution=distribution_id).set(
                pending.get(distribution_id, 0)
            )

    def pending_changes(self) -> int:
        """Changes waiting for their batch to be due."""
        return len(self._batcher)

    @property
    def busy(self) -> bool:
        """Changes are pending or a flush is running."""
        with self._lock:
            running = any(not future.done() for future in self._in_flight.values())
        return running or len(self._batcher) > 0

    def _current_deadline(self) -> float | None:
        with self._lock:
            return self._deadline

    def _sift(self, batch: Batch) -> Batch | None:
        """The batch without its unchanged writes (acknowledged here); None when nothing changed."""
        if self._content is None:
            return batch
        sifted = self._content.sift(batch, deadline=self._current_deadline())
        if not sifted.unchanged:
            return batch
        for change in sifted.unchanged:
            change.ack.covered()  # the version before it is served: nothing to invalidate
        self._log.info(
            "unchanged writes acknowledged without an invalidation",
            distribution=batch.distribution_id,
            unchanged=len(sifted.unchanged),
            changed=len(sifted.batch.entries) if sifted.batch is not None else 0,
            keys=[change.key[:300] for change in sifted.unchanged[:20]],
        )
        if self._on_unchanged is not None:
            self._on_unchanged(batch.distribution_id, len(sifted.unchanged))
        return sifted.batch

    def _flush(self, batch: Batch) -> None:
        try:
            sifted = self._sift(batch)
            if sifted is None:
                return
            batch = sifted
            result = self._invalidator.flush(batch, abort=self._abort, deadline=self._current_deadline)
        except Exception:  # noqa: BLE001 - a bug must not lose the batch: release it for redelivery
            self._log.exception("flush crashed; releasing its changes", distribution=batch.distribution_id)
            for change in batch.changes:
                change.ack.failed(0.0)
            return
        finally:
            with self._lock:
                self._flushing.pop(batch.distribution_id, None)
        # In dry-run the result says "covered" (as it would be); the sources, told
        # the run mode, acknowledge nothing to SQS or the poll state.
        for change in result.covered:
            change.ack.covered()
        if self._completion is not None:
            for invalidation_id in result.invalidation_ids:
                self._completion.track(result.distribution_id, invalidation_id)
        retry_in = 0.0 if self._stop.is_set() else result.retry_in  # at shutdown: to another replica now
        for change in result.failed:
            change.ack.failed(retry_in)
        if self._on_flushed is not None and result.created:
            try:
                self._on_flushed(batch, result)
            except Exception:  # noqa: BLE001 - an observer's bug must not touch the acks, already done
                self._log.exception("flush observer failed", distribution=batch.distribution_id)

    def abort(self, grace: float) -> None:
        """Give up on running flushes (their changes fail), waiting at most `grace` seconds in all."""
        self._abort.set()
        if self._content is not None:
            self._content.close()
        until = time.monotonic() + grace
        with self._lock:
            running = list(self._in_flight.values())
        for future in running:
            try:
                future.result(timeout=max(0.0, until - time.monotonic()))
            except Exception:  # noqa: BLE001 - a flush that did not finish is released by its source
                self._log.warning("a flush did not finish before the deadline")
        self._pool.shutdown()
