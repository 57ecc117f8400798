"""The one lifecycle owner: wires the parts, runs the loops, drains on stop.

Threads: a receiver (SQS long polls), the poll scheduler, the main loop (flush
scheduling, handing out acks and visibility extensions, heartbeat), a small
pool that sends invalidations, the SQS acknowledgement workers, the HTTP
server. The main loop never calls AWS, so a hung dependency never stalls it.
Signal handlers only set `stop`.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING

import structlog

from watcher.aws import ClientFactory
from watcher.cloudfront.completion import CompletionTracker
from watcher.cloudfront.inprogress import InProgress
from watcher.cloudfront.invalidator import FlushResult, Invalidator
from watcher.cloudfront.notify import Notifier, notices_for
from watcher.cloudfront.ratelimit import RateLimiter
from watcher.cloudfront.status import StatusBoard
from watcher.core.batching import Batch, Batcher
from watcher.core.clock import Clock, SystemClock
from watcher.core.config import Settings
from watcher.core.mode import RunMode
from watcher.core.routing import Router
from watcher.ops.http import HealthServer
from watcher.ops.metrics import Metrics
from watcher.ops.observer import Observer
from watcher.pipeline import Pipeline
from watcher.sources import Source, SourceHealth
from watcher.sources.poll import PollSource
from watcher.sources.queue_depth import QueueDepth
from watcher.sources.receiver import Receiver
from watcher.sources.sqs import SqsSource

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from prometheus_client import CollectorRegistry

__all__ = ["StartupError", "Watcher"]

_TICK = 0.1
_LIVENESS_SECONDS = 120.0
_SHUTDOWN_MARGIN = 1.5  # flushes give up this long before the shutdown timeout ...
_ABORT_GRACE = 0.5  # ... and get this long to notice ...
_EXIT_MARGIN = 0.3  # ... acknowledgements and releases end this long before it
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
        mode: RunMode | None = None,
        stop: threading.Event | None = None,
        requests_per_second: float | None = None,
        request_burst: int | None = None,
        serve_http: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        # The run mode, decided here once (or by the CLI) and passed down.
        self.mode = mode or RunMode(once=once, dry_run=settings.dry_run, max_seconds=max_seconds)
        self.clock = clock or SystemClock()
        self.metrics = Metrics(registry)
        self.stop = stop or threading.Event()  # the CLI's, when signals may arrive during start-up
        self._poll_failed = False
        self._heartbeat = self.clock.monotonic()
        self._started = self.clock.monotonic()
        self._log = structlog.get_logger("watcher.app")
        factory = clients or ClientFactory(
            region=settings.aws.region,
            connect_timeout=settings.aws.connect_timeout_seconds,
            read_timeout=settings.aws.read_timeout_seconds,
            on_error=self.metrics.count_aws_error,
        )
        inv = settings.invalidation
        rate = requests_per_second or inv.requests_per_second
        cloudfront = factory.cloudfront()
        by_site = factory.for_sites(settings.sites).cloudfront  # a site's role_arn, where it names one
        # CloudFront is used now and then: ready until CreateInvalidation has failed for too long.
        self.cloudfront_health = SourceHealth(
            "cloudfront",
            clock=self.clock,
            unready_after=settings.http.unready_after_failing_seconds,
            needs_first_success=False,
        )
        self.in_progress = InProgress(cloudfront, clock=self.clock, metrics=self.metrics, client_for=by_site)
        self.invalidator = Invalidator(
            cloudfront,
            clock=self.clock,
            metrics=self.metrics,
            limiter=RateLimiter(rate=rate, burst=request_burst, clock=self.clock),
            in_progress=self.in_progress,
            max_paths_per_request=inv.max_paths_per_request,
            max_wildcards_in_progress=inv.max_wildcards_in_progress,
            dry_run=self.mode.dry_run,
            rng=rng,
            on_call=self._cloudfront_call,
        )
        self.notifier: Notifier | None = None
        if settings.notify.eventbridge_bus:
            self.notifier = Notifier(
                factory.events(), bus=settings.notify.eventbridge_bus, metrics=self.metrics, clock=self.clock
            )
        self.completion: CompletionTracker | None = None
        if inv.wait_for_completion:
            self.completion = CompletionTracker(
                cloudfront,
                clock=self.clock,
                metrics=self.metrics,
                in_progress=self.in_progress,
                on_completed=self.notifier.completed if self.notifier is not None else None,
            )
        batcher = Batcher(
            quiet_period=inv.quiet_period_seconds, max_delay=inv.max_delay_seconds, clock=self.clock
        )
        self.status_board = StatusBoard(
            distributions=[site.distribution_id for site in settings.sites],
            batcher=batcher,
            in_progress=self.in_progress,
            clock=self.clock,
        )
        self.pipeline = Pipeline(
            router=Router(settings.sites),
            batcher=batcher,
            invalidator=self.invalidator,
            metrics=self.metrics,
            clock=self.clock,
            stop=self.stop,
            completion=self.completion,
            on_flushed=self._flushed,
        )
        self.sources: list[Source] = []
        self.sqs: SqsSource | None = None
        sqs_client = None
        if "sqs" in settings.watcher.sources:
            sqs_client = factory.sqs()
            self.sqs = SqsSource(
                sqs_client,
                settings.sqs,
                receive_client=factory.sqs_receiver(wait_time_seconds=settings.sqs.wait_time_seconds),
                clock=self.clock,
                metrics=self.metrics,
                on_change=self.pipeline.submit,
                mode=self.mode,
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
                on_change=self.pipeline.submit,
                stop=self.stop,
                dry_run=self.mode.dry_run,
                unready_after=settings.http.unready_after_failing_seconds,
                client_for=factory.for_sites(settings.sites).s3,
            )
            self.sources.append(self.poll)
        self.metrics.track_readiness(self.unready_reason)
        self.metrics.start_series(
            distributions=[site.distribution_id for site in settings.sites], sources=settings.watcher.sources
        )
        self.observer = self._observer(sqs_client)
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
                self.http.add_route("/status", self.status_board.route)
            except OSError as exc:
                if not self.mode.once:
                    raise StartupError(f"http.listen {settings.http.listen}: cannot listen: {exc}") from exc
                # A one-shot run is often next to a running daemon on the same port.
                self._log.warning(
                    "no /metrics for this --once run", listen=settings.http.listen, error=str(exc)
                )

    def _observer(self, sqs_client: SQSClient | None) -> Observer:
        """Background reads that only feed metrics: completion, in-progress counts, queue depth."""
        observer = Observer(stop=self.stop)
        observer.every(_IN_PROGRESS_REFRESH_SECONDS, self.in_progress.refresh_running, "in-progress")
        if self.completion is not None:
            observer.every(0.5, self.completion.step, "completion")
        if sqs_client is not None:
            depth = QueueDepth(sqs_client, self.settings.sqs.queue_url, metrics=self.metrics)
            observer.every(_QUEUE_DEPTH_SECONDS, depth.sample, "queue-depth")
        return observer

    def _flushed(self, batch: Batch, result: FlushResult) -> None:
        """After each flush that created invalidations: /status, and Created events (queued only)."""
        self.status_board.flushed(batch, result)
        if self.notifier is not None:
            self.notifier.created(notices_for(batch, result, self.clock.time()))

    # -- probes -------------------------------------------------------------------

    def live(self) -> bool:
        """The main loop ticked recently (AWS outages do not make us dead)."""
        return self.clock.monotonic() - self._heartbeat < _LIVENESS_SECONDS

    def unready_reason(self) -> str | None:
        """None when ready, else why not (one line)."""
        for health in [source.health for source in self.sources] + [self.cloudfront_health]:
            reason = health.unready_reason()
            if reason is not None:
                return reason
        return None

    def _cloudfront_call(self, error: str | None) -> None:
        if error is None:
            self.cloudfront_health.success()
        else:
            self.cloudfront_health.failure(error)

    # -- loops ----------------------------------------------------------------------

    def run(self) -> int:
        """Run until stopped (or, with --once, until the queue is drained). Returns the exit code."""
        if self.http is not None:
            self.http.start()
        receiver = None
        if self.sqs is not None:
            receiver = Receiver(self.sqs, stop=self.stop, clock=self.clock, mode=self.mode)
            receiver.start()
        self.observer.start()
        if self.notifier is not None:
            self.notifier.start()
        if self.poll is not None:
            self._start_polling(self.poll)
        self._log.info(
            "watcher started",
            sources=list(self.settings.watcher.sources),
            sites=len(self.settings.sites),
            dry_run=self.mode.dry_run,
            once=self.mode.once,
        )
        while not self.stop.is_set():
            self._tick()
            if self.mode.once and (receiver is None or receiver.done.is_set()):
                break
            self.stop.wait(_TICK)
        return self._drain(receiver)

    def _start_polling(self, poll: PollSource) -> None:
        if not self.mode.once:
            poll.start()
            return
        # --once: one cycle against the saved state, right here; the drain flushes it.
        if poll.run_cycle().outcome == "failed":
            self._poll_failed = True

    def _tick(self) -> None:
        """One turn of the main loop: decide and hand out; never an AWS call."""
        self._heartbeat = self.clock.monotonic()
        self.pipeline.dispatch()
        for source in self.sources:
            source.housekeeping()
        pending = self.pipeline.pending_paths()
        for site in self.settings.sites:
            self.metrics.pending_paths.labels(distribution=site.distribution_id).set(
                pending.get(site.distribution_id, 0)
            )

    def _drain(self, receiver: Receiver | None) -> int:
        """Flush everything pending, acknowledge what is covered, release the rest; within the timeout."""
        timeout = self.settings.watcher.shutdown_timeout_seconds
        started = self.clock.monotonic()
        if self.mode.once and not self.stop.is_set():
            # --once: the flush gets what is left of --max-seconds, at least the shutdown timeout.
            timeout = max(timeout, self.mode.max_seconds - (started - self._started))
        end = started + timeout
        self._log.info("draining", pending_changes=self.pipeline.pending_changes(), timeout=timeout)
        self.stop.set()
        if self.poll is not None:
            self.poll.shutdown()  # no new cycle, and no waiting: a running one stops at its next page
        self.pipeline.drain(end - _SHUTDOWN_MARGIN)
        while self.clock.monotonic() < end - _SHUTDOWN_MARGIN:
            self._tick()
            receiving = receiver is not None and receiver.is_alive()
            if not receiving and not self.pipeline.busy:
                break
            self.clock.sleep(_TICK)
        self.pipeline.abort(grace=_ABORT_GRACE)
        if receiver is not None:
            # `check` keeps the shutdown timeout above the long poll: it has ended by now.
            receiver.join(max(0.0, end - _EXIT_MARGIN - self.clock.monotonic()))
        for source in self.sources:
            source.release_all(deadline=end - _EXIT_MARGIN)
        self.observer.join(_EXIT_MARGIN / 2)
        if self.notifier is not None:
            # Queued events get what is left before the exit margin, at most half a second.
            self.notifier.close(grace=min(0.5, max(0.0, end - _EXIT_MARGIN - self.clock.monotonic())))
        if self.http is not None:
            self.http.stop()
        uncovered = sum(source.uncovered for source in self.sources)
        self._log.info("watcher stopped", uncovered_messages=uncovered)
        # --once fails when no receive ever succeeded (a queue that never answered is not "drained").
        never_received = self.sqs is not None and not self.sqs.received_once
        failed = self._poll_failed or (receiver is not None and (receiver.failed or never_received))
        if self.mode.once and (uncovered or failed):
            return 1
        return 0
