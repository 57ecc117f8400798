"""GIVEN helpers: a bucket wired to a queue, a distribution, a config, a running watcher."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from prometheus_client import CollectorRegistry

from watcher.app import Watcher
from watcher.commands.demo.emulator import create_distribution, wire_bucket_to_queue
from watcher.core.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

ROOT = Path(__file__).resolve().parents[2]
WATCHER_BIN = str(Path(sys.executable).with_name("watcher"))


@dataclass
class Stack:
    """One emulated site: bucket -> queue -> distribution, and clients on the raw emulator."""

    endpoint: str
    bucket: str
    queue_url: str
    distribution_id: str
    s3: S3Client
    sqs: SQSClient
    cloudfront: CloudFrontClient

    def deploy(self, files: Mapping[str, str]) -> None:
        """Upload objects (key -> body)."""
        for key, body in files.items():
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode())

    def invalidations(self, cloudfront: CloudFrontClient | None = None) -> list[dict[str, Any]]:
        """Every invalidation on the distribution with its paths and caller reference."""
        client = cloudfront or self.cloudfront
        out = []
        marker = ""
        while True:
            page = (
                client.list_invalidations(DistributionId=self.distribution_id, Marker=marker)
                if marker
                else client.list_invalidations(DistributionId=self.distribution_id)
            )
            listing = page["InvalidationList"]
            for item in listing.get("Items", []):
                detail = client.get_invalidation(DistributionId=self.distribution_id, Id=item["Id"])
                batch = detail["Invalidation"]["InvalidationBatch"]
                out.append(
                    {
                        "id": item["Id"],
                        "caller_reference": batch["CallerReference"],
                        "paths": list(batch["Paths"].get("Items", [])),
                    }
                )
            if not listing.get("IsTruncated"):
                return out
            marker = listing["NextMarker"]

    def queue_depth(self) -> int:
        """Visible + in-flight messages."""
        return queue_depth(self.sqs, self.queue_url)


def queue_depth(sqs: SQSClient, queue_url: str) -> int:
    """Messages on a queue, visible or in flight (what is left to drain)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def aws_clients(endpoint: str) -> tuple[S3Client, SQSClient, CloudFrontClient]:
    """Clients on an endpoint (emulator or proxy)."""
    return (
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1"),
        boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1"),
        boto3.client("cloudfront", endpoint_url=endpoint, region_name="us-east-1"),
    )


def make_stack(endpoint: str, bucket: str = "site-bucket", queue: str = "site-changes") -> Stack:
    """GIVEN a bucket wired to a queue by a notification, and a distribution in front of it."""
    s3, sqs, cloudfront = aws_clients(endpoint)
    queue_url = wire_bucket_to_queue(s3, sqs, bucket, queue)
    distribution_id = create_distribution(cloudfront, bucket)
    return Stack(endpoint, bucket, queue_url, distribution_id, s3, sqs, cloudfront)


def settings_for(stack: Stack, **sections: Mapping[str, Any]) -> Settings:
    """Settings for the stack with fast test timings; sections override."""
    data: dict[str, Any] = {
        "watcher": {"log_level": "debug", "log_format": "json", "shutdown_timeout_seconds": 10},
        "http": {"listen": "127.0.0.1:0"},
        "sqs": {"queue_url": stack.queue_url, "wait_time_seconds": 1, "visibility_timeout_seconds": 30},
        "invalidation": {"quiet_period_seconds": 0.5, "max_delay_seconds": 5},
        "sites": [{"bucket": stack.bucket, "distribution_id": stack.distribution_id}],
    }
    for name, values in sections.items():
        if name == "sites":
            data["sites"] = values
        else:
            data.setdefault(name, {}).update(values)
    return Settings.model_validate(data)


def config_toml(settings: Settings) -> str:
    """Render settings as a TOML file the CLI accepts."""
    lines = []
    dumped = settings.to_dict()
    for section, values in dumped.items():
        if section == "sites":
            continue
        lines.append(f"[{section}]")
        # TOML has no null: an unset optional key (collateral_weight) is left out.
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items() if value is not None)
    for site in dumped["sites"]:
        lines.append("[[sites]]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in site.items())
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    import json  # noqa: PLC0415

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


def watcher_env(endpoint: str, **extra: str) -> dict[str, str]:
    """Environment for a `watcher` subprocess pointed at an endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WATCHER", "AWS_ENDPOINT_URL"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(extra)
    return env


def run_cli(
    args: list[str], *, env: Mapping[str, str], timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `watcher` console script; returns the completed process (never raises on exit code)."""
    return subprocess.run(
        [WATCHER_BIN, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


@contextmanager
def running_watcher(settings: Settings, **kwargs: Any) -> Iterator[Watcher]:
    """A Watcher running in a thread (own registry), stopped and drained at exit."""
    watcher = Watcher(settings, registry=CollectorRegistry(), **kwargs)
    thread = threading.Thread(target=watcher.run, name="watcher-under-test", daemon=True)
    thread.start()
    try:
        yield watcher
    finally:
        watcher.stop.set()
        thread.join(60)
