"""`watcher demo --poll`: poll mode on one machine, no AWS account, no Docker.

A bucket with no notification at all (the reason poll mode exists), a
distribution, the watcher polling every two seconds: its first cycle takes a
baseline, then index.html is overwritten and the next cycle invalidates
/index.html and /.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from watcher.commands.demo.emulator import DEMO_SITE, create_distribution, embedded_emulator
from watcher.commands.demo.report import finish, print_invalidations, start_watcher, wait_for_invalidation

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["run_poll_demo"]

_INTERVAL_SECONDS = 2


def run_poll_demo(*, keep_running: bool = False) -> int:
    """Run the poll demo; 0 when the overwritten index.html was invalidated."""
    import boto3  # noqa: PLC0415

    from watcher.ops.logging import configure_logging  # noqa: PLC0415

    configure_logging("warning", "console")
    with embedded_emulator() as endpoint:
        print(f"embedded AWS emulator (moto) at {endpoint}")
        s3, cloudfront = boto3.client("s3"), boto3.client("cloudfront")
        bucket = "demo-site"
        s3.create_bucket(Bucket=bucket)
        for key, body in DEMO_SITE.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="text/html")
        distribution_id = create_distribution(cloudfront, bucket)
        print(f"bucket s3://{bucket} ({len(DEMO_SITE)} files, no notification) -> {distribution_id}")
        watcher, runner = start_watcher(
            {
                "watcher": {"sources": ["poll"]},
                "poll": {"interval_seconds": _INTERVAL_SECONDS},
                "invalidation": {"quiet_period_seconds": 0, "max_delay_seconds": 10},
                "sites": [{"bucket": bucket, "distribution_id": distribution_id}],
            }
        )
        assert watcher.poll is not None  # noqa: S101 - "poll" is the configured source
        print(f"watcher polling every {_INTERVAL_SECONDS}s, watch {list(watcher.settings.poll.watch)}")
        print(f"metrics at {watcher.http.url}/metrics")
        ok = _wait(lambda: watcher.poll is not None and watcher.poll.last_cycle is not None, 15)
        first = watcher.poll.last_cycle
        if first is not None:
            print(f"first cycle: {first.outcome}, {first.watched_keys} watched keys, {first.list_calls} List")
        print("overwriting index.html ...")
        s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>Home, v2</h1>", ContentType="text/html")
        ok = ok and wait_for_invalidation(cloudfront, distribution_id, {"/index.html", "/"}, timeout=30)
        print_invalidations(cloudfront, distribution_id)
        _print_counters(watcher.metrics.registry)
        finish(watcher, runner, keep_running=keep_running and ok)
    print("demo OK: the change was found and invalidated" if ok else "demo FAILED: no invalidation")
    return 0 if ok else 1


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _print_counters(registry: CollectorRegistry) -> None:
    print("live counters:")
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name in (
                "cloudfront_watcher_poll_cycles_total",
                "cloudfront_watcher_poll_list_calls_total",
                "cloudfront_watcher_invalidation_paths_total",
            ) and (sample.value or sample.name != "cloudfront_watcher_poll_cycles_total"):
                shown = ",".join(f'{k}="{v}"' for k, v in sample.labels.items())
                print(f"  {sample.name}{{{shown}}} {sample.value:g}")
