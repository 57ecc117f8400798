"""`watcher demo`: the whole loop on one machine, no AWS account, no Docker.

An embedded AWS emulator (moto's server) on loopback, a bucket wired to a
queue by a bucket notification, a distribution, the watcher itself, a
simulated deploy, and a printout of what was invalidated.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import EventType
    from mypy_boto3_sqs import SQSClient

__all__ = ["create_distribution", "embedded_emulator", "environment", "run_demo", "wire_bucket_to_queue"]

DEMO_SITE = {
    "index.html": "<h1>Home</h1>",
    "about/index.html": "<h1>About</h1>",
    "blog/2026/hello world.html": "<h1>Hello</h1>",
    "assets/app.js": "console.log('v2')",
    "assets/style.css": "body{}",
    "assets/img/logo.svg": "<svg/>",
}
_REGION = "us-east-1"


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` set, restored afterwards (boto3 reads endpoints from it)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def embedded_emulator() -> Iterator[str]:
    """moto's server on 127.0.0.1 (random port), with the environment pointed at it."""
    try:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise SystemExit(
            "watcher demo needs the embedded emulator: pip install 'cloudfront-watcher[demo]'"
        ) from exc
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the demo's screen
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    values = {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_DEFAULT_REGION": _REGION,
        "AWS_REGION": _REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    try:
        with environment(values):
            yield url
    finally:
        server.stop()


def wire_bucket_to_queue(
    s3: S3Client,
    sqs: SQSClient,
    bucket: str,
    queue_name: str,
    events: Sequence[EventType] = ("s3:ObjectCreated:*", "s3:ObjectRemoved:*"),
) -> str:
    """Bucket + standard queue + queue policy + notification; returns the queue URL."""
    s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": list(events)}]},
    )
    return queue_url


def create_distribution(cloudfront: CloudFrontClient, bucket: str) -> str:
    """A minimal distribution in front of the bucket. Returns its id."""
    origin_id = f"s3-{bucket}"
    config: Any = {
        "CallerReference": f"demo-{bucket}-{time.time_ns()}",
        "Comment": f"cloudfront-watcher demo for {bucket}",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": origin_id,
                    "DomainName": f"{bucket}.s3.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": origin_id,
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
    }
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


def run_demo(*, poll: bool = False, keep_running: bool = False) -> int:
    """Run the demo; 0 when the simulated deploy was invalidated."""
    import boto3  # noqa: PLC0415

    from watcher.app import Watcher  # noqa: PLC0415
    from watcher.config import Settings  # noqa: PLC0415
    from watcher.logging import configure_logging  # noqa: PLC0415

    if poll:
        from watcher.demo_poll import run_poll_demo  # noqa: PLC0415

        return run_poll_demo(keep_running=keep_running)

    configure_logging("warning", "console")
    with embedded_emulator() as endpoint:
        print(f"embedded AWS emulator (moto) at {endpoint}")
        s3 = boto3.client("s3")
        sqs = boto3.client("sqs")
        cloudfront = boto3.client("cloudfront")
        bucket = "demo-site"
        queue_url = wire_bucket_to_queue(s3, sqs, bucket, "site-changes")
        distribution_id = create_distribution(cloudfront, bucket)
        print(f"bucket s3://{bucket} -> queue {queue_url} -> distribution {distribution_id}")
        settings = Settings.model_validate(
            {
                "watcher": {"log_level": "warning", "log_format": "console"},
                "http": {"listen": "127.0.0.1:0"},
                "sqs": {"queue_url": queue_url, "wait_time_seconds": 1},
                "invalidation": {"quiet_period_seconds": 1, "max_delay_seconds": 10},
                "sites": [{"bucket": bucket, "distribution_id": distribution_id}],
            }
        )
        watcher = Watcher(settings)
        runner = threading.Thread(target=watcher.run, name="watcher", daemon=True)
        runner.start()
        assert watcher.http is not None  # noqa: S101 - constructed with serve_http
        print(f"watcher running; metrics at {watcher.http.url}/metrics")
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
        ok = _wait_for_invalidation(cloudfront, distribution_id, expected, timeout=30)
        _print_invalidations(cloudfront, distribution_id)
        _print_counters(watcher)
        finish(watcher, runner, keep_running=keep_running and ok)
    print("demo OK: the deploy was invalidated" if ok else "demo FAILED: the deploy was not invalidated")
    return 0 if ok else 1


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


def _invalidated_paths(cloudfront: CloudFrontClient, distribution_id: str) -> set[str]:
    paths: set[str] = set()
    listing = cloudfront.list_invalidations(DistributionId=distribution_id)
    for item in listing.get("InvalidationList", {}).get("Items", []):
        detail = cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
        paths.update(detail["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", []))
    return paths


def _wait_for_invalidation(
    cloudfront: CloudFrontClient, distribution_id: str, expected: set[str], *, timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        paths = _invalidated_paths(cloudfront, distribution_id)
        if expected <= paths or "/*" in paths:
            return True
        time.sleep(0.5)
    return False


def _print_invalidations(cloudfront: CloudFrontClient, distribution_id: str) -> None:
    listing = cloudfront.list_invalidations(DistributionId=distribution_id)
    items = listing.get("InvalidationList", {}).get("Items", [])
    print(f"invalidations on {distribution_id}: {len(items)}")
    for item in items:
        detail = cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
        batch = detail["Invalidation"]["InvalidationBatch"]
        print(f"  {item['Id']} ({item['Status']}), caller reference {batch['CallerReference']}:")
        for path in batch["Paths"].get("Items", []):
            print(f"    {path}")


_EXCERPT = (
    "cloudfront_watcher_sqs_messages_total",
    "cloudfront_watcher_events_total",
    "cloudfront_watcher_invalidations_total",
    "cloudfront_watcher_invalidation_paths_total",
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
