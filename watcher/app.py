"""The one lifecycle owner: wires the parts, runs the loops, drains on stop.

Threads: a receiver (SQS long polls), the poll scheduler, the main loop (flush scheduling, acks,
visibility, heartbeat), a small pool that sends invalidations, the HTTP
server. Signal handlers only set `stop`.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

import structlog

from watcher.aws import ClientFactory, error_code, is_transient
from watcher.batching import Batch, Batcher
from watcher.clock import Clock, SystemClock
from watcher.completion import CompletionTracker
from watcher.config import Settings
from watcher.http import HealthServer
from watcher.inprogress import InProgress
from watcher.invalidator import Invalidator
from watcher.metrics import Metrics
from watcher.model import Change, FanOutAck
from watcher.observer import Observer
from watcher.ratelimit import RateLimiter
from watcher.routing import Router
from watcher.sources import Source
from watcher.sources.poll import PollSource
from watcher.sources.queue_depth import QueueDepth
from watcher.sources.sqs import SqsSource

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_sqs import SQSClient
    from prometheus_client import CollectorRegistry

__all__ = ["StartupError", "Watcher"]

_TICK = 0.1
_LIVENESS_SECONDS = 120.0
_SHUTDOWN_MARGIN = 1.5
# Observation only (metrics): cheap reads, often enough for a dashboard.
_IN_PROGRESS_REFRESH_SECONDS = 30.0
_QUEUE_DEPTH_SECONDS = 60.0


class StartupError(Exception):
    """The daemon cannot start (e.g. its port is taken): one clear line."""


class Watcher:
    """The daemon: sources -> routing -> batching -> invalidation -> acks."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        registry: CollectorRegistry | None = None,
        clients: ClientFactory | None = None,
        once: bool = False,
        max_seconds: float = 300.0,
        requests_per_second: float = 0.5,
        request_burst: int = 5,
        serve_http: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.metrics = Metrics(registry)
        self.stop = threading.Event()
        self._abort = threading.Event()
        self._once = once
        self._max_seconds = max_seconds
        self._receiving_done = threading.Event()
        self._receive_failed = False
        self._deadline: float | None = None
        self._heartbeat = self.clock.monotonic()
        self._started = self.clock.monotonic()
        self._log = structlog.get_logger("watcher.app")
        factory = clients or ClientFactory(
            region=settings.aws.region,
            connect_timeout=settings.aws.connect_timeout_seconds,
            read_timeout=settings.aws.read_timeout_seconds,
        )
        inv = settings.invalidation
        self.router = Router(settings.sites)
        self.batcher = Batcher(
            quiet_period=inv.quiet_period_seconds, max_delay=inv.max_delay_seconds, clock=self.clock
        )
        cloudfront = factory.cloudfront()
        self.in_progress = InProgress(cloudfront, clock=self.clock, metrics=self.metrics)
        self.invalidator = Invalidator(
            cloudfront,
            clock=self.clock,
            metrics=self.metrics,
            limiter=RateLimiter(rate=requests_per_second, burst=request_burst, clock=self.clock),
            in_progress=self.in_progress,
            max_paths_per_request=inv.max_paths_per_request,
            max_wildcards_in_progress=inv.max_wildcards_in_progress,
            dry_run=settings.dry_run,
            rng=rng,
        )
        self.sources: list[Source] = []
        self.sqs: SqsSource | None = None
        sqs_client = None
        if "sqs" in settings.watcher.sources:
            sqs_client = factory.sqs(wait_time_seconds=settings.sqs.wait_time_seconds)
            self.sqs = SqsSource(
                sqs_client,
                settings.sqs,
                clock=self.clock,
                metrics=self.metrics,
                on_change=self.submit,
                dry_run=settings.dry_run,
                unready_after=settings.http.unready_after_failing_seconds,
            )
            self.sources.append(self.sqs)
        self.poll: PollSource | None = None
        if "poll" in settings.watcher.sources:
            self.poll = PollSource(
                factory.s3(),
                settings.poll,
                settings.sites,
                clock=self.clock,
                metrics=self.metrics,
                on_change=self.submit,
                stop=self.stop,
                dry_run=settings.dry_run,
                unready_after=settings.http.unready_after_failing_seconds,
            )
            self.sources.append(self.poll)
        self.metrics.start_series(
            distributions=[site.distribution_id for site in settings.sites], sources=settings.watcher.sources
        )
        self.completion: CompletionTracker | None = None
        self.observer = self._observer(cloudfront, sqs_client)
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="flush")
        self._in_flight: dict[str, Future[None]] = {}
        self.http: HealthServer | None = None
        if serve_http:
            try:
                self.http = HealthServer(
                    host=settings.http.host,
                    port=settings.http.port,
                    registry=self.metrics.registry,
                    live=self.live,
                    unready_reason=self.unready_reason,
                )
            except OSError as exc:
                if not once:
                    raise StartupError(f"http.listen {settings.http.listen}: cannot listen: {exc}") from exc
                # A one-shot run is often next to a running daemon on the same port.
                self._log.warning(
                    "no /metrics for this --once run", listen=settings.http.listen, error=str(exc)
                )

    def _observer(self, cloudfront: CloudFrontClient, sqs_client: SQSClient | None) -> Observer:
        """Background reads that only feed metrics: completion, in-progress counts, queue depth."""
        observer = Observer(clock=self.clock, stop=self.stop)
        observer.every(_IN_PROGRESS_REFRESH_SECONDS, self.in_progress.refresh_running, "in-progress")
        if self.settings.invalidation.wait_for_completion:
            self.completion = CompletionTracker(
                cloudfront, clock=self.clock, metrics=self.metrics, in_progress=self.in_progress
            )
            observer.every(0.5, self.completion.step, "completion")
        if sqs_client is not None:
            depth = QueueDepth(sqs_client, self.settings.sqs.queue_url, metrics=self.metrics)
            observer.every(_QUEUE_DEPTH_SECONDS, depth.sample, "queue-depth")
        return observer

    # -- probes -------------------------------------------------------------------

    def live(self) -> bool:
        """The main loop ticked recently (AWS outages do not make us dead)."""
        return self.clock.monotonic() - self._heartbeat < _LIVENESS_SECONDS

    def unready_reason(self) -> str | None:
        """None when ready, else why not (one line)."""
        for source in self.sources:
            reason = source.health.unready_reason()
            if reason is not None:
                return reason
        return None

    # -- the pipeline ---------------------------------------------------------------

    def submit(self, change: Change) -> None:
        """Route one change to every site that serves it and queue its paths."""
        result = self.router.route(change.bucket, change.key, site_wide=change.site_wide)
        events = self.metrics.events.labels(
            source=change.source, outcome="ignored" if result.ignored else "accepted"
        )
        events.inc()
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
        self.metrics.last_event.set(self.clock.time())
        if len(result.routes) > 1:
            change = replace(change, ack=FanOutAck(change.ack, len(result.routes)))
        for route in result.routes:
            self.batcher.add(route.distribution_id, change, route.paths)

    def _dispatch(self, *, force: bool = False) -> None:
        for distribution_id in self.batcher.due(force=force):
            running = self._in_flight.get(distribution_id)
            if running is not None and not running.done():
                continue  # one flush per distribution at a time, in order
            batch = self.batcher.take(distribution_id)
            if batch is not None:
                self._in_flight[distribution_id] = self._executor.submit(self._flush, batch)

    def _flush(self, batch: Batch) -> None:
        try:
            result = self.invalidator.flush(batch, abort=self._abort, deadline=self._deadline)
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
        retry_in = 0.0 if self.stop.is_set() else result.retry_in  # at shutdown: to another replica now
        for change in result.failed:
            change.ack.failed(retry_in)

    def _flushing(self) -> bool:
        return any(not future.done() for future in self._in_flight.values())

    # -- loops ----------------------------------------------------------------------

    def _receive_loop(self, source: SqsSource) -> None:
        backoff, failures = 1.0, 0
        while not self.stop.is_set():
            if self._once and self.clock.monotonic() - self._started >= self._max_seconds:
                break
            if source.saturated:
                self.stop.wait(_TICK)
                continue
            try:
                received = source.receive()
            except Exception as exc:  # noqa: BLE001 - counted and logged by the source; keep receiving
                if self._once and not is_transient(exc):
                    # --once against a missing queue or without permission: say so and stop,
                    # rather than retrying until --max-seconds.
                    self._log.error("receive failed permanently", code=error_code(exc), error=str(exc)[:300])
                    self._receive_failed = True
                    break
                failures += 1
                self._log.warning(
                    "retrying receive",
                    queue=self.settings.sqs.queue_url,
                    reason=error_code(exc),
                    attempt=failures,
                    delay=backoff,
                )
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff, failures = 1.0, 0
            if self._once and received == 0:
                break
        self._receiving_done.set()

    def run(self) -> int:
        """Run until stopped (or, with --once, until the queue is drained). Returns the exit code."""
        if self.http is not None:
            self.http.start()
        receiver = None
        if self.sqs is not None:
            receiver = threading.Thread(
                target=self._receive_loop, args=(self.sqs,), name="receiver", daemon=True
            )
            receiver.start()
        else:
            self._receiving_done.set()
        self.observer.start()
        if self.poll is not None:
            self._start_polling(self.poll)
        self._log.info(
            "watcher started",
            sources=list(self.settings.watcher.sources),
            sites=len(self.settings.sites),
            dry_run=self.settings.dry_run,
            once=self._once,
        )
        while not self.stop.is_set():
            self._tick()
            if self._once and self._receiving_done.is_set():
                break
            self.stop.wait(_TICK)
        return self._drain(receiver)

    def _start_polling(self, poll: PollSource) -> None:
        if not self._once:
            poll.start()
            return
        # --once: one cycle against the saved state, right here; the drain flushes it.
        if poll.run_cycle().outcome == "failed":
            self._receive_failed = True

    def _tick(self, *, force: bool = False) -> None:
        self._heartbeat = self.clock.monotonic()
        self._dispatch(force=force)
        for source in self.sources:
            source.housekeeping()
        pending = self.batcher.pending_paths()
        for site in self.settings.sites:
            self.metrics.pending_paths.labels(distribution=site.distribution_id).set(
                pending.get(site.distribution_id, 0)
            )

    def _drain(self, receiver: threading.Thread | None) -> int:
        """Flush everything pending, acknowledge what is covered, release the rest."""
        timeout = self.settings.watcher.shutdown_timeout_seconds
        if self._once and not self.stop.is_set():
            # --once: the flush gets what is left of --max-seconds, at least the shutdown timeout.
            elapsed = self.clock.monotonic() - self._started
            timeout = max(timeout, self._max_seconds - elapsed)
        self._deadline = self.clock.monotonic() + timeout - _SHUTDOWN_MARGIN
        self._log.info("draining", pending_changes=len(self.batcher), timeout=timeout)
        self.stop.set()
        if self.poll is not None:
            self.poll.shutdown()  # no new cycle; a running one stops at its next page
        while self.clock.monotonic() < self._deadline:
            self._tick(force=True)
            receiving = receiver is not None and receiver.is_alive()
            if not receiving and not self._flushing() and len(self.batcher) == 0:
                break
            self.clock.sleep(_TICK)
        self._abort.set()
        for future in self._in_flight.values():
            try:
                future.result(timeout=_SHUTDOWN_MARGIN)
            except Exception:  # noqa: BLE001 - a flush that did not finish is released below
                self._log.warning("a flush did not finish before the deadline")
        for source in self.sources:
            source.release_all()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.observer.join(_SHUTDOWN_MARGIN)
        if self.http is not None:
            self.http.stop()
        uncovered = sum(source.uncovered for source in self.sources)
        self._log.info("watcher stopped", uncovered_messages=uncovered)
        if self._once and (uncovered or self._receive_failed):
            return 1
        return 0
