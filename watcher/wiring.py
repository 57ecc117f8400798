"""The one composition root: `build(settings)` makes every part of the daemon and returns them.

Clients, clock, registry, stop event and run mode come in (tests inject theirs) or are
made here; the CloudFront side, the pipeline, the sources, the periodic jobs and the HTTP
server are built from them in one order, written once. `Watcher` (app.py) only runs what
this returns: its loops, its ticks and its drain.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

import structlog

from watcher.aws import ClientFactory, cloudfront_call_budget
from watcher.cloudfront.bill import CHECK_SECONDS, MonthlyBill
from watcher.cloudfront.followup import FollowUp
from watcher.cloudfront.probe import PROBE_SECONDS, CloudFrontProbe
from watcher.cloudfront.ratelimit import RateLimiter
from watcher.cloudfront.readiness import CloudFrontHealth
from watcher.cloudfront.side import CloudFrontSide
from watcher.core.batching import Batcher
from watcher.core.clock import Clock, SystemClock
from watcher.core.config import Settings
from watcher.core.mode import RunMode
from watcher.core.routing import Router
from watcher.ops.http import HealthServer
from watcher.ops.metrics import Metrics
from watcher.ops.periodic import Periodic
from watcher.pipeline import Pipeline
from watcher.sources import SourceHealth
from watcher.sources.build import Sources, build_sources
from watcher.sources.content import ContentCheck
from watcher.sources.queue_depth import QueueDepth
from watcher.sources.site_listing import SiteIndexer, cost_strategies, feeding, site_indexer

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["BuildOptions", "Heartbeat", "Parts", "StartupError", "build"]

_LIVENESS_SECONDS = 120.0
_IN_PROGRESS_REFRESH_SECONDS, _QUEUE_DEPTH_SECONDS = 30.0, 60.0  # observation: cheap reads


class StartupError(Exception):
    """The daemon cannot start (e.g. its port is taken): one clear line."""


@dataclass(slots=True)
class Heartbeat:
    """When the main loop last ticked: /healthz is live while it ticked recently."""

    clock: Clock
    started: float = 0.0
    last: float = 0.0

    def __post_init__(self) -> None:
        self.started = self.last = self.clock.monotonic()

    def beat(self) -> None:
        """The main loop ticked."""
        self.last = self.clock.monotonic()

    def live(self) -> bool:
        """The main loop ticked recently (AWS outages do not make us dead)."""
        return self.clock.monotonic() - self.last < _LIVENESS_SECONDS


@dataclass(slots=True)
class Parts:
    """Everything the daemon is made of, built by `build`."""

    settings: Settings
    mode: RunMode
    clock: Clock
    stop: threading.Event
    metrics: Metrics
    heartbeat: Heartbeat
    cloudfront_health: CloudFrontHealth
    followup: FollowUp
    content: ContentCheck
    bill: MonthlyBill
    indexer: SiteIndexer | None
    side: CloudFrontSide
    pipeline: Pipeline
    sources: Sources
    periodic: Periodic = field(init=False)
    http: HealthServer | None = field(init=False, default=None)

    def unready_reason(self) -> str | None:
        """None when ready, else why not (one line): the first source or CloudFront that is not."""
        healths: list[SourceHealth | CloudFrontHealth] = [source.health for source in self.sources.all]
        healths.append(self.cloudfront_health)
        return next((reason for health in healths if (reason := health.unready_reason()) is not None), None)


class BuildOptions(TypedDict, total=False):
    """What a caller (a test, the CLI) may give `build` instead of what it would make."""

    clock: Clock
    registry: CollectorRegistry
    clients: ClientFactory
    mode: RunMode
    stop: threading.Event
    requests_per_second: float
    request_burst: int
    serve_http: bool
    rng: random.Random


def build(
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
) -> Parts:
    """Every part, wired; StartupError when the HTTP port cannot be had (except for --once)."""
    clock = clock or SystemClock()
    metrics = Metrics(registry)
    mode = mode or RunMode(dry_run=settings.dry_run)  # decided once (by the CLI, or from the config)
    stop = stop or threading.Event()  # the CLI's, when signals may arrive during start-up
    factory = clients or ClientFactory(
        region=settings.aws.region,
        connect_timeout=settings.aws.connect_timeout_seconds,
        read_timeout=settings.aws.read_timeout_seconds,
        on_error=metrics.count_aws_error,
        cloudfront_budget=cloudfront_call_budget(settings.watcher.shutdown_timeout_seconds),
    )
    basics = _Basics(settings, mode, clock, stop, metrics, factory)
    health = CloudFrontHealth(clock=clock, unready_after=settings.http.unready_after_failing_seconds)
    followup = FollowUp(settings, factory, metrics, clock)  # events, /status
    rate = requests_per_second or settings.invalidation.requests_per_second
    limiter = RateLimiter(rate=rate, burst=request_burst, clock=clock)
    side, content, bill, indexer, probe = _cloudfront(basics, health, followup, limiter, rng)
    pipeline = _pipeline(settings, side, content, followup, metrics=metrics, clock=clock, stop=stop)
    sources = build_sources(
        settings,
        factory,
        clock=clock,
        metrics=metrics,
        on_change=feeding(indexer, pipeline.submit),
        stop=stop,
        mode=mode,
        on_listing=None if indexer is None else indexer.adopt_listing,
    )
    parts = Parts(
        settings, mode, clock, stop, metrics, Heartbeat(clock), health, followup, content, bill, indexer,
        side, pipeline, sources,
    )  # fmt: skip
    metrics.track_readiness(parts.unready_reason)
    metrics.start_series(
        distributions=[site.distribution_id for site in settings.sites], sources=settings.watcher.sources
    )
    parts.periodic = _periodic(parts, probe)
    parts.http = _http_server(parts) if serve_http else None
    return parts


@dataclass(frozen=True, slots=True)
class _Basics:
    """What every part is made with."""

    settings: Settings
    mode: RunMode
    clock: Clock
    stop: threading.Event
    metrics: Metrics
    factory: ClientFactory


def _cloudfront(
    basics: _Basics,
    health: CloudFrontHealth,
    followup: FollowUp,
    limiter: RateLimiter,
    rng: random.Random | None,
) -> tuple[CloudFrontSide, ContentCheck, MonthlyBill, SiteIndexer | None, CloudFrontProbe]:
    """The CloudFront side (invalidator, in progress, completion) and what it plans and counts with."""
    settings, clock, metrics, factory = basics.settings, basics.clock, basics.metrics, basics.factory
    cloudfront, site_clients = factory.cloudfront(), factory.for_sites(settings.sites)
    content = ContentCheck(
        site_clients.s3, clock=clock, metrics=metrics, skip_unchanged=settings.invalidation.skip_unchanged
    )
    bill = MonthlyBill(
        cloudfront, settings.sites, clock=clock, metrics=metrics, client_for=site_clients.cloudfront
    )
    indexer = site_indexer(settings, site_clients.s3, clock=clock, stop=basics.stop, metrics=metrics)
    side = CloudFrontSide.build(
        cloudfront,
        settings.invalidation,
        clock=clock,
        metrics=metrics,
        limiter=limiter,
        dry_run=basics.mode.dry_run,
        rng=rng,
        on_call=health.record,
        on_completed=followup.completed,
        on_given_up=followup.given_up,  # Completed events never sent: counted as dropped
        resume=[site.distribution_id for site in settings.sites],  # our invalidations in progress
        strategies=cost_strategies(settings, indexer, clock=clock),
        bill=bill,
        client_for=site_clients.cloudfront,  # a site's role_arn, if any
        call_seconds=factory.cloudfront_call_seconds,  # no call starts that the drain could not see end
    )
    return side, content, bill, indexer, CloudFrontProbe(site_clients.cloudfront, health)


def _pipeline(
    settings: Settings,
    side: CloudFrontSide,
    content: ContentCheck,
    followup: FollowUp,
    *,
    metrics: Metrics,
    clock: Clock,
    stop: threading.Event,
) -> Pipeline:
    inv = settings.invalidation
    pipeline = Pipeline(
        router=Router(settings.sites),
        batcher=Batcher(quiet_period=inv.quiet_period_seconds, max_delay=inv.max_delay_seconds, clock=clock),
        invalidator=side.invalidator,
        metrics=metrics,
        clock=clock,
        stop=stop,
        completion=side.completion,
        on_flushed=followup.flushed,
        content=content,
        on_unchanged=followup.unchanged,
    )
    followup.watch(pipeline, side.in_progress, side.completion)
    return pipeline


def _periodic(parts: Parts, probe: CloudFrontProbe) -> Periodic:
    """Every background job, on one scheduler: poll cycles, reads that only feed metrics
    (completion, in-progress counts, queue depth, the probe), the month's bill and the site index."""
    periodic = Periodic(stop=parts.stop, clock=parts.clock)
    if parts.sources.poll is not None and not parts.mode.once:
        parts.sources.poll.schedule(periodic)  # --once runs its one cycle itself (app.py)
    periodic.every(_IN_PROGRESS_REFRESH_SECONDS, parts.side.in_progress.refresh_running, "in-progress")
    periodic.every(PROBE_SECONDS, probe.step, "cloudfront-probe")
    if parts.side.completion is not None:
        periodic.every(0.5, parts.side.completion.step, "completion")
    if parts.sources.sqs_client is not None:
        depth = QueueDepth(parts.sources.sqs_client, parts.settings.sqs.queue_url, metrics=parts.metrics)
        periodic.every(_QUEUE_DEPTH_SECONDS, depth.sample, "queue-depth")
    periodic.every(CHECK_SECONDS, parts.bill.tick, "bill")  # the first run rebuilds the month
    if parts.indexer is not None and "poll" not in parts.settings.watcher.sources:
        # Poll cycles list every site already: they feed the index.
        periodic.every(parts.indexer.refresh_seconds, parts.indexer.refresh, "site-index")
    return periodic


def _http_server(parts: Parts) -> HealthServer | None:
    listen = parts.settings.http
    try:
        server = HealthServer(
            host=listen.host,
            port=listen.port,
            registry=parts.metrics.registry,
            live=parts.heartbeat.live,
            unready_reason=parts.unready_reason,
        )
    except OSError as exc:
        if not parts.mode.once:
            raise StartupError(f"http.listen {listen.listen}: cannot listen: {exc}") from exc
        # A one-shot run is often next to a running daemon on the same port.
        log = structlog.get_logger("watcher.app")
        log.warning("no /metrics for this --once run", listen=listen.listen, error=str(exc))
        return None
    server.add_route("/status", parts.followup.status)
    return server
