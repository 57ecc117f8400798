"""One odd body is one poison message: it never sinks the receive it came with."""

from __future__ import annotations

import json
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from tests.support.clock import FakeClock
from tests.support.events import s3_body, s3_record
from tests.support.site import aws_clients
from tests.support.waiting import wait_until
from watcher.aws import ClientFactory
from watcher.commands.demo.emulator import environment
from watcher.core.config import SqsSettings
from watcher.core.model import Change
from watcher.ops.metrics import Metrics
from watcher.sources.sqs import SqsSource


def _source(
    endpoint: str, bodies: list[str], on_change: Callable[[Change], None]
) -> tuple[SqsSource, Metrics, str]:
    """A source on a fresh moto queue holding `bodies` (sent as S3 would: straight to the queue)."""
    raw = aws_clients(endpoint)[1]
    queue_url = raw.create_queue(QueueName=f"poison-{len(bodies)}")["QueueUrl"]
    entries: list[dict[str, str]] = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
    raw.send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
    metrics = Metrics(CollectorRegistry())
    settings = SqsSettings(queue_url=queue_url, wait_time_seconds=1, max_messages=10)
    with environment({"AWS_ENDPOINT_URL_SQS": endpoint}):
        client = ClientFactory(region="us-east-1").sqs()
    source = SqsSource(client, settings, clock=FakeClock(), metrics=metrics, on_change=on_change)
    return source, metrics, queue_url


def _rejected(metrics: Metrics) -> float:
    value = metrics.registry.get_sample_value(
        "cloudfront_watcher_events_total", {"source": "sqs", "outcome": "rejected"}
    )
    return value or 0.0


def _receive_all(source: SqsSource, count: int) -> None:
    received = 0
    for _ in range(10):
        received += source.receive(wait_time_seconds=0)
        if received >= count:
            return


def test_a_lone_surrogate_in_a_key_is_one_poison_message_not_a_failed_receive(moto_server: str) -> None:
    # GIVEN a queue with two good notifications and, between them, one whose key holds a lone surrogate
    bodies = [
        s3_body(s3_record(key="a.html")),
        json.dumps({"Records": [s3_record(encoded_key="bad\ud800.html")]}),
        s3_body(s3_record(key="b.html")),
    ]
    changes: list[Change] = []
    source, metrics, queue_url = _source(moto_server, bodies, changes.append)
    # WHEN the messages are received
    _receive_all(source, len(bodies))
    # THEN the good changes are handed on, the odd one is counted as rejected
    assert sorted(c.key for c in changes) == ["a.html", "b.html"]
    assert _rejected(metrics) == 1
    # AND the poison message is settled at once: housekeeping deletes it (on_poison = "delete")
    for change in changes:
        change.ack.covered()
    source.housekeeping()
    wait_until(lambda: source.held == 0, timeout=10)
    attributes = aws_clients(moto_server)[1].get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_a_change_the_pipeline_cannot_take_fails_its_message_alone(moto_server: str) -> None:
    # GIVEN three good notifications, and a pipeline that raises on one of the keys (a bug downstream)
    bodies = [s3_body(s3_record(key=k)) for k in ("a.html", "boom.html", "b.html")]
    changes: list[Change] = []

    def on_change(change: Change) -> None:
        if change.key == "boom.html":
            raise RuntimeError("a bug downstream")
        changes.append(change)

    source, _metrics, _queue_url = _source(moto_server, bodies, on_change)
    # WHEN they are received: the receive does not raise
    _receive_all(source, len(bodies))
    # THEN the neighbours are handed on, and the failing message is not covered (released, not lost)
    assert sorted(c.key for c in changes) == ["a.html", "b.html"]
    assert source.uncovered == 1
    assert source.held == 3
