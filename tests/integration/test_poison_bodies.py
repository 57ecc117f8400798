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
    for body in bodies:  # one by one: a batch of large bodies would pass SQS's 1 MiB per call
        raw.send_message(QueueUrl=queue_url, MessageBody=body)
    metrics = Metrics(CollectorRegistry())
    settings = SqsSettings(queue_url=queue_url, wait_time_seconds=1, max_messages=10)
    with environment({"AWS_ENDPOINT_URL_SQS": endpoint}):
        client = ClientFactory(region="us-east-1").sqs()
    source = SqsSource(client, settings, clock=FakeClock(), metrics=metrics, on_change=on_change)
    return source, metrics, queue_url


def _lean_body(prefix: str, records: int) -> str:
    """A body of `records` lean records (only the fields read): ~1,900 fit in SQS's 256 KiB."""
    return json.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": "site-bucket"}, "object": {"key": f"{prefix}/{i}.html"}},
                }
                for i in range(records)
            ]
        }
    )


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


def test_a_body_with_more_records_than_a_notification_holds_is_poison_and_holds_nothing(
    moto_server: str,
) -> None:
    # GIVEN a flood of bodies of 1,900 records each (S3 sends one), and one real notification
    flood = [_lean_body(f"f{n}", 1900) for n in range(5)]
    changes: list[Change] = []
    source, metrics, _queue_url = _source(
        moto_server, [*flood, s3_body(s3_record(key="real.html"))], changes.append
    )
    # WHEN they are received
    _receive_all(source, len(flood) + 1)
    # THEN each flooding body is one rejection (poison), none of its records is held, the real change goes on
    assert [c.key for c in changes] == ["real.html"]
    assert _rejected(metrics) == len(flood)
    assert source.held_changes == 1
    assert not source.saturated


def test_the_hold_limit_counts_changes_not_messages(moto_server: str) -> None:
    # GIVEN 100 bodies of 100 records each: 10,000 changes in 100 messages (the hold takes 2,500 messages)
    bodies = [_lean_body(f"m{n}", 100) for n in range(100)]
    changes: list[Change] = []
    source, _metrics, _queue_url = _source(moto_server, bodies, changes.append)
    # WHEN they are received and none is covered yet
    for _ in range(40):
        if source.saturated:
            break
        source.receive(wait_time_seconds=0)
    # THEN receiving pauses at the limit in changes, and their batches are due now
    assert len(changes) == 10_000
    assert source.saturated
    assert source.waiting_on_flush
    # WHEN they are covered THEN it receives again
    for change in changes:
        change.ack.covered()
    assert not source.saturated
