"""The embedded AWS emulator of `watcher demo`: moto's server on loopback, a bucket
wired to a queue, a distribution in front of the bucket."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from watcher.arns import bucket_arn, parse_arn

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import EventType
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "DEMO_SITE",
    "create_distribution",
    "embedded_emulator",
    "environment",
    "faithful_versions",
    "wire_bucket_to_queue",
]

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
        with environment(values), faithful_versions():
            yield url
    finally:
        server.stop()


@contextmanager
def faithful_versions() -> Iterator[None]:
    """moto's S3 notifications with the `versionId` real S3 puts in each record of a versioned bucket.

    moto leaves it out, so without this every write of the demo would look like a change
    (no version to compare). In-process only, and undone at exit.
    """
    from moto.s3 import notifications  # noqa: PLC0415 - optional extra

    original = notifications._get_s3_event  # the one place moto builds a record

    def with_version(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event: dict[str, Any] = original(event_name, bucket, key, notification_id)
        version = getattr(key, "version_id", None)
        if getattr(bucket, "is_versioned", False) and version and version != "null":
            for record in event["Records"]:
                record["s3"]["object"]["versionId"] = version
        return event

    notifications._get_s3_event = with_version
    try:
        yield
    finally:
        notifications._get_s3_event = original


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
                "Condition": {"ArnLike": {"aws:SourceArn": bucket_arn(bucket, parse_arn(arn).partition)}},
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
