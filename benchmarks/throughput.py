"""Throughput: `watcher run --once` versus a bare receive + batch-delete loop, same emulator, same run."""

from __future__ import annotations

import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.emulator import BUCKET, clients, fresh_target, queue_depth
from benchmarks.process import Measured, run_measured
from benchmarks.publisher import Publisher, run_keys
from tests.support.fault_proxy import FaultProxy
from tests.support.site import WATCHER_BIN, config_toml, watcher_env
from watcher.core.config import Settings
from watcher.core.planning import InvalidationPlan
from watcher.core.routing import Router

WAIT_SECONDS = 1  # both consumers stop at their first empty 1 s long poll


@dataclass
class Drain:
    """One consumer draining one queue."""

    consumer: str
    records: int
    messages: int
    measured: Measured
    receives: int
    deletes: int
    visibility_calls: int
    uncovered: int  # changes without a covering invalidation (watcher only; -1: not checked)

    @property
    def rate(self) -> float:
        """Messages per second, process start to exit."""
        return self.messages / self.measured.wall_seconds

    @property
    def calls_per_message(self) -> float:
        """(ReceiveMessage + DeleteMessageBatch) / messages."""
        return (self.receives + self.deletes) / self.messages

    @property
    def changes(self) -> int:
        """S3 records drained."""
        return self.messages * self.records


def watcher_settings(queue_url: str, distribution_id: str, **invalidation: Any) -> Settings:
    """The watcher as a user would run it for a bulk drain: short quiet period, 1 s long poll."""
    return Settings.model_validate(
        {
            "watcher": {"log_level": "info", "log_format": "json", "shutdown_timeout_seconds": 25},
            "http": {"listen": "127.0.0.1:0"},
            "sqs": {"queue_url": queue_url, "wait_time_seconds": WAIT_SECONDS},
            "invalidation": {"quiet_period_seconds": 0.2, "max_delay_seconds": 1.0, **invalidation},
            "sites": [{"bucket": BUCKET, "distribution_id": distribution_id}],
        }
    )


def drain(endpoint: str, proxy: FaultProxy, *, consumer: str, records: int, messages: int, run: str) -> Drain:
    """Publish `messages` (keeping a moderate backlog) while `consumer` drains them."""
    target = fresh_target(endpoint, run)
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{run}-"))
    env = watcher_env(endpoint, AWS_ENDPOINT_URL_SQS=proxy.url)
    if consumer == "watcher":
        config = workdir / "config.toml"
        config.write_text(config_toml(watcher_settings(target.queue_url, target.distribution_id)))
        args = [WATCHER_BIN, "run", "--once", "--config", str(config), "--max-seconds", "900"]
    else:
        args = [sys.executable, "-m", "benchmarks.bare", target.queue_url, str(WAIT_SECONDS)]
    publisher = Publisher(endpoint, target.queue_url, run, messages, records)
    publisher.prefill()
    before = {
        a: proxy.count(a) for a in ("ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch")
    }
    started = threading.Event()

    def publish_once_started() -> None:
        started.wait()
        publisher.start()

    threading.Thread(target=publish_once_started, daemon=True).start()
    measured, _ = run_measured(args, env=env, log=workdir / "stderr.log", started=started)
    publisher.join()
    counts = {a: proxy.count(a) - n for a, n in before.items()}
    left = queue_depth(endpoint, target.queue_url)
    if measured.exit_code != 0 or left:
        print(f"  ! {run}: exit {measured.exit_code}, {left} messages left (log: {workdir})", file=sys.stderr)
    uncovered = -1
    if consumer == "watcher":
        uncovered = _uncovered(endpoint, target.distribution_id, run, messages, records)
    return Drain(
        consumer,
        records,
        messages - left,
        measured,
        counts["ReceiveMessage"],
        counts["DeleteMessageBatch"],
        counts["ChangeMessageVisibilityBatch"],
        uncovered,
    )


def _uncovered(endpoint: str, distribution_id: str, run: str, messages: int, records: int) -> int:
    """How many published changes no accepted invalidation covers (must be 0)."""
    _, cloudfront = clients(endpoint)
    paths: list[str] = []
    listing = cloudfront.list_invalidations(DistributionId=distribution_id, MaxItems="1000")[
        "InvalidationList"
    ]
    for item in listing.get("Items", []):
        batch = cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
        paths.extend(batch["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", []))
    plan = InvalidationPlan(paths=tuple(sorted(set(paths))))
    router = Router(watcher_settings("https://sqs.us-east-1.amazonaws.com/1/q", distribution_id).sites)
    missing = 0
    for message in range(messages):
        for key in run_keys(run, message, records):
            (route,) = router.route(BUCKET, key).routes
            missing += not all(plan.covers(p) for p in route.paths)
    return missing
