"""The emulator under the benchmark: moto's server in its own process, a counting proxy in front of SQS.

moto runs as a subprocess so that neither the watcher nor the bare loop shares
its interpreter (and GIL) with it; both consumers reach SQS through the same
FaultProxy (no faults), which counts their calls.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

import boto3

from watcher.demo import create_distribution

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_sqs import SQSClient

BUCKET = "bench-site"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_process() -> Iterator[str]:
    """moto's server on 127.0.0.1 in a subprocess; yields its URL (and fake credentials in os.environ)."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ):
        os.environ.setdefault(name, value)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.moto_server", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class Target:
    """One queue and one distribution for one run (fresh per run: no leftovers)."""

    queue_url: str
    distribution_id: str


def clients(endpoint: str) -> tuple[SQSClient, CloudFrontClient]:
    """Raw clients on the emulator (not through the proxy)."""
    kwargs = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    return boto3.client("sqs", **kwargs), boto3.client("cloudfront", **kwargs)  # type: ignore[call-overload]


def fresh_target(endpoint: str, name: str) -> Target:
    """A new queue and distribution named after the run."""
    sqs, cloudfront = clients(endpoint)
    queue_url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    return Target(queue_url, create_distribution(cloudfront, BUCKET))


def s3_record(key: str, sequence: int) -> dict[str, object]:
    """One record as S3 writes it (eventVersion 2.1), key form-URL-encoded."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {"x-amz-request-id": f"REQ{sequence:013d}", "x-amz-id-2": "h" * 76},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "site-changes",
            "bucket": {
                "name": BUCKET,
                "ownerIdentity": {"principalId": "A3EXAMPLE"},
                "arn": f"arn:aws:s3:::{BUCKET}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": 1024 + sequence % 4096,
                "eTag": f"{sequence:032x}",
                "sequencer": f"{sequence:018X}",
            },
        },
    }


def s3_body(keys: list[str], first_sequence: int) -> str:
    """An SQS body holding one S3 notification with a record per key."""
    return json.dumps({"Records": [s3_record(k, first_sequence + i) for i, k in enumerate(keys)]})
