"""A site for `watcher wait` tests: moto behind the strict CloudFront stand-in, a config file."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.cloudfront_proxy import Invalidation, StrictCloudFront
from tests.support.site import Stack, config_toml, make_stack, settings_for

__all__ = ["ACCOUNT", "Deploy", "date_multipart_at_initiation", "deploy_site"]

ACCOUNT = "123456789012"  # moto's default account


@dataclass
class Deploy:
    """A stack behind the strict stand-in, a config file, and a CloudFront client on the stand-in."""

    stack: Stack
    cloudfront: StrictCloudFront
    config: Path
    client: Any

    def invalidate(self, paths: list[str], distribution_id: str = "") -> None:
        """CreateInvalidation through the stand-in, as the daemon or a person would."""
        self.client.create_invalidation(
            DistributionId=distribution_id or self.stack.distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": f"test-{time.time_ns()}",
            },
        )

    def add(
        self, paths: list[str], *, create_time: datetime | None = None, distribution_id: str = ""
    ) -> Invalidation:
        """An invalidation made by someone else, dated `create_time` (default: now)."""
        dist = distribution_id or self.stack.distribution_id
        return self.cloudfront.add(dist, paths, create_time=create_time)

    def invalidate_later(self, paths: list[str], distribution_id: str = "") -> Invalidation:
        """An invalidation dated 1 s from now: after the end of the second of every change so far.

        (S3 dates a change to the second; an invalidation in that second may predate it.)
        """
        return self.add(
            paths, create_time=datetime.now(UTC) + timedelta(seconds=1), distribution_id=distribution_id
        )


@contextmanager
def deploy_site(
    moto_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    complete_after: float = 0.0,
    site: Mapping[str, Any] | None = None,
) -> Iterator[Deploy]:
    """The stack, the stand-in (invalidations Completed after `complete_after` s), the env, a config.

    `site`: more keys of the one [[sites]] entry (include, exclude, prefix).
    """
    stack = make_stack(moto_server)
    with StrictCloudFront(moto_server, complete_after=complete_after) as cloudfront:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        entry = {"bucket": stack.bucket, "distribution_id": stack.distribution_id, **(site or {})}
        settings = settings_for(stack, sites=[entry])  # type: ignore[arg-type]  # a list, not a table
        config = tmp_path / "config.toml"
        config.write_text(config_toml(settings))
        client = boto3.client("cloudfront", endpoint_url=cloudfront.url, region_name="us-east-1")
        yield Deploy(stack, cloudfront, config, client)


def date_multipart_at_initiation(bucket: str, key: str, initiated: datetime) -> None:
    """Give a completed multipart object S3's date: its initiation, where moto gives its completion.

    The S3 User Guide, "Working with object metadata" (system-defined metadata,
    Last-Modified): "For multipart uploads, the object creation date is the date of
    initiation of the multipart upload." moto's server runs in this process, so its
    backend is reachable; only unversioned buckets (moto orders versions by this date).
    """
    from moto.s3.models import s3_backends  # noqa: PLC0415 - the emulator runs in this process

    found = s3_backends[ACCOUNT]["global"].get_object(bucket, key)
    assert found is not None
    found.last_modified = initiated.replace(tzinfo=None)  # moto keeps naive UTC
