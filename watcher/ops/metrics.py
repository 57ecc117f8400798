"""Every metric, defined once, against an injected registry.

Label values stay bounded: sources, outcomes, distribution ids, error codes;
never keys or paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar, cast, overload

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


M = TypeVar("M", Counter, Gauge, Histogram)


class _Metric(Generic[M]):
    """One row of the table: how to make the metric; on an instance, the instance's metric."""

    def __init__(self, make: Callable[[CollectorRegistry], M]) -> None:
        self.make: Callable[[CollectorRegistry], M] = make
        self.attribute = ""

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.attribute = attribute

    @overload
    def __get__(self, instance: None, owner: type) -> _Metric[M]: ...
    @overload
    def __get__(self, instance: Metrics, owner: type) -> M: ...
    def __get__(self, instance: Metrics | None, owner: type) -> _Metric[M] | M:
        if instance is None:
            return self
        return cast("M", instance._made[self.attribute])


def _counter(name: str, documentation: str, *labels: str) -> _Metric[Counter]:
    return _Metric(lambda registry: Counter(f"{_NS}_{name}", documentation, labels, registry=registry))


def _gauge(name: str, documentation: str, *labels: str) -> _Metric[Gauge]:
    return _Metric(lambda registry: Gauge(f"{_NS}_{name}", documentation, labels, registry=registry))


def _histogram(name: str, documentation: str, buckets: tuple[float, ...], *labels: str) -> _Metric[Histogram]:
    def make(registry: CollectorRegistry) -> Histogram:
        return Histogram(f"{_NS}_{name}", documentation, labels, buckets=buckets, registry=registry)

    return _Metric(make)


_BUILD_LABELS = ("version", "python_version", "revision")  # values: build_labels(), per instance


