"""The month's bill is the distribution's, whoever invalidated: every replica reports the same.

On the strict CloudFront stand-in (its invalidations are dated by the real clock, so the
replicas' fake clocks start in the real month, or just before it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3
import pytest
from prometheus_client import CollectorRegistry

from tests.support.clock import FakeClock
from tests.support.cloudfront_proxy import StrictCloudFront
from watcher.cloudfront.bill import REBUILD_SECONDS, MonthlyBill, month_usage
from watcher.commands.demo.emulator import create_distribution
from watcher.core.config import SiteSettings
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient


@pytest.fixture
def cloudfront(moto_server: str) -> Iterator[StrictCloudFront]:
    with StrictCloudFront(moto_server) as proxy:
        yield proxy


@pytest.fixture
def client(cloudfront: StrictCloudFront) -> CloudFrontClient:
    return boto3.client("cloudfront", endpoint_url=cloudfront.url, region_name="us-east-1")


def _invalidate(client: CloudFrontClient, dist: str, ref: str, paths: int) -> str:
    items = [f"/{ref}/{i}.html" for i in range(paths)]
    batch = {"Paths": {"Quantity": paths, "Items": items}, "CallerReference": ref}
    return client.create_invalidation(DistributionId=dist, InvalidationBatch=batch)["Invalidation"]["Id"]  # type: ignore[arg-type]


class _Replica:
    def __init__(self, client: CloudFrontClient, dist: str, wall: float) -> None:
        self.clock = FakeClock(wall=wall)
        self.metrics = Metrics(CollectorRegistry())
        site = SiteSettings(bucket="site", distribution_id=dist)
        self.bill = MonthlyBill(client, [site], clock=self.clock, metrics=self.metrics)
        self.dist = dist

    def month_paths(self) -> float | None:
        name = "cloudfront_watcher_month_billed_paths"
        return self.metrics.registry.get_sample_value(name, {"distribution": self.dist})


def test_two_replicas_both_report_the_distributions_true_month(client: CloudFrontClient) -> None:
    # GIVEN two replicas watching one distribution, both started (and rebuilt) on an empty month
    dist = create_distribution(client, "bill-replicas")
    a, b = _Replica(client, dist, time.time()), _Replica(client, dist, time.time())
    a.bill.rebuild()
    b.bill.rebuild()
    # WHEN replica a makes invalidations of 300 + 300 paths, replica b one of 400, people one of 200
    for ref, paths in (("a1", 300), ("a2", 300)):
        a.bill.record(dist, _invalidate(client, dist, ref, paths), paths)
    b.bill.record(dist, _invalidate(client, dist, "b1", 400), 400)
    _invalidate(client, dist, "people", 200)
    # THEN until the next rebuild each counts its own
    assert (a.month_paths(), b.month_paths()) == (600, 400)
    # WHEN the periodic rebuild comes round on each
    for replica in (a, b):
        replica.clock.advance(REBUILD_SECONDS)
        replica.bill.tick()
    # THEN both report the distribution's month: 1,200 paths (the max over replicas is right)
    assert (a.month_paths(), b.month_paths()) == (1200, 1200)


def test_a_new_month_is_rebuilt_at_once(client: CloudFrontClient) -> None:
    # GIVEN a replica whose clock is an hour before this (real) month, with 5 paths last month
    dist = create_distribution(client, "bill-roll")
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
    replica = _Replica(client, dist, start - 3600)
    replica.bill.record(dist, "I-last-month", 5)
    assert replica.month_paths() == 5
    # AND people invalidated 7 paths in the new month already
    _invalidate(client, dist, "people", 7)
    # WHEN the month rolls (two hours later) and the bill looks
    replica.clock.advance(2 * 3600)
    replica.bill.tick()
    # THEN the new month is rebuilt from CloudFront at once, not counted from zero
    assert replica.month_paths() == 7


def test_the_month_is_read_newest_first_down_to_its_start_and_no_further(
    cloudfront: StrictCloudFront, client: CloudFrontClient
) -> None:
    # GIVEN 250 invalidations last month (3 pages of ListInvalidations) and 5 this month
    dist = create_distribution(client, "bill-paging")
    this_month = datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    cloudfront.wall = lambda: this_month - timedelta(days=2)
    for i in range(250):
        _invalidate(client, dist, f"old{i}", 1)
    cloudfront.wall = lambda: this_month
    for i in range(5):
        _invalidate(client, dist, f"new{i}", 2)
    # WHEN this month is read
    lists = cloudfront.count("ListInvalidations")
    usage = month_usage(client, dist, this_month.strftime("%Y-%m"))
    # THEN 5 invalidations, 10 paths, complete, from one page: last month's are not paged through
    assert (usage.invalidations, usage.paths, usage.complete) == (5, 10, True)
    assert cloudfront.count("ListInvalidations") - lists == 1
    # AND last month, past the page cap of 2 pages, is said to be incomplete (a lower bound)
    last = month_usage(client, dist, (this_month - timedelta(days=2)).strftime("%Y-%m"), max_pages=2)
    assert (last.paths, last.complete) == (195, False)
