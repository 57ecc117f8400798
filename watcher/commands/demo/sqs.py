"""`watcher demo`: the whole loop on one machine, no AWS account, no Docker.

An embedded AWS emulator (moto's server) on loopback, a bucket wired to a
queue by a bucket notification, a distribution, the watcher itself, a
simulated deploy, and a printout of what was invalidated.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from watcher.commands.demo.emulator import (
    DEMO_SITE,
    create_distribution,
    embedded_emulator,
    wire_bucket_to_queue,
)
from watcher.commands.demo.report import (
    finish,
    print_cost_report,
    print_invalidations,
    start_watcher,
    wait_for_invalidation,
)

__all__ = ["run_sqs_demo"]


def run_sqs_demo(*, keep_running: bool = False) -> int:
    """Run the SQS demo; 0 when the simulated deploy was invalidated."""
    import boto3  # noqa: PLC0415

    from watcher.ops.logging import configure_logging  # noqa: PLC0415

    configure_logging("warning", "console")
    with embedded_emulator() as endpoint:
        print(f"embedded AWS emulator (moto) at {endpoint}")
        s3, sqs, cloudfront = boto3.client("s3"), boto3.client("sqs"), boto3.client("cloudfront")
        bucket = "demo-site"
        queue_url = wire_bucket_to_queue(s3, sqs, bucket, "site-changes")
        # Versioned: a write with the same content as the version before it is no change.
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        distribution_id = create_distribution(cloudfront, bucket)
        print(f"bucket s3://{bucket} (versioned) -> queue {queue_url} -> distribution {distribution_id}")
        watcher, runner = start_watcher(
            {
                "sqs": {"queue_url": queue_url, "wait_time_seconds": 1},
                "invalidation": {"quiet_period_seconds": 1, "max_delay_seconds": 10},
                "sites": [{"bucket": bucket, "distribution_id": distribution_id}],
            }
        )
        print(f"watcher running; metrics at {watcher.http.url}/metrics")
        since = datetime.now(UTC)  # what a CI job records before `aws s3 sync`
        print(f"deploying {len(DEMO_SITE)} files ...")
        for key, body in DEMO_SITE.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="text/html")
        expected = {
            "/index.html",
            "/",
            "/about/index.html",
            "/about/",
            "/blog/2026/hello%20world.html",
        }
        ok = wait_for_invalidation(cloudfront, distribution_id, expected, timeout=30)
        print_invalidations(cloudfront, distribution_id)
        _print_counters(watcher)
        ok = _wait_for_live(watcher.settings, since) == 0 and ok
        print_cost_report(watcher.settings, bucket, list(DEMO_SITE), watcher.metrics.registry)
        ok = _second_deploy(s3, cloudfront, bucket, watcher) and ok
        finish(watcher, runner, keep_running=keep_running and ok)
    print("demo OK: the deploy was invalidated" if ok else "demo FAILED: the deploy was not invalidated")
    return 0 if ok else 1


def _second_deploy(s3: Any, cloudfront: Any, bucket: str, watcher: Any) -> bool:
    """A CI-style redeploy: every file uploaded again, one of them edited; one path (and its directory)."""
    distribution_id = watcher.settings.sites[0].distribution_id
    before = {item["Id"] for item in _invalidations(cloudfront, distribution_id)}
    edited = "about/index.html"
    count = len(DEMO_SITE)
    print(f"deploying again: all {count} files re-uploaded (a fresh CI checkout), only {edited} edited ...")
    for key, body in {**DEMO_SITE, edited: "<h1>About us</h1>"}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="text/html")
    deadline = time.monotonic() + 30
    new: list[dict[str, Any]] = []
    while not new and time.monotonic() < deadline:
        new = [item for item in _invalidations(cloudfront, distribution_id) if item["Id"] not in before]
        time.sleep(0.5)
    paths: set[str] = set()
    for item in new:
        detail = cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
        paths.update(detail["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", []))
    labels = {"source": "sqs", "outcome": "unchanged"}
    unchanged = watcher.metrics.registry.get_sample_value("cloudfront_watcher_events_total", labels) or 0
    print(f"  invalidated: {', '.join(sorted(paths)) or 'nothing'}")
    print(
        f"  {unchanged:.0f} of {len(DEMO_SITE)} writes unchanged: each has the same bytes and headers as the"
        " version before it in S3, so the edge already serves it (README: What counts as a change)"
    )
    return paths == {f"/{edited}", "/about/"} and unchanged == len(DEMO_SITE) - 1


def _invalidations(cloudfront: Any, distribution_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cloudfront.list_invalidations(DistributionId=distribution_id)[
        "InvalidationList"
    ].get("Items", [])
    return items


def _wait_for_live(settings: Any, since: datetime) -> int:
    """What a CI job runs after its deploy: `watcher wait --since TIME`."""
    from watcher.commands.wait.run import run_wait  # noqa: PLC0415

    print(f"watcher wait --since {since.isoformat()} --interval 1 --timeout 30 ...")
    code = run_wait(settings, since=since, timeout=30, interval=1)
    print(f"watcher wait exited {code} ({'the deploy is live' if code == 0 else 'not live'})")
    return code


_EXCERPT = (
    "cloudfront_watcher_sqs_messages_total",
    "cloudfront_watcher_events_total",
    "cloudfront_watcher_invalidations_total",
    "cloudfront_watcher_invalidation_paths_total",
    "cloudfront_watcher_billed_paths_total",
    "cloudfront_watcher_month_billed_paths",
    "cloudfront_watcher_invalidations_in_progress",
    "cloudfront_watcher_event_to_invalidation_seconds_count",
    "cloudfront_watcher_event_to_invalidation_seconds_sum",
    "cloudfront_watcher_last_invalidation_timestamp_seconds",
)


def _print_counters(watcher: Any) -> None:
    """A real /metrics excerpt, fetched over HTTP the way Prometheus scrapes it."""
    import urllib.request  # noqa: PLC0415

    registry = watcher.metrics.registry
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the deletes follow the invalidation by a tick
        received = registry.get_sample_value("cloudfront_watcher_sqs_messages_total", {"outcome": "received"})
        deleted = registry.get_sample_value("cloudfront_watcher_sqs_messages_total", {"outcome": "deleted"})
        if received and received == deleted:
            break
        time.sleep(0.1)
    url = f"{watcher.http.url}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the demo's own loopback server
        text = response.read().decode()
    print(f"live counters (GET {url}, excerpt):")
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in _EXCERPT and not line.endswith(" 0.0"):
            print(f"  {line}")
    sys.stdout.flush()
