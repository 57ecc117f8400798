"""GIVEN helpers for the chaos suite: a queue and a distribution behind fault proxies, faithful events."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.s3_events import s3_body
from tests.support.site import aws_clients, queue_depth
from tests.support.visibility import ReceiptRecorder
from watcher.commands.demo.emulator import create_distribution
from watcher.core.config import Settings
from watcher.core.routing import Router

BUCKET = "chaos-site"


@dataclass
class ChaosSite:
    """A queue and a distribution on moto; SQS behind `sqs_proxy`, CloudFront behind `cloudfront`."""

    endpoint: str
    queue_url: str
    distribution_id: str
    sqs_proxy: ReceiptRecorder
    cloudfront: StrictCloudFront
    published: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """Endpoints for a watcher: S3 direct, SQS and CloudFront through their proxies."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_SQS": self.sqs_proxy.url,
            "AWS_ENDPOINT_URL_CLOUDFRONT": self.cloudfront.url,
        }

    def publish(self, keys: Iterable[str], *, per_message: int = 1) -> None:
        """Send S3 notifications for `keys` straight to moto (never faulted)."""
        sqs = aws_clients(self.endpoint)[1]
        keys = list(keys)
        bodies = [keys[i : i + per_message] for i in range(0, len(keys), per_message)]
        for start in range(0, len(bodies), 10):
            entries: Any = [
                {"Id": str(i), "MessageBody": s3_body(group, len(self.published) + i, BUCKET)}
                for i, group in enumerate(bodies[start : start + 10])
            ]
            sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        self.published.extend(keys)

    def lapse_visibility(self) -> int:
        """What the visibility timeout does to the messages of a killed consumer, now (see visibility.py)."""
        return self.sqs_proxy.lapse(aws_clients(self.endpoint)[1], self.queue_url)

    def depth(self) -> int:
        """Visible + in-flight messages (asked of moto directly)."""
        return queue_depth(aws_clients(self.endpoint)[1], self.queue_url)

    def expected_paths(self, keys: Iterable[str] | None = None) -> set[str]:
        """The encoded CloudFront paths the published keys need, by the daemon's own routing."""
        router = Router(self.settings().sites)
        return {
            path
            for key in (self.published if keys is None else keys)
            for route in router.route(BUCKET, key).routes
            for path in route.paths
        }

    def uncovered(self) -> set[str]:
        """Expected paths that no accepted invalidation covers (must end empty)."""
        return {p for p in self.expected_paths() if not self.cloudfront.covered(self.distribution_id, p)}

    def settings(self, **sections: Any) -> Settings:
        """Fast settings for this site; sections override (`sites`: the whole array)."""
        data: dict[str, Any] = {
            "watcher": {"log_level": "info", "shutdown_timeout_seconds": 10},
            "http": {"listen": "127.0.0.1:0", "unready_after_failing_seconds": 5},
            "aws": {"read_timeout_seconds": 2, "connect_timeout_seconds": 1},
            "sqs": {"queue_url": self.queue_url, "wait_time_seconds": 1, "visibility_timeout_seconds": 10},
            "invalidation": {"quiet_period_seconds": 0.3, "max_delay_seconds": 3},
            "sites": [{"bucket": BUCKET, "distribution_id": self.distribution_id}],
        }
        for name, values in sections.items():
            if name == "sites":
                data["sites"] = values  # the whole array
            else:
                data.setdefault(name, {}).update(values)
        return Settings.model_validate(data)


@contextmanager
def chaos_site(
    endpoint: str,
    *,
    queue: str = "chaos-changes",
    seed: int = 7,
    cloudfront_class: type[StrictCloudFront] = StrictCloudFront,
) -> Iterator[ChaosSite]:
    """GIVEN a queue and a distribution, with fault proxies in front of SQS and CloudFront."""
    _, sqs, cloudfront = aws_clients(endpoint)
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    distribution_id = create_distribution(cloudfront, BUCKET)
    with ReceiptRecorder(endpoint, seed=seed) as sqs_proxy, cloudfront_class(endpoint, seed=seed) as strict:
        yield ChaosSite(endpoint, queue_url, distribution_id, sqs_proxy, strict)
