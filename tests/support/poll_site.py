"""GIVEN helpers for poll mode: a bucket with a site and a distribution, no notifications."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from tests.support.site import Stack, aws_clients
from watcher.app import Watcher
from watcher.commands.demo.emulator import create_distribution
from watcher.core.config import Settings
from watcher.core.mode import RunMode

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SITE = {
    "index.html": "<h1>Home</h1>",
    "about/index.html": "<h1>About</h1>",
    "assets/app.js": "console.log(1)",
}


@dataclass
class PollSite:
    """A bucket served by a distribution; `stack` reuses the SQS-side helpers (invalidations)."""

    stack: Stack

    @property
    def s3(self) -> S3Client:
        """S3 on the raw emulator."""
        return self.stack.s3

    @property
    def bucket(self) -> str:
        """The site's bucket."""
        return self.stack.bucket

    def put(self, key: str, body: str) -> None:
        """Write one object."""
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode())

    def paths(self) -> list[set[str]]:
        """The paths of each invalidation made so far."""
        return [set(inv["paths"]) for inv in self.stack.invalidations()]


def make_poll_site(endpoint: str, files: Mapping[str, str] = SITE, bucket: str = "polled-site") -> PollSite:
    """GIVEN a bucket (no notification: poll mode's reason to exist) with files, and a distribution."""
    s3, sqs, cloudfront = aws_clients(endpoint)
    s3.create_bucket(Bucket=bucket)
    distribution_id = create_distribution(cloudfront, bucket)
    site = PollSite(Stack(endpoint, bucket, "", distribution_id, s3, sqs, cloudfront))
    for key, body in files.items():
        site.put(key, body)
    return site


def poll_settings(site: PollSite, *, prefix: str = "", **poll: Any) -> Settings:
    """A poll-only config for the site; cycles are run by the test (the interval never fires twice)."""
    return Settings.model_validate(
        {
            "watcher": {"sources": ["poll"], "log_level": "debug", "shutdown_timeout_seconds": 10},
            "http": {"listen": "127.0.0.1:0"},
            "poll": {"interval_seconds": 3600, **poll},
            # A cycle submits its changes at once: no quiet period needed to gather them.
            "invalidation": {"quiet_period_seconds": 0, "max_delay_seconds": 5},
            "sites": [
                {"bucket": site.bucket, "distribution_id": site.stack.distribution_id, "prefix": prefix}
            ],
        }
    )


def run_once(settings: Settings) -> tuple[int, Watcher]:
    """`watcher run --once`, in process: one cycle against the saved state, flush, exit."""
    mode = RunMode(once=True, dry_run=settings.dry_run)
    watcher = Watcher(settings, registry=CollectorRegistry(), mode=mode, serve_http=False)
    return watcher.run(), watcher
