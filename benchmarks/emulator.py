"""The emulator under the benchmark: moto's server in its own process, a counting proxy in front of SQS.

moto runs as a subprocess so that neither the watcher nor the bare loop shares
its interpreter (and GIL) with it; both consumers reach SQS through the same
FaultProxy (no faults), which counts their calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

from tests.support.s3_events import s3_body, s3_record
from tests.support.site import queue_depth as depth_of
from tests.support.waiting import free_port
from watcher.commands.demo.emulator import create_distribution

__all__ = [
    "BUCKET",
    "Target",
    "clients",
    "fresh_target",
    "moto_process",
    "queue_depth",
    "s3_body",
    "s3_record",
    "serialize_deletes",
]

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_sqs import SQSClient

    from tests.support.fault_proxy import FaultProxy

from tests.support.s3_events import BUCKET


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
    port = free_port()
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


def queue_depth(endpoint: str, queue_url: str) -> int:
    """Messages on the queue, visible or in flight (what is left to drain)."""
    return depth_of(clients(endpoint)[0], queue_url)


def serialize_deletes(proxy: FaultProxy) -> None:
    """The proxy forwards DeleteMessageBatch calls one at a time: moto's SQS loses one of two
    concurrent deletions of one queue (AWS does not; see FaultProxy.serialize)."""
    proxy.serialize(lambda request: "DeleteMessage" in request.action)
