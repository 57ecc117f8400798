"""List calls and wall time of one poll cycle over 10,000 objects, in the embedded emulator.

    .venv/bin/python -m benchmarks.poll_cycle [--objects N]

The objects are seeded straight into moto's in-process backend (10,000 PUTs
over HTTP take minutes in moto); the cycles' own calls go over HTTP. A bare
boto3 paginator over the same prefix, in the same run, shows what of the
time is the emulator's own (moto serialises ~1 ms per listed key; S3 is far
faster).
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

import boto3
from prometheus_client import CollectorRegistry

from watcher.commands.demo.emulator import embedded_emulator
from watcher.core.clock import SystemClock
from watcher.core.config import PollSettings, SiteSettings
from watcher.core.model import Change
from watcher.ops.metrics import Metrics
from watcher.sources.poll import PollSource

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_BUCKET = "bench-site"


def _seed(objects: int) -> int:
    from moto.s3.models import s3_backends  # noqa: PLC0415 - the emulator runs in this process

    backend = s3_backends["123456789012"]["global"]
    watched = 0
    for i in range(objects):
        # One directory in 100 has an index.html (watched); the rest are assets.
        key = f"docs/{i // 100}/index.html" if i % 100 == 0 else f"docs/{i // 100}/asset{i}.js"
        watched += key.endswith("index.html")
        backend.put_object(_BUCKET, key, b"x")
    return watched


def _bare_listing(s3: S3Client) -> None:
    started = time.perf_counter()
    pages = sum(1 for _ in s3.get_paginator("list_objects_v2").paginate(Bucket=_BUCKET))
    print(f"bare boto3 paginator, same emulator: pages={pages} wall={time.perf_counter() - started:.2f}s")


def main() -> None:
    """Seed, then time a bare listing, a baseline cycle, a comparing cycle, a bare listing."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10_000)
    args = parser.parse_args()
    with embedded_emulator():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=_BUCKET)
        watched = _seed(args.objects)
        changes: list[Change] = []
        metrics = Metrics(CollectorRegistry())
        poll = PollSource(
            s3,
            PollSettings(),
            [SiteSettings(bucket=_BUCKET, distribution_id="EBENCH")],
            clock=SystemClock(),
            metrics=metrics,
            on_change=changes.append,
        )
        print(f"{args.objects} objects, {watched} watched (index.html)")
        _bare_listing(s3)
        for label in ("baseline cycle", "comparing cycle"):
            started = time.perf_counter()
            result = poll.run_cycle()
            elapsed = time.perf_counter() - started
            print(
                f"{label}: outcome={result.outcome} list_calls={result.list_calls} "
                f"watched_keys={result.watched_keys} changes={result.changes} wall={elapsed:.2f}s"
            )
        _bare_listing(s3)


if __name__ == "__main__":
    main()
