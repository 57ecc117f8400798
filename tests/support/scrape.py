"""THEN helpers: GET the watcher's HTTP endpoints over real HTTP, parse /metrics, wait for a condition."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

# The contract's names (CONTRACT.md, "HTTP endpoints") and the labels each must carry.
CONTRACT_METRICS: dict[str, tuple[str, ...]] = {
    "cloudfront_watcher_events": ("source", "outcome"),
    "cloudfront_watcher_sqs_messages": ("outcome",),
    "cloudfront_watcher_invalidations": ("distribution", "outcome"),
    "cloudfront_watcher_invalidation_paths": ("distribution",),
    "cloudfront_watcher_pending_paths": ("distribution",),
    "cloudfront_watcher_invalidations_in_progress": ("distribution",),
    "cloudfront_watcher_event_to_invalidation_seconds": (),
    "cloudfront_watcher_invalidation_request_seconds": (),
    "cloudfront_watcher_retries": ("reason",),
    "cloudfront_watcher_aws_errors": ("service", "code"),
    "cloudfront_watcher_last_event_timestamp_seconds": (),
    "cloudfront_watcher_last_invalidation_timestamp_seconds": ("distribution",),
    "cloudfront_watcher_build_info": ("version",),
}


@dataclass(frozen=True)
class Answer:
    """One HTTP answer."""

    status: int
    content_type: str
    body: str


def get(url: str, accept: str | None = None) -> Answer:
    """GET `url`; 4xx/5xx are answers too (never raises on status)."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return Answer(response.status, response.headers["Content-Type"], response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers["Content-Type"], error.read().decode())


def samples(text: str) -> list[Sample]:
    """Every sample of a Prometheus text exposition (parsed by prometheus_client's own parser)."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    return sum(s.value for s in samples(text) if s.name == name and labels.items() <= s.labels.items())
