"""What the demos print: the invalidations made, and how they end."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["finish", "print_invalidations", "start_watcher", "wait_for_invalidation"]


def start_watcher(sections: dict[str, Any]) -> tuple[Any, threading.Thread]:
    """The watcher on the demo's settings (quiet console logs, HTTP on a free loopback port), running."""
    from watcher.app import Watcher  # noqa: PLC0415
    from watcher.core.config import Settings  # noqa: PLC0415

    quiet = {"log_level": "warning", "log_format": "console"}
    data = {
        **sections,
        "watcher": {**quiet, **sections.get("watcher", {})},
        "http": {"listen": "127.0.0.1:0"},
    }
    watcher = Watcher(Settings.model_validate(data))
    runner = threading.Thread(target=watcher.run, name="watcher", daemon=True)
    runner.start()
    assert watcher.http is not None  # noqa: S101 - constructed with serve_http
    return watcher, runner


def finish(watcher: Any, runner: threading.Thread, *, keep_running: bool) -> None:
    """With --keep-running, serve until Ctrl-C; then stop the watcher and let it drain."""
    if keep_running:
        print("serving /metrics until Ctrl-C ...")
        try:
            while runner.is_alive():
                runner.join(1)
        except KeyboardInterrupt:
            pass
    watcher.stop.set()
    runner.join(30)


def invalidated_paths(cloudfront: CloudFrontClient, distribution_id: str) -> set[str]:
    paths: set[str] = set()
    listing = cloudfront.list_invalidations(DistributionId=distribution_id)
    for item in listing.get("InvalidationList", {}).get("Items", []):
        detail = cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
        paths.update(detail["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", []))
    return paths


def wait_for_invalidation(
    cloudfront: CloudFrontClient, distribution_id: str, expected: set[str], *, timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        paths = invalidated_paths(cloudfront, distribution_id)
        if expected <= paths or "/*" in paths:
            return True
        time.sleep(0.5)
    return False


def print_invalidations(cloudfront: CloudFrontClient, distribution_id: str) -> None:
    listing = cloudfront.list_invalidations(DistributionId=distribution_id)
    items = listing.get("InvalidationList", {}).get("Items", [])
    print(f"invalidations on {distribution_id}: {len(items)}")
    for item in items:
        detail = cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
        batch = detail["Invalidation"]["InvalidationBatch"]
        print(f"  {item['Id']} ({item['Status']}), caller reference {batch['CallerReference']}:")
        for path in batch["Paths"].get("Items", []):
            print(f"    {path}")


def print_cost_report(settings: Any, bucket: str, keys: list[str], registry: Any) -> None:
    """The cost line of the demo deploy, then `watcher cost` and `watcher explain --deploy` on it."""
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from watcher.commands.cost import (  # noqa: PLC0415
        DEFAULT_PRICE,
        billable_cost,
        money,
        past_free_tier,
        print_cost,
    )
    from watcher.commands.explain_deploy import explain_deploy  # noqa: PLC0415

    dist = settings.sites[0].distribution_id
    labels = {"distribution": dist}
    billed = int(registry.get_sample_value("cloudfront_watcher_billed_paths_total", labels) or 0)
    purged = registry.get_sample_value("cloudfront_watcher_collateral_objects_total", labels)
    month = int(registry.get_sample_value("cloudfront_watcher_month_billed_paths", labels) or billed)
    # Only the paths past the month's free 1,000 cost anything (the month includes this deploy).
    charged = past_free_tier(billed, month)
    print(
        f"cost of this deploy: {billed} billed paths, {purged or 0:.0f} unchanged objects purged"
        f" (strategy {settings.invalidation.strategy}); {month} paths this month, {charged} of this"
        f" deploy's past the free 1,000: {money(billable_cost(charged, DEFAULT_PRICE))}"
    )
    print("$ watcher cost")
    print_cost(settings, month=None, price=DEFAULT_PRICE)
    with tempfile.TemporaryDirectory() as folder:
        deploy = Path(folder) / "deploy.txt"
        deploy.write_text("".join(f"s3://{bucket}/{key}\n" for key in keys), encoding="utf-8")
        print("$ watcher explain --deploy deploy.txt")
        print(explain_deploy(settings, str(deploy)))
