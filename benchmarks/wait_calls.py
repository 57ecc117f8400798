"""AWS calls per minute of `watcher wait` on a 10,000-object site (`--objects`), in the embedded emulator.

    .venv/bin/python -m benchmarks.wait_calls [--objects N] [--complete-after S] [--interval S]

The objects are seeded straight into moto's in-process backend (10,000 PUTs over
HTTP take minutes in moto); a deploy of all of them is "invalidated" by three
wildcard invalidations that the strict CloudFront stand-in keeps InProgress for
`--complete-after` seconds. `wait` runs for real over HTTP and its AWS calls are
counted by operation: the one-time listing, then the calls per minute while it
waits, and how long after Completed it returned.
"""

from __future__ import annotations

import argparse
import io
import re
import time
from datetime import UTC, datetime, timedelta

import boto3

from tests.support.cloudfront_proxy import StrictCloudFront
from watcher.commands.demo.emulator import create_distribution, embedded_emulator, environment
from watcher.commands.wait.coverage import KnownInvalidation, assess, needed_paths
from watcher.commands.wait.listing import ChangedObject
from watcher.commands.wait.progress import PlainProgress
from watcher.commands.wait.run import run_wait
from watcher.core.config import Settings, SiteSettings
from watcher.core.routing import Router

_BUCKET = "bench-site"


def _seed(objects: int) -> None:
    from moto.s3.models import s3_backends  # noqa: PLC0415 - the emulator runs in this process

    backend = s3_backends["123456789012"]["global"]
    for i in range(objects):
        key = f"docs/{i // 100}/index.html" if i % 100 == 0 else f"docs/{i // 100}/asset{i}.js"
        backend.put_object(_BUCKET, key, b"x")


def _look_cost(objects: int, invalidations: int = 100) -> None:
    """CPU of one coverage check of every path still pending against many invalidations."""
    since = datetime.now(UTC)
    router = Router([SiteSettings(bucket=_BUCKET, distribution_id="EBENCH")])
    keys = [f"docs/{i // 100}/asset{i}.js" for i in range(objects)]
    needed, _ = needed_paths(router, [ChangedObject(_BUCKET, key, since) for key in keys])
    known = [
        KnownInvalidation(
            f"I{n}", since, "InProgress", (*(f"/other/{n}/{j}" for j in range(100)), f"/other/{n}/*")
        )
        for n in range(invalidations)
    ]
    started = time.perf_counter()
    assess(needed, {"EBENCH": known})
    elapsed = time.perf_counter() - started
    print(
        f"one look, {len(needed)} pending paths x {invalidations} invalidations: {elapsed * 1000:.0f} ms CPU"
    )


def main() -> None:
    """Seed, invalidate with three wildcards, wait; print calls and timings."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--complete-after", type=float, default=120.0)
    parser.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args()
    with embedded_emulator() as endpoint:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=_BUCKET)
        since = datetime.now(UTC) - timedelta(seconds=2)
        _seed(args.objects)
        distribution_id = create_distribution(boto3.client("cloudfront"), _BUCKET)
        with (
            StrictCloudFront(endpoint, complete_after=args.complete_after) as cloudfront,
            environment({"AWS_ENDPOINT_URL_CLOUDFRONT": cloudfront.url}),
        ):
            client = boto3.client("cloudfront")
            time.sleep(1.1)  # created in a later second than every object's LastModified
            for n, wildcard in enumerate(("/docs/1*", "/docs/2*", "/docs/*")):
                client.create_invalidation(
                    DistributionId=distribution_id,
                    InvalidationBatch={
                        "Paths": {"Quantity": 1, "Items": [wildcard]},
                        "CallerReference": f"b{n}",
                    },
                )
            completes_at = cloudfront.invalidations[-1].started_at + args.complete_after
            settings = Settings.model_validate(
                {
                    "watcher": {"sources": ["poll"]},
                    "sites": [{"bucket": _BUCKET, "distribution_id": distribution_id}],
                }
            )
            out, err = io.StringIO(), io.StringIO()
            started = time.monotonic()
            code = run_wait(
                settings,
                since=since,
                timeout=args.complete_after + 5 * args.interval,
                interval=args.interval,
                out=out,
                err=err,
                progress=PlainProgress(err, every=60),
            )
            returned = time.monotonic()
    calls = {name: int(n) for name, n in re.findall(r"(\w+) (\d+)", out.getvalue().split("AWS calls:")[-1])}
    listing = calls.get("ListObjectsV2", 0) + calls.get("GetBucketVersioning", 0)
    following = calls.get("ListInvalidations", 0) + calls.get("GetInvalidation", 0)
    minutes = (returned - started) / 60
    print(f"objects={args.objects} interval={args.interval:g}s exit={code}")
    print(out.getvalue().strip())
    print(f"listing (at the start, and again before live): {listing} calls")
    print(
        f"while waiting: {following} CloudFront calls over {minutes:.2f} min = "
        f"{following / minutes:.1f} calls/min; all calls {(listing + following) / minutes:.1f}/min"
    )
    print(f"returned {returned - completes_at:.2f} s after the last invalidation Completed")
    _look_cost(args.objects)


if __name__ == "__main__":
    main()
