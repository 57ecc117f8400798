"""The content check's S3 lookups on moto over HTTP: replicas, expired versions, denials, a hung S3.

Each test builds the check with the watcher's own client factory (its timeouts, its
error counting) pointed at moto, or at the fault proxy in front of it, and sifts a
batch of writes as a flush would. Writes name their version as real S3's events do
(tests/support/versioned.py; moto's own notifications lack `versionId`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from tests.support.fault_proxy import FaultProxy, Request
from tests.support.versioned import VersionedSite, Written, versioned_site
from watcher.aws import ClientFactory
from watcher.commands.demo.emulator import environment
from watcher.core.batching import Batch
from watcher.core.clock import SystemClock
from watcher.ops.metrics import Metrics
from watcher.sources.content import ContentCheck


@pytest.fixture
def site(moto_server: str) -> VersionedSite:
    """GIVEN a versioned bucket with index.html v1 written."""
    site = versioned_site(moto_server)
    site.put("index.html", "<h1>v1</h1>", announce=False, ContentType="text/html")
    return site


def _check(endpoint: str, *, budget: float = 10.0) -> tuple[ContentCheck, Metrics]:
    metrics = Metrics(CollectorRegistry())
    with environment({"AWS_ENDPOINT_URL": endpoint}):
        factory = ClientFactory(on_error=metrics.count_aws_error, read_timeout=3)
        s3 = factory.s3()
    check = ContentCheck(lambda _bucket: s3, clock=SystemClock(), metrics=metrics, budget=budget)
    return check, metrics


def _sift(check: ContentCheck, site: VersionedSite, *writes: Written) -> list[bool]:
    """Start each write's lookup, then sift their batch as a flush does: True = unchanged."""
    changes = [check.start(site.change(written)) for written in writes]
    batch = Batch("E1", tuple((change, ("/" + change.key,)) for change in changes), first_seen=0.0)
    sifted = check.sift(batch)
    unchanged = {change.identity for change in sifted.unchanged}
    return [change.identity in unchanged for change in changes]


def _calls(metrics: Metrics, call: str) -> float:
    value = metrics.registry.get_sample_value("cloudfront_watcher_content_lookup_calls_total", {"call": call})
    return value or 0.0


def test_two_replicas_each_compare_their_own_version_with_the_one_before_it(site: VersionedSite) -> None:
    # GIVEN v2 (new bytes) and v3 (the same as v2), and two replicas
    v2 = site.put("index.html", "<h1>v2</h1>", announce=False, ContentType="text/html")
    v3 = site.put("index.html", "<h1>v2</h1>", announce=False, ContentType="text/html")
    first, _ = _check(site.stack.endpoint)
    second, _ = _check(site.stack.endpoint)
    # WHEN each replica receives one of the two events (v3's first)
    # THEN v3 is unchanged against v2 and v2 a change against v1, whoever sees which
    assert _sift(second, site, v3) == [True]
    assert _sift(first, site, v2) == [False]


def test_a_write_whose_previous_version_expired_is_a_change(site: VersionedSite) -> None:
    # GIVEN v2 identical to v1, and v1 expired (permanently deleted) before v2's event is handled
    v1_id = site.s3.list_object_versions(Bucket=site.stack.bucket, Prefix="index.html")["Versions"][0][
        "VersionId"
    ]
    v2 = site.put("index.html", "<h1>v1</h1>", announce=False, ContentType="text/html")
    site.s3.delete_object(Bucket=site.stack.bucket, Key="index.html", VersionId=v1_id)
    check, _ = _check(site.stack.endpoint)
    # WHEN v2 is compared, THEN with nothing before it, it is a change
    assert _sift(check, site, v2) == [False]


def test_an_identical_write_costs_one_listing_and_two_heads_and_a_new_one_one_head(
    site: VersionedSite,
) -> None:
    check, metrics = _check(site.stack.endpoint)
    same = site.put("index.html", "<h1>v1</h1>", announce=False, ContentType="text/html")
    assert _sift(check, site, same) == [True]
    assert (_calls(metrics, "ListObjectVersions"), _calls(metrics, "HeadObject")) == (1, 2)
    edited = site.put("index.html", "<h1>v3</h1>", announce=False, ContentType="text/html")
    assert _sift(check, site, edited) == [False]
    assert (_calls(metrics, "ListObjectVersions"), _calls(metrics, "HeadObject")) == (2, 3)
    # AND the next identical re-upload reads only its own version: the one before it was read already
    again = site.put("index.html", "<h1>v3</h1>", announce=False, ContentType="text/html")
    assert _sift(check, site, again) == [True]
    assert (_calls(metrics, "ListObjectVersions"), _calls(metrics, "HeadObject")) == (3, 4)


@pytest.fixture
def proxy(moto_server: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_server) as running:
        yield running


def _listing(request: Request) -> bool:
    return request.action == "ListObjectVersions"


def test_a_denied_listing_makes_the_write_a_change_and_is_counted(
    site: VersionedSite, proxy: FaultProxy
) -> None:
    # GIVEN an identical re-upload, and a role without s3:ListBucketVersions
    same = site.put("index.html", "<h1>v1</h1>", announce=False, ContentType="text/html")
    proxy.inject("denied", count=10, match=_listing)
    check, metrics = _check(proxy.url)
    # WHEN it is compared, THEN AccessDenied is a doubt: a change, and the error is counted
    assert _sift(check, site, same) == [False]
    denied = metrics.registry.get_sample_value(
        "cloudfront_watcher_aws_errors_total", {"service": "s3", "code": "AccessDenied"}
    )
    assert denied == 1


def test_s3_hanging_past_the_budget_makes_the_write_a_change_within_the_budget(
    site: VersionedSite, proxy: FaultProxy
) -> None:
    # GIVEN an identical re-upload, a check with a 1 s budget, and S3 that never answers a listing
    same = site.put("index.html", "<h1>v1</h1>", announce=False, ContentType="text/html")
    proxy.inject("hang", count=10, match=_listing)
    check, _ = _check(proxy.url, budget=1.0)
    # WHEN its flush sifts the batch
    started = time.monotonic()
    verdicts = _sift(check, site, same)
    waited = time.monotonic() - started
    proxy.release_hung()
    # THEN it is a change, and the flush waited no longer than the budget
    assert verdicts == [False]
    assert waited < 2.0


def test_lookups_of_a_burst_run_concurrently_and_each_write_gets_its_own_verdict(site: VersionedSite) -> None:
    # GIVEN 30 files deployed, then re-uploaded with 3 of them edited
    for i in range(30):
        site.put(f"page{i}.html", f"<p>{i}</p>", announce=False)
    writes = [
        site.put(f"page{i}.html", f"<p>{i}{'!' if i % 10 == 0 else ''}</p>", announce=False)
        for i in range(30)
    ]
    check, _ = _check(site.stack.endpoint)
    # WHEN the burst is sifted, THEN exactly the edited ones are changes
    verdicts = _sift(check, site, *writes)
    assert [i for i, same in enumerate(verdicts) if not same] == [0, 10, 20]
