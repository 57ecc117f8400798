"""The one lifecycle owner: wires the parts, runs the loops, drains on stop.

Threads: a receiver (SQS long polls), the schedulers, the main loop (flush scheduling,
handing out acks and visibility extensions, heartbeat), the flush pool, the SQS ack
workers, the HTTP server. The main loop never calls AWS: a hung dependency never stalls
it. Signal handlers only set `stop`.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING

import structlog

from watcher.aws import ClientFactory
from watcher.cloudfront.bill import CHECK_SECONDS, MonthlyBill
from watcher.cloudfront.followup import FollowUp
from watcher.cloudfront.probe import PROBE_SECONDS, CloudFrontProbe
from watcher.cloudfront.ratelimit import RateLimiter
from watcher.cloudfront.readiness import CloudFrontHealth
from watcher.cloudfront.side import CloudFrontSide
from watcher.core.batching import Batcher
from watcher.core.clock import Clock, SystemClock
from watcher.core.config import Settings
from watcher.core.mode import RunMode, why_once_failed
from watcher.core.routing import Router
from watcher.ops.http import HealthServer
from watcher.ops.metrics import Metrics
from watcher.ops.periodic import Periodic
from watcher.pipeline import Pipeline
from watcher.sources import SourceHealth
from watcher.sources.build import build_sources
from watcher.sources.content import ContentCheck
from watcher.sources.poll import PollSource
from watcher.sources.queue_depth import QueueDepth
from watcher.sources.receiver import Receiver
from watcher.sources.site_listing import cost_strategies, feeding, site_indexer

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from prometheus_client import CollectorRegistry

__all__ = ["StartupError", "Watcher"]

_TICK = 0.1
_LIVENESS_SECONDS = 120.0
_SHUTDOWN_MARGIN = 1.5  # flushes give up this long before the shutdown timeout ...
_ABORT_GRACE = 0.5  # ... and get this long to notice ...
_EXIT_MARGIN = 0.3  # ... acknowledgements and releases end this long before it
_IN_PROGRESS_REFRESH_SECONDS, _QUEUE_DEPTH_SECONDS = 30.0, 60.0  # observation: cheap reads


class StartupError(Exception):
    """The daemon cannot start (e.g. its port is taken): one clear line."""


class Watcher:
    """The daemon: sources -> routing -> content -> batching -> invalidation -> acks."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        registry: CollectorRegistry | None = None,
        clients: ClientFactory | None = None,
        mode: RunMode | None = None,
        stop: threading.Event | None = None,
        requests_per_second: float | None = None,
        request_burst: int | None = None,
        serve_http: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        # The run mode, decided once (by the CLI, or here from the config) and passed down.
        self.mode = mode or RunMode(dry_run=settings.dry_run)
        self.clock = clock or SystemClock()
        self.metrics = Metrics(registry)
        self.stop = stop or threading.Event()  # the CLI's, when signals may arrive during start-up
        self._poll_failed = False
        self.once_failure = ""  # why --once exits 1 (watcher run says it on stderr)
        self._heartbeat = self._started = self.clock.monotonic()
        self._log = structlog.get_logger("watcher.app")
        factory = clients or ClientFactory(
            region=settings.aws.region,
            connect_timeout=settings.aws.connect_timeout_seconds,
            read_timeout=settings.aws.read_timeout_seconds,
            on_error=self.metrics.count_aws_error,
        )
        rate = requests_per_second or settings.invalidation.requests_per_second
        limiter = RateLimiter(rate=rate, burst=request_burst, clock=self.clock)
        side = self._cloudfront_side(factory, limiter, rng)
        self.in_progress, self.invalidator = side.in_progress, side.invalidator
        self.completion = side.completion
        self.pipeline = self._pipeline()
        built = build_sources(
            settings,
            factory,
            clock=self.clock,
            metrics=self.metrics,
            on_change=feeding(self.indexer, self.pipeline.submit),
            stop=self.stop,
            mode=self.mode,
            on_listing=None if self.indexer is None else self.indexer.adopt_listing,
        )
        self.sources, self.sqs, self.poll = built.all, built.sqs, built.poll
        self.metrics.track_readiness(self.unready_reason)
        self.metrics.start_series(
            distributions=[site.distribution_id for site in settings.sites], sources=settings.watcher.sources
        )
        self.periodic = self._periodic(built.sqs_client)
        self.http = self._http_server() if serve_http else None

    def _cloudfront_side(
        self, factory: ClientFactory, limiter: RateLimiter, rng: random.Random | None
    ) -> CloudFrontSide:
        settings = self.settings
        unready_after = settings.http.unready_after_failing_seconds
        self.cloudfront_health = CloudFrontHealth(clock=self.clock, unready_after=unready_after)
        self.followup = FollowUp(settings, factory, self.metrics, self.clock)  # events, /status
        cloudfront, site_clients = factory.cloudfront(), factory.for_sites(settings.sites)
        self.content = ContentCheck(
            site_clients.s3,
            clock=self.clock,
            metrics=self.metrics,
            skip_unchanged=settings.invalidation.skip_unchanged,
        )
        self.bill = MonthlyBill(
            cloudfront,
            settings.sites,
            clock=self.clock,
            metrics=self.metrics,
            client_for=site_clients.cloudfront,
        )
        self.indexer = site_indexer(
            settings, site_clients.s3, clock=self.clock, stop=self.stop, metrics=self.metrics
        )
        self._probe = CloudFrontProbe(site_clients.cloudfront, self.cloudfront_health)
        return CloudFrontSide.build(
            cloudfront,
            settings.invalidation,
            clock=self.clock,
            metrics=self.metrics,
            limiter=limiter,
            dry_run=self.mode.dry_run,
            rng=rng,
            on_call=self.cloudfront_health.record,
            on_completed=self.followup.completed,
            on_given_up=self.followup.given_up,  # Completed events never sent: counted as dropped
            resume=[site.distribution_id for site in settings.sites],  # our invalidations in progress
            strategies=cost_strategies(settings, self.indexer, clock=self.clock),
            bill=self.bill,
            client_for=site_clients.cloudfront,  # a site's role_arn, if any
            call_seconds=factory.cloudfront_call_seconds,  # no call starts that the drain could not see end
        )

    def _pipeline(self) -> Pipeline:
        inv = self.settings.invalidation
        batcher = Batcher(
            quiet_period=inv.quiet_period_seconds, max_delay=inv.max_delay_seconds, clock=self.clock
        )
        pipeline = Pipeline(
            router=Router(self.settings.sites),
            batcher=batcher,
            invalidator=self.invalidator,
            metrics=self.metrics,
            clock=self.clock,
            stop=self.stop,
            completion=self.completion,
            on_flushed=self.followup.flushed,
            content=self.content,
            on_unchanged=self.followup.unchanged,
        )
        self.followup.watch(pipeline, self.in_progress, self.completion)
        return pipeline

    def _http_server(self) -> HealthServer | None:
        listen = self.settings.http
        try:
            server = HealthServer(
                host=listen.host,
                port=listen.port,
                registry=self.metrics.registry,
                live=self.live,
                unready_reason=self.unready_reason,
            )
        except OSError as exc:
            if not self.mode.once:
                raise StartupError(f"http.listen {listen.listen}: cannot listen: {exc}") from exc
            # A one-shot run is often next to a running daemon on the same port.
            self._log.warning("no /metrics for this --once run", listen=listen.listen, error=str(exc))
            return None
        server.add_route("/status", self.followup.status)
        return server

    def _periodic(self, sqs_client: SQSClient | None) -> Periodic:
        """The background jobs besides poll cycles: reads that only feed metrics (completion,
        in-progress counts, queue depth, the probe), the month's bill and the site index."""
        periodic = Periodic(stop=self.stop, clock=self.clock)
        periodic.every(_IN_PROGRESS_REFRESH_SECONDS, self.in_progress.refresh_running, "in-progress")
        periodic.every(PROBE_SECONDS, self._probe.step, "cloudfront-probe")
        if self.completion is not None:
            periodic.every(0.5, self.completion.step, "completion")
        if sqs_client is not None:
            depth = QueueDepth(sqs_client, self.settings.sqs.queue_url, metrics=self.metrics)
            periodic.every(_QUEUE_DEPTH_SECONDS, depth.sample, "queue-depth")
        periodic.every(CHECK_SECONDS, self.bill.tick, "bill")  # the first run rebuilds the month
        if self.indexer is not None and "poll" not in self.settings.watcher.sources:
            # Poll cycles list every site already: they feed the index.
            periodic.every(self.indexer.refresh_seconds, self.indexer.refresh, "site-index")
        return periodic

    # -- probes -------------------------------------------------------------------

    def live(self) -> bool:
        """The main loop ticked recently (AWS outages do not make us dead)."""
        return self.clock.monotonic() - self._heartbeat < _LIVENESS_SECONDS

    def unready_reason(self) -> str | None:
        """None when ready, else why not (one line)."""
        healths: list[SourceHealth | CloudFrontHealth] = [source.health for source in self.sources]
        healths.append(self.cloudfront_health)
        return next((reason for health in healths if (reason := health.unready_reason()) is not None), None)

    # -- loops ----------------------------------------------------------------------

    def run(self) -> int:
        """Run until stopped (or, with --once, until the queue is drained). Returns the exit code."""
        if self.http is not None:
            self.http.start()
        receiver = None
        if self.sqs is not None:
            receiver = Receiver(self.sqs, stop=self.stop, clock=self.clock, mode=self.mode)
            receiver.start()
        self.periodic.start()
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
            self.clock.sleep(_TICK, self.stop)
        return self._drain(receiver)

    def _start_polling(self, poll: PollSource) -> None:
        if not self.mode.once:
            poll.start()
        elif poll.run_cycle().outcome == "failed":  # --once: one cycle, right here; the drain flushes it
            self._poll_failed = True

    def _tick(self) -> None:
        """One turn of the main loop: decide and hand out; never an AWS call."""
        self._heartbeat = self.clock.monotonic()
        # A full hold of uncovered messages receives nothing more: its batches are due now.
        self.pipeline.dispatch(force=self.sqs is not None and self.sqs.waiting_on_flush)
        for source in self.sources:
            source.housekeeping()
        self.pipeline.publish_pending([site.distribution_id for site in self.settings.sites])

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
        self.periodic.join(_EXIT_MARGIN / 2)
        self.followup.close(grace=min(0.5, max(0.0, end - _EXIT_MARGIN - self.clock.monotonic())))
        if self.http is not None:
            self.http.stop()
        self._log.info("watcher stopped", uncovered_messages=sum(s.uncovered for s in self.sources))
        never_received = self.sqs is not None and not self.sqs.received_once
        failed = receiver is not None and (receiver.failed or never_received)
        self.once_failure = why_once_failed(self.sources, self._poll_failed, failed) if self.mode.once else ""
        return 1 if self.once_failure else 0
