"""Cost strategies end to end: the site index, the cheapest cover, the bill, on moto over HTTP."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from tests.support.site import make_stack, running_watcher, settings_for
from tests.support.waiting import wait_until
from watcher.app import Watcher

ASSETS = {f"assets/app-{i:02}.js": f"v{i}" for i in range(12)}
DOCS = {f"docs/p{i:02}.html": f"<p>{i}</p>" for i in range(40)}


@pytest.fixture(autouse=True)
def _endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _metric(watcher: Watcher, name: str, distribution: str) -> float:
    value = watcher.metrics.registry.get_sample_value(name, {"distribution": distribution})
    return value or 0.0


def test_balanced_purges_a_fully_changed_directory_and_keeps_a_few_pages_exact(moto_server: str) -> None:
    # GIVEN a site of 12 assets and 40 docs pages, and a watcher with the balanced strategy
    stack = make_stack(moto_server, bucket="cost-balanced", queue="cost-balanced")
    stack.deploy({**ASSETS, **DOCS})
    stack.sqs.purge_queue(QueueUrl=stack.queue_url)
    settings = settings_for(stack, invalidation={"strategy": "balanced", "max_paths_per_request": 100})
    with running_watcher(settings) as watcher:
        assert watcher.indexer is not None
        index = watcher.indexer.distribution_index(stack.distribution_id)
        wait_until(lambda: index.ready, 30, what="the site index is listed")
        assert len(index) == 52
        # WHEN every asset and 3 of the 40 pages are deployed again
        stack.deploy({**ASSETS, **dict(list(DOCS.items())[:3])})
        wait_until(stack.invalidations, 30, what="an invalidation")
        # THEN one wildcard for the assets (nothing else purged) and the 3 pages exact
        (invalidation,) = stack.invalidations()
        pages = ["/docs/p00.html", "/docs/p01.html", "/docs/p02.html"]
        assert sorted(invalidation["paths"]) == ["/assets/*", *pages]
        # AND the bill is visible: 4 billed paths, no collateral, 4 paths this month
        dist = stack.distribution_id
        assert _metric(watcher, "cloudfront_watcher_billed_paths_total", dist) == 4
        assert _metric(watcher, "cloudfront_watcher_collateral_objects_total", dist) == 0
        wait_until(lambda: _metric(watcher, "cloudfront_watcher_month_billed_paths", dist) == 4, 10)


def test_the_month_bill_is_rebuilt_from_cloudfront_at_start(moto_server: str) -> None:
    # GIVEN a distribution with two invalidations this month (3 paths), made before the watcher started
    stack = make_stack(moto_server, bucket="cost-bill", queue="cost-bill")
    for ref, paths in (("a", ["/x", "/y"]), ("b", ["/z/*"])):
        stack.cloudfront.create_invalidation(
            DistributionId=stack.distribution_id,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": ref},
        )
    # WHEN the watcher starts
    with running_watcher(settings_for(stack)) as watcher:
        # THEN the month's billed paths are counted from CloudFront
        wait_until(
            lambda: _metric(watcher, "cloudfront_watcher_month_billed_paths", stack.distribution_id) == 3, 15
        )


def test_without_an_index_the_plan_stays_exact(moto_server: str) -> None:
    # GIVEN the default strategy: no site index is kept
    stack = make_stack(moto_server, bucket="cost-exact", queue="cost-exact")
    watcher = Watcher(settings_for(stack), registry=CollectorRegistry(), serve_http=False)
    assert watcher.indexer is None
    assert watcher.invalidator.strategy(stack.distribution_id).name == "exact"
