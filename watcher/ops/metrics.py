"""Every metric, defined once, against an injected registry.

Label values stay bounded: sources, outcomes, distribution ids, error codes;
never keys or paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from watcher.ops.build import build_labels

__all__ = ["Metrics"]

_NS = "cloudfront_watcher"
# S3 notifications usually arrive in seconds, sometimes a minute or more late;
# the quiet period and CloudFront's rate limit add more. Up to ~15 minutes.
_EVENT_TO_INVALIDATION_BUCKETS = (
    1,
    2.5,
    5,
    10,
    15,
    20,
    30,
    45,
    60,
    90,
    120,
    180,
    300,
    450,
    600,
    900,
)
_REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_COMPLETION_BUCKETS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600, 1200)
# The CloudFront backpressure an operator alerts on; other reasons appear when they happen.
_EXPECTED_RETRY_REASONS = ("Throttling", "TooManyInvalidationsInProgress")
_SOURCE_SERVICES = {"poll": "s3"}


class _WithoutCreated(Collector):
    """Our metrics without the `_created` series: per-registry, where disable_created_metrics() is global."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        """Each family of the source, minus its `*_created` samples."""
        for family in self._source.collect():
            family.samples = [s for s in family.samples if not s.name.endswith("_created")]
            yield family


class Metrics:
    """The watcher's metrics; tests build one on their own CollectorRegistry.

    The registry also gets the process (RSS, CPU, fds), platform (python_info) and GC
    collectors; the watcher's own series are served without `_created` clutter.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = CollectorRegistry()  # ours, served through _WithoutCreated
        self.registry.register(_WithoutCreated(r))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.events = Counter(
            f"{_NS}_events",
            "S3 event records seen, by source and outcome (accepted, ignored, rejected).",
            ["source", "outcome"],
            registry=r,
        )
        self.sqs_messages = Counter(
            f"{_NS}_sqs_messages",
            "SQS messages by outcome (received, deleted, released, kept, redelivered, stale).",
            ["outcome"],
            registry=r,
        )
        self.invalidations = Counter(
            f"{_NS}_invalidations",
            "Flushes by distribution and outcome (created, failed, dry_run).",
            ["distribution", "outcome"],
            registry=r,
        )
        self.invalidation_paths = Counter(
            f"{_NS}_invalidation_paths",
            "Paths sent in accepted invalidations (what CloudFront bills).",
            ["distribution"],
            registry=r,
        )
        self.pending_paths = Gauge(
            f"{_NS}_pending_paths",
            "Distinct paths waiting to be invalidated.",
            ["distribution"],
            registry=r,
        )
        self.invalidations_in_progress = Gauge(
            f"{_NS}_invalidations_in_progress",
            "Invalidations CloudFront reports InProgress.",
            ["distribution"],
            registry=r,
        )
        self.event_to_invalidation = Histogram(
            f"{_NS}_event_to_invalidation_seconds",
            "Time from the S3 event to the accepted invalidation that covers it.",
            buckets=_EVENT_TO_INVALIDATION_BUCKETS,
            registry=r,
        )
        self.invalidation_request = Histogram(
            f"{_NS}_invalidation_request_seconds",
            "Duration of CreateInvalidation calls.",
            buckets=_REQUEST_BUCKETS,
            registry=r,
        )
        self.invalidation_completion = Histogram(
            f"{_NS}_invalidation_completion_seconds",
            "Time from an accepted invalidation to CloudFront reporting it Completed.",
            ["distribution"],
            buckets=_COMPLETION_BUCKETS,
            registry=r,
        )
        self.retries = Counter(f"{_NS}_retries", "Retries, by reason.", ["reason"], registry=r)
        self.aws_errors = Counter(
            f"{_NS}_aws_errors",
            "Errors from AWS calls, by service and error code.",
            ["service", "code"],
            registry=r,
        )
        self.last_event = Gauge(
            f"{_NS}_last_event_timestamp_seconds",
            "When the last change was accepted (unix time).",
            registry=r,
        )
        self.last_invalidation = Gauge(
            f"{_NS}_last_invalidation_timestamp_seconds",
            "When the last invalidation was accepted, by distribution (unix time).",
            ["distribution"],
            registry=r,
        )
        self.held_messages = Gauge(
            f"{_NS}_held_messages",
            "SQS messages received and not yet deleted or released.",
            registry=r,
        )
        self.poll_cycles = Counter(
            f"{_NS}_poll_cycles",
            "Poll cycles by outcome (ok, baseline, failed, skipped).",
            ["outcome"],
            registry=r,
        )
        self.poll_list_calls = Counter(
            f"{_NS}_poll_list_calls",
            "ListObjectsV2 calls made by poll cycles.",
            registry=r,
        )
        self.queue_messages = Gauge(
            f"{_NS}_queue_messages",
            "Approximate messages in a queue (queue = source or dlq), from GetQueueAttributes.",
            ["queue"],
            registry=r,
        )
        self.notifications = Counter(
            f"{_NS}_notifications",
            "Completion events (EventBridge) by outcome (sent, retried, failed, dropped).",
            ["outcome"],
            registry=r,
        )
        self.ready = Gauge(
            f"{_NS}_ready",
            "1 while GET /readyz answers 200, 0 while a source is failing (or has not succeeded yet).",
            registry=r,
        )
        labels = build_labels()
        self.build_info = Gauge(f"{_NS}_build_info", "Build information.", list(labels), registry=r)
        self.build_info.labels(**labels).set(1)

    def track_readiness(self, unready_reason: Callable[[], str | None]) -> None:
        """`ready` follows `unready_reason()` at each scrape."""
        self.ready.set_function(lambda: 0.0 if unready_reason() is not None else 1.0)

    def count_aws_error(self, service: str, code: str) -> None:
        """One failed AWS call (the clients' error hook calls this: see watcher/awserrors.py)."""
        self.aws_errors.labels(service=service, code=code).inc()

    def start_series(self, *, distributions: Iterable[str], sources: Iterable[str]) -> None:
        """Create the label children the daemon will use, at 0, before the first event.

        A series that appears only with its first increment breaks `rate()` and
        `absent()` alerts and leaves dashboards empty on a quiet day.
        """
        for source in sources:
            for outcome in ("accepted", "ignored", "rejected"):
                self.events.labels(source=source, outcome=outcome)
        if "sqs" in sources:
            for outcome in ("received", "deleted", "released"):
                self.sqs_messages.labels(outcome=outcome)
            self.queue_messages.labels(queue="source")
        if "poll" in sources:
            for outcome in ("ok", "baseline", "failed", "skipped"):
                self.poll_cycles.labels(outcome=outcome)
        for reason in _EXPECTED_RETRY_REASONS:
            self.retries.labels(reason=reason)
        for service in ("cloudfront", *(_SOURCE_SERVICES.get(s, s) for s in sources)):
            self.aws_errors.labels(service=service, code="Throttling")
        for dist in distributions:
            for outcome in ("created", "failed", "dry_run"):
                self.invalidations.labels(distribution=dist, outcome=outcome)
            self.invalidation_paths.labels(distribution=dist)
            self.pending_paths.labels(distribution=dist)
            self.invalidations_in_progress.labels(distribution=dist)
            self.last_invalidation.labels(distribution=dist)
            self.invalidation_completion.labels(distribution=dist)
