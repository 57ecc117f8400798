"""SQS acknowledgements on workers: the main loop hands out, never waits; failures back off per message."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from tests.support.clock import FakeClock
from tests.support.fault_proxy import FaultProxy
from tests.support.s3_events import s3_body
from tests.support.site import aws_clients
from tests.support.waiting import wait_until
from watcher.aws import ClientFactory
from watcher.commands.demo.emulator import environment
from watcher.core.config import SqsSettings
from watcher.core.mode import RunMode
from watcher.core.model import Change
from watcher.ops.metrics import Metrics
from watcher.sources.sqs import SqsSource


@dataclass
class Held:
    """An SqsSource on moto behind a fault proxy, and the changes it handed on."""

    source: SqsSource
    proxy: FaultProxy
    queue_url: str
    metrics: Metrics
    clock: FakeClock
    changes: list[Change]


@contextmanager
def _held_messages(
    endpoint: str, count: int, *, dry_run: bool = False, visibility: int = 30, max_held: int = 5000
) -> Iterator[Held]:
    """GIVEN `count` messages received and held (one change each)."""
    raw = aws_clients(endpoint)[1]
    queue_url = raw.create_queue(QueueName="acks")["QueueUrl"]
    for i in range(count):
        raw.send_message(QueueUrl=queue_url, MessageBody=s3_body([f"p{i}.html"], i, "bucket"))
    with FaultProxy(endpoint) as proxy, environment({"AWS_ENDPOINT_URL_SQS": proxy.url}):
        metrics = Metrics(CollectorRegistry())
        clock = FakeClock()
        changes: list[Change] = []
        settings = SqsSettings(
            queue_url=queue_url, wait_time_seconds=1, visibility_timeout_seconds=visibility
        )
        source = SqsSource(
            ClientFactory(region="us-east-1").sqs(),
            settings,
            clock=clock,
            metrics=metrics,
            on_change=changes.append,
            mode=RunMode(dry_run=dry_run),
            max_held=max_held,
        )
        while len(changes) < count:
            source.receive(wait_time_seconds=0)
        yield Held(source, proxy, queue_url, metrics, clock, changes)


def _depth(endpoint: str, queue_url: str) -> tuple[int, int]:
    attributes = aws_clients(endpoint)[1].get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _sqs_count(metrics: Metrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value("cloudfront_watcher_sqs_messages_total", {"outcome": outcome})
    return value or 0.0


def test_housekeeping_never_waits_on_a_hung_sqs_and_deletes_once_it_answers(moto_server: str) -> None:
    with _held_messages(moto_server, 30) as held:
        # GIVEN 30 held messages, all covered, and SQS hanging
        for change in held.changes:
            change.ack.covered()
        held.proxy.set_hanging(True)
        # WHEN the main loop ticks
        for _ in range(20):
            started = time.monotonic()
            held.source.housekeeping()
            # THEN each tick only hands the work out
            assert time.monotonic() - started < 0.5  # a blocking call would take the 3 s read timeout
            time.sleep(0.05)
        # AND the deletes were in flight at once (three chunks of 10), not one after another
        wait_until(lambda: held.proxy.count("DeleteMessageBatch", fault="hang") >= 3, timeout=10)
        # AND once SQS answers again, every message is deleted
        held.proxy.set_hanging(False)

        def deleted() -> bool:
            held.clock.advance(1.0)  # past each message's backoff
            held.source.housekeeping()
            # (SQS deletes a chunk before its worker reads the answer and forgets the chunk)
            return _depth(moto_server, held.queue_url) == (0, 0) and held.source.held == 0

        wait_until(deleted, timeout=30, interval=0.2)


def test_a_stale_receipt_handle_is_forgotten_and_counted_not_retried_every_tick(moto_server: str) -> None:
    with _held_messages(moto_server, 1, visibility=10) as held:
        # GIVEN a held message that was deleted meanwhile (its receipt handle is gone)
        receipt_handle = held.changes[0].ack.held.receipt_handle  # type: ignore[attr-defined]
        aws_clients(moto_server)[1].delete_message(QueueUrl=held.queue_url, ReceiptHandle=receipt_handle)
        # WHEN its visibility is due for an extension and the main loop ticks for 5 s
        held.clock.advance(6)
        for _ in range(50):
            held.source.housekeeping()
            held.clock.advance(0.1)
            time.sleep(0.01)
        # THEN one extension was tried, SQS said the handle is invalid, and the message is forgotten
        wait_until(lambda: held.source.held == 0, timeout=10)
        assert held.proxy.count("ChangeMessageVisibilityBatch") == 1
        assert _sqs_count(held.metrics, "stale") == 1


def test_a_failing_extension_backs_off_per_message(moto_server: str) -> None:
    with _held_messages(moto_server, 1, visibility=10) as held:
        # GIVEN SQS answering every visibility change with 503
        held.proxy.set_fault_rate(
            1.0, ("503",), match=lambda r: r.action.endswith("ChangeMessageVisibilityBatch")
        )
        # WHEN the extension is due and the main loop ticks every 0.1 s for 5 s
        held.clock.advance(6)
        for _ in range(50):
            held.source.housekeeping()
            held.clock.advance(0.1)
            time.sleep(0.02)
        # THEN the calls back off (1, 2, 4 s ...): a handful, not 50 (x botocore's 2 attempts)
        calls = held.proxy.count("ChangeMessageVisibilityBatch")
        assert 1 <= calls <= 10
        assert held.source.held == 1  # still held: its visibility has not lapsed, it keeps trying


def test_dry_run_never_extends_a_settled_message_and_keeps_receiving(moto_server: str) -> None:
    with _held_messages(moto_server, 3, dry_run=True, visibility=10, max_held=3) as held:
        # GIVEN a dry run that held as many messages as it may, all settled (covered)
        assert held.source.saturated
        for change in held.changes:
            change.ack.covered()
        # THEN it is not saturated: the hold limit counts only unsettled messages
        assert not held.source.saturated
        # WHEN their visibility would be due for an extension, and runs out
        for _ in range(30):
            held.clock.advance(0.5)
            held.source.housekeeping()
            time.sleep(0.01)
        # THEN no settled message was extended, nothing deleted, and they are forgotten
        assert held.proxy.count("ChangeMessageVisibilityBatch") == 0
        assert held.proxy.count("DeleteMessageBatch") == 0
        assert held.source.held == 0


def test_failing_deletes_keep_covered_messages_invisible_keep_receiving_and_turn_sqs_unready(
    moto_server: str,
) -> None:
    with _held_messages(moto_server, 3, max_held=3, visibility=30) as held:
        # GIVEN as many messages held as the limit allows, none covered yet
        # THEN their batches are due at once (nothing more can arrive to coalesce with them)
        assert held.source.saturated
        assert held.source.waiting_on_flush
        # WHEN they are covered, and the queue refuses every delete for longer than the unready window
        held.proxy.set_fault_rate(1.0, ("503",), match=lambda r: "DeleteMessage" in r.action)
        for change in held.changes:
            change.ack.covered()
        for _ in range(140):
            held.source.housekeeping()
            held.clock.advance(1.0)
            time.sleep(0.01)
        # THEN receiving goes on: a covered message waiting for its delete holds no change
        assert not held.source.saturated
        # AND the covered messages were kept invisible while their deletes were retried
        assert held.proxy.count("ChangeMessageVisibilityBatch") >= 3
        assert held.source.held == 3

        def invisible() -> bool:
            held.source.housekeeping()  # the clock stands still: the last extension lands
            return held.source.visible_for(held.clock.monotonic()) > 0

        wait_until(invisible, timeout=10, interval=0.05)
        # AND the SQS source is unready, saying why
        reason = held.source.health.unready_reason() or ""
        assert reason.startswith("sqs: failing for"), reason
        assert "DeleteMessageBatch" in reason
        # WHEN the queue takes the deletes again
        held.proxy.clear_faults()

        def emptied() -> bool:
            held.clock.advance(1.0)  # past each message's backoff
            held.source.housekeeping()
            return held.source.held == 0

        # THEN the messages are gone and the source is ready again
        wait_until(emptied, timeout=30, interval=0.05)
        assert held.source.health.unready_reason() is None
