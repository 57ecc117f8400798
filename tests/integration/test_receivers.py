"""A backlog drains with several receives in flight; a quiet queue costs one long poll at a time."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry

from tests.support.clock import FakeClock
from tests.support.fault_proxy import FaultProxy
from tests.support.s3_events import s3_body
from tests.support.site import aws_clients
from watcher.aws import ClientFactory
from watcher.commands.demo.emulator import environment
from watcher.core.config import SqsSettings
from watcher.core.mode import RunMode
from watcher.core.model import Change
from watcher.ops.metrics import Metrics
from watcher.sources.receiver import Receiver
from watcher.sources.sqs import SqsSource

BACKLOG = 150


def _drain(moto_server: str, messages: int) -> tuple[set[str], set[str], int]:
    """(message ids received, threads that received, receives) of a --once drain of `messages`."""
    raw = aws_clients(moto_server)[1]
    queue_url = raw.create_queue(QueueName=f"backlog-{messages}")["QueueUrl"]
    for start in range(0, messages, 10):
        entries: list[dict[str, str]] = [
            {"Id": str(i), "MessageBody": s3_body([f"p{start + i}.html"], start + i, "bucket")}
            for i in range(min(10, messages - start))
        ]
        raw.send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
    received: set[str] = set()
    threads: set[str] = set()
    lock = threading.Lock()

    def on_change(change: Change) -> None:
        with lock:
            received.add(change.identity)
            threads.add(threading.current_thread().name)

    with FaultProxy(moto_server) as proxy, environment({"AWS_ENDPOINT_URL_SQS": proxy.url}):
        factory = ClientFactory(region="us-east-1")
        source = SqsSource(
            factory.sqs(),
            SqsSettings(queue_url=queue_url, wait_time_seconds=1, visibility_timeout_seconds=120),
            receive_client=factory.sqs_receiver(wait_time_seconds=1),
            clock=FakeClock(),
            metrics=Metrics(CollectorRegistry()),
            on_change=on_change,
        )
        receiver = Receiver(source, stop=threading.Event(), clock=FakeClock(), mode=RunMode(once=True))
        receiver.start()
        assert receiver.done.wait(120)
        return received, threads, proxy.count("ReceiveMessage")


def test_a_backlog_is_received_by_several_receivers_and_nothing_is_missed(moto_server: str) -> None:
    # GIVEN a queue with a backlog of 150 messages
    # WHEN the receiver drains it (--once: until a receive is empty)
    received, threads, _ = _drain(moto_server, BACKLOG)
    # THEN every message was received, and receives came back full, so more receivers joined
    assert len(received) == BACKLOG
    assert "receiver" in threads
    assert len(threads) > 1, threads
    assert len(threads) <= 4, threads


def test_a_trickle_is_received_by_one_receiver(moto_server: str) -> None:
    # GIVEN a queue with fewer messages than one receive returns
    received, threads, receives = _drain(moto_server, 7)
    # THEN one receiver took them, and no extra long polls were made
    assert len(received) == 7
    assert threads == {"receiver"}
    assert receives <= 3


class _ScriptedSource:
    """A source whose receives are scripted per thread: the main receiver's second long poll
    comes back empty, while an extra receiver's receive, made during that poll, returns 10."""

    batch_size = 10
    saturated = False
    acks_behind = False

    def __init__(self) -> None:
        self.nonempty_receives = 0
        self.receives: dict[str, int] = {}
        self._main_polling = threading.Event()
        self._extra_received = threading.Event()

    def receive(self, wait_time_seconds: int | None = None) -> int:
        name = threading.current_thread().name
        call = self.receives[name] = self.receives.get(name, 0) + 1
        if name == "receiver":
            script = {1: 10}  # full (an extra receiver joins), then empty
            if call == 2:
                self._main_polling.set()
                assert self._extra_received.wait(10)
        else:
            script = {1: 10, 2: 3}  # full during the main receiver's empty poll, then not full
            if call == 1:
                assert self._main_polling.wait(10)
        count = script.get(call, 0)
        if count:
            self.nonempty_receives += 1
        if name != "receiver" and call == 1:
            self._extra_received.set()
        return count


def test_once_ends_at_an_empty_receive_only_when_no_other_receiver_got_messages_meanwhile() -> None:
    # GIVEN a --once drain whose main receiver's long poll comes back empty while an extra
    # receiver's returns a full batch (the queue was not empty: other receivers emptied it)
    source = _ScriptedSource()
    receiver = Receiver(source, stop=threading.Event(), clock=FakeClock(), mode=RunMode(once=True))  # type: ignore[arg-type]
    # WHEN it runs
    receiver.start()
    assert receiver.done.wait(30)
    # THEN that empty receive did not end the drain: one more, empty with nothing received elsewhere, did
    assert source.receives["receiver"] == 3, source.receives