class Metrics:
    """The watcher's metrics, a table (one row each); tests build one on their own CollectorRegistry.

    The registry also gets the process (RSS, CPU, fds), platform (python_info) and GC
    collectors; the watcher's own series are served without `_created` clutter.
    """

    events = _counter(
        "events",
        "S3 event records seen, by source and outcome (accepted, ignored, rejected, unchanged).",
        "source",
        "outcome",
    )
    sqs_messages = _counter(
        "sqs_messages",
        "SQS messages by outcome (received, deleted, released, kept, redelivered, stale).",
        "outcome",
    )
    invalidations = _counter(
        "invalidations",
        "Flushes by distribution and outcome (created, failed, dry_run).",
        "distribution",
        "outcome",
    )
    invalidation_paths = _counter(
        "invalidation_paths", "Paths sent in accepted invalidations (what CloudFront bills).", "distribution"
    )
    pending_paths = _gauge("pending_paths", "Distinct paths waiting to be invalidated.", "distribution")
    invalidations_in_progress = _gauge(
        "invalidations_in_progress", "Invalidations CloudFront reports InProgress.", "distribution"
    )
    event_to_invalidation = _histogram(
        "event_to_invalidation_seconds",
        "Time from the S3 event to the accepted invalidation that covers it.",
        _EVENT_TO_INVALIDATION_BUCKETS,
    )
    invalidation_request = _histogram(
        "invalidation_request_seconds", "Duration of CreateInvalidation calls.", _REQUEST_BUCKETS
    )
    invalidation_completion = _histogram(
        "invalidation_completion_seconds",
        "Time from an accepted invalidation to CloudFront reporting it Completed.",
        _COMPLETION_BUCKETS,
        "distribution",
    )
    retries = _counter("retries", "Retries, by reason.", "reason")
    aws_errors = _counter(
        "aws_errors", "Errors from AWS calls, by service and error code.", "service", "code"
    )
    last_event = _gauge("last_event_timestamp_seconds", "When the last change was accepted (unix time).")
    last_invalidation = _gauge(
        "last_invalidation_timestamp_seconds",
        "When the last invalidation was accepted, by distribution (unix time).",
        "distribution",
    )
    held_messages = _gauge("held_messages", "SQS messages received and not yet deleted or released.")
    poll_cycles = _counter(
        "poll_cycles", "Poll cycles by outcome (ok, baseline, failed, skipped).", "outcome"
    )
    poll_list_calls = _counter("poll_list_calls", "ListObjectsV2 calls made by poll cycles.")
    content_lookup_calls = _counter(
        "content_lookup_calls",
        "S3 calls of the content check (call = ListObjectVersions, HeadObject): is a write a change?",
        "call",
    )
    queue_messages = _gauge(
        "queue_messages",
        "Approximate messages in a queue (queue = source or dlq), from GetQueueAttributes.",
        "queue",
    )
    billed_paths = _counter(
        "billed_paths",
        "Invalidation paths CloudFront accepted from us; billed past the free tier (a wildcard is one).",
        "distribution",
    )
    collateral_objects = _counter(
        "collateral_objects",
        "Unchanged objects purged by our wildcards, from the site index (strategies other than exact).",
        "distribution",
    )
    month_billed_paths = _gauge(
        "month_billed_paths",
        "Invalidation paths billed this calendar month (UTC) on the distribution, people's included;"
        " rebuilt from CloudFront at start.",
        "distribution",
    )
    site_index_objects = _gauge(
        "site_index_objects", "Objects in the site index of a cost strategy, by site.", "site"
    )
    site_index_age_seconds = _gauge(
        "site_index_age_seconds",
        "Seconds since the site's index was last listed whole (since start before the first listing).",
        "site",
    )
    notifications = _counter(
        "notifications",
        "Completion events (EventBridge) by outcome (sent, retried, failed, dropped).",
        "outcome",
    )
    ready = _gauge(
        "ready", "1 while GET /readyz answers 200, 0 while a source is failing (or has not succeeded yet)."
    )
    build_info = _gauge("build_info", "Build information.", *_BUILD_LABELS)

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._own = CollectorRegistry()  # ours, served through _WithoutCreated
        self.registry.register(_WithoutCreated(self._own))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        table = [row for row in vars(type(self)).values() if isinstance(row, _Metric)]
        self._made: dict[str, Counter | Gauge | Histogram] = {
            row.attribute: row.make(self._own) for row in table
        }
        self.build_info.labels(**build_labels()).set(1)

    def track_readiness(self, unready_reason: Callable[[], str | None]) -> None:
        """`ready` follows `unready_reason()` at each scrape."""
        self.ready.set_function(lambda: 0.0 if unready_reason() is not None else 1.0)

    def track_site_index(self, site: str, objects: Callable[[], float], age: Callable[[], float]) -> None:
        """The site index's size and age follow `objects()` and `age()` at each scrape."""
        self.site_index_objects.labels(site=site).set_function(objects)
        self.site_index_age_seconds.labels(site=site).set_function(age)

    def count_aws_error(self, service: str, code: str) -> None:
        """One failed AWS call (the clients' error hook calls this: see watcher/awserrors.py)."""
        self.aws_errors.labels(service=service, code=code).inc()

    def start_series(self, *, distributions: Iterable[str], sources: Iterable[str]) -> None:
        """Create the label children the daemon will use, at 0, before the first event.

        A series that appears only with its first increment breaks `rate()` and
        `absent()` alerts and leaves dashboards empty on a quiet day.
        """
        for source in sources:
            for outcome in ("accepted", "ignored", "rejected", "unchanged"):
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
            self.billed_paths.labels(distribution=dist)
            self.collateral_objects.labels(distribution=dist)
            self.month_billed_paths.labels(distribution=dist)
            self.pending_paths.labels(distribution=dist)
            self.invalidations_in_progress.labels(distribution=dist)
            self.last_invalidation.labels(distribution=dist)
            self.invalidation_completion.labels(distribution=dist)
