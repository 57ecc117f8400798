"""The month's billed paths: our invalidations counted once, a new month from zero."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
from prometheus_client import CollectorRegistry

from tests.support.clock import FakeClock
from watcher.cloudfront.bill import MonthlyBill, month_of
from watcher.core.config import SiteSettings
from watcher.ops.metrics import Metrics


def test_a_retry_counts_once_and_a_new_month_starts_from_zero() -> None:
    # GIVEN the last day of November (the client is never called: nothing is rebuilt here)
    november = datetime(2026, 11, 30, 23, 0, tzinfo=UTC).timestamp()
    clock = FakeClock(wall=november)
    metrics = Metrics(CollectorRegistry())
    client = boto3.client("cloudfront", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    site = SiteSettings(bucket="site", distribution_id="E1")
    bill = MonthlyBill(client, [site], clock=clock, metrics=metrics)

    def month_paths() -> float | None:
        name = "cloudfront_watcher_month_billed_paths"
        return metrics.registry.get_sample_value(name, {"distribution": "E1"})

    # WHEN an invalidation of 3 paths is recorded, and again (a retry answered with the same id)
    bill.record("E1", "I1", 3)
    bill.record("E1", "I1", 3)
    # THEN 3 paths this month
    assert month_of(clock.time()) == "2026-11"
    assert month_paths() == 3
    # WHEN December starts and a 2-path invalidation is accepted THEN the month counts 2
    clock.advance(2 * 3600)
    bill.record("E1", "I2", 2)
    assert month_of(clock.time()) == "2026-12"
    assert month_paths() == 2
