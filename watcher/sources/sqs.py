"""The SQS source: long-poll receive, hold messages invisible, delete only what is covered.

A message is deleted once every change in it is covered by an accepted
invalidation (or it held nothing to invalidate). Until then its visibility is
extended; a message whose changes failed is released for redelivery, and after
the queue's maxReceiveCount it reaches the DLQ.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from watcher.awserrors import AWS_ERRORS, error_code
from watcher.core.clock import Clock
from watcher.core.config import SQS_MAX_VISIBILITY_SECONDS, SqsSettings
from watcher.core.events import parse_body
from watcher.core.model import Change
from watcher.ops.metrics import Metrics
from watcher.sources.health import SourceHealth

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["SqsSource"]

_BATCH = 10  # SQS batch APIs take at most 10 entries
_CEILING_MARGIN = 60.0


@dataclass(slots=True)
class _Held:
    message_id: str
    receipt_handle: str
    first_received: float
    visible_until: float
    outstanding: int
    poison: bool
    failed: bool = False
    retry_in: float = 0.0
    settled: bool = False


@dataclass(slots=True)
class _MessageAck:
    """The acknowledgement each change of one message carries."""

    source: SqsSource
    held: _Held

    def covered(self) -> None:
        """An accepted invalidation covers this change."""
        self.source._settle(self.held, failed=False, retry_in=0.0)

    def failed(self, retry_in: float = 0.0) -> None:
        """This change could not be covered now."""
        self.source._settle(self.held, failed=True, retry_in=retry_in)


class SqsSource:
    """Receives S3 notifications from one standard queue."""

    name = "sqs"

    def __init__(
        self,
        client: SQSClient,
        settings: SqsSettings,
        *,
        clock: Clock,
        metrics: Metrics,
        on_change: Callable[[Change], None],
        dry_run: bool = False,
        max_held: int = 5000,
        unready_after: float = 120.0,
    ) -> None:
        self._client = client
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self._on_change = on_change
        self._dry_run = dry_run
        self._max_held = max_held
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._settled: queue.SimpleQueue[_Held] = queue.SimpleQueue()
        self._to_delete: list[_Held] = []
        self.health = SourceHealth(self.name, clock=clock, unready_after=unready_after)
        self.uncovered = 0  # changes that failed (for --once's exit code)
        self._log = structlog.get_logger("watcher.sqs").bind(queue=settings.queue_url)

    # -- receiving (receiver thread) -------------------------------------------------

    @property
    def held(self) -> int:
        """Messages received and not yet deleted or released."""
        with self._lock:
            return len(self._held)

    @property
    def saturated(self) -> bool:
        """Too many messages held: stop receiving until flushes catch up."""
        return self.held >= self._max_held

    def receive(self, wait_time_seconds: int | None = None) -> int:
        """One (long-poll) receive; each change goes to `on_change`. Returns messages received."""
        wait = self._settings.wait_time_seconds if wait_time_seconds is None else wait_time_seconds
        try:
            response = self._client.receive_message(
                QueueUrl=self._settings.queue_url,
                MaxNumberOfMessages=self._settings.max_messages,
                WaitTimeSeconds=wait,
                VisibilityTimeout=self._settings.visibility_timeout_seconds,
                MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
            )
        except AWS_ERRORS as exc:
            code = error_code(exc)
            self.health.failure(f"ReceiveMessage failed: {code}")
            self._log.warning("receive failed", code=code, error=str(exc)[:300])
            raise
        self.health.success()
        messages = response.get("Messages", [])
        if messages:
            self._metrics.sqs_messages.labels(outcome="received").inc(len(messages))
            self._log.info(
                "messages received", count=len(messages), message_ids=[m.get("MessageId") for m in messages]
            )
        for message in messages:
            self._accept(message)
        return len(messages)

    def _accept(self, message: Any) -> None:
        message_id = str(message.get("MessageId", ""))
        now = self._clock.monotonic()
        result = parse_body(str(message.get("Body", "")), message_id=message_id, source=self.name)
        events = self._metrics.events  # accepted/ignored changes are counted by routing
        if result.ignored:
            events.labels(source=self.name, outcome="ignored").inc(len(result.ignored))
            self._log.info("records ignored", message_id=message_id, reasons=list(result.ignored[:5]))
        if result.rejected:
            events.labels(source=self.name, outcome="rejected").inc(len(result.rejected))
            self._log.warning(
                "message rejected (poison)",
                message_id=message_id,
                reasons=list(result.rejected[:5]),
                on_poison=self._settings.on_poison,
            )
        held = _Held(
            message_id=message_id,
            receipt_handle=str(message["ReceiptHandle"]),
            first_received=now,
            visible_until=now + self._settings.visibility_timeout_seconds,
            outstanding=len(result.changes),
            poison=result.poison,
        )
        with self._lock:
            self._held[held.receipt_handle] = held
        self._metrics.held_messages.set(self.held)
        attributes = message.get("Attributes", {})
        if _int(attributes.get("ApproximateReceiveCount")) > 1:
            # Seen before (a crash, a lapsed visibility, a delete that failed): covered
            # again, a harmless duplicate, but worth counting.
            self._metrics.sqs_messages.labels(outcome="redelivered").inc()
        sent = _timestamp(attributes.get("SentTimestamp"))
        if not result.changes:
            self._settled.put(held)
            return
        ack = _MessageAck(self, held)
        for change in result.changes:
            self._on_change(replace(change, ack=ack, event_time=change.event_time or sent))

    # -- acknowledgements (any thread) -------------------------------------------------

    def _settle(self, held: _Held, *, failed: bool, retry_in: float) -> None:
        with self._lock:
            held.outstanding -= 1
            if failed:
                held.failed = True
                held.retry_in = max(held.retry_in, retry_in)
            if held.outstanding > 0 or held.settled:
                return
            held.settled = True
        self._settled.put(held)

    # -- housekeeping (main thread) -------------------------------------------------

    def housekeeping(self) -> None:
        """Delete covered messages, release failed ones, extend the visibility of the rest."""
        while True:
            try:
                held = self._settled.get_nowait()
            except queue.Empty:
                break
            self._dispose(held)
        self._flush_deletes()
        self._extend_visibility()
        self._metrics.held_messages.set(self.held)

    def _dispose(self, held: _Held) -> None:
        if held.failed:
            self.uncovered += 1
            self._release([held], visibility=int(held.retry_in))
            return
        if self._dry_run:
            return  # nothing is acknowledged: held until shutdown, then released
        if held.poison and self._settings.on_poison == "keep":
            # Leave it to the queue's redrive policy: it reappears after the
            # visibility timeout, and maxReceiveCount sends it to the DLQ.
            self._forget([held])
            self._metrics.sqs_messages.labels(outcome="kept").inc()
            return
        self._to_delete.append(held)

    def _flush_deletes(self) -> None:
        while self._to_delete:
            chunk, self._to_delete = self._to_delete[:_BATCH], self._to_delete[_BATCH:]
            entries: list[Any] = [
                {"Id": str(i), "ReceiptHandle": h.receipt_handle} for i, h in enumerate(chunk)
            ]
            try:
                response = self._client.delete_message_batch(
                    QueueUrl=self._settings.queue_url, Entries=entries
                )
            except AWS_ERRORS as exc:
                code = error_code(exc)
                self._metrics.retries.labels(reason=f"sqs_delete_{code}"[:64]).inc()
                self._log.warning("delete failed; will retry", code=code, messages=len(chunk))
                self._to_delete = chunk + self._to_delete
                return
            failed_ids = {entry["Id"] for entry in response.get("Failed", [])}
            for entry in response.get("Failed", []):
                self._metrics.count_aws_error("sqs", str(entry.get("Code", "Failed"))[:64])
            deleted = [h for i, h in enumerate(chunk) if str(i) not in failed_ids]
            self._forget(chunk)
            if deleted:
                self._metrics.sqs_messages.labels(outcome="deleted").inc(len(deleted))
                self._log.info(
                    "messages deleted", count=len(deleted), message_ids=[h.message_id for h in deleted]
                )
            if failed_ids:
                # The receipt handle went stale (visibility lapsed): the message comes
                # back and is covered again, a harmless duplicate.
                self._log.warning("some deletes failed; messages will be redelivered", count=len(failed_ids))

    def _forget(self, batch: list[_Held]) -> None:
        with self._lock:
            for held in batch:
                self._held.pop(held.receipt_handle, None)

    def _extend_visibility(self) -> None:
        now = self._clock.monotonic()
        timeout = self._settings.visibility_timeout_seconds
        with self._lock:
            due = [
                h
                for h in self._held.values()
                if h.visible_until - now < max(timeout / 3, 5.0)
                and h.first_received + SQS_MAX_VISIBILITY_SECONDS - _CEILING_MARGIN > now + 1
            ]

        def seconds(held: _Held) -> int:
            # Never past SQS's 12-hour ceiling counted from the first receive.
            ceiling = held.first_received + SQS_MAX_VISIBILITY_SECONDS - _CEILING_MARGIN - now
            return int(min(timeout, ceiling))

        extended = self._set_visibility(due, seconds)
        for held in due:
            if held.receipt_handle in extended:
                held.visible_until = now + seconds(held)

    def _release(self, batch: list[_Held], *, visibility: int) -> None:
        # A failed release is not fatal: the message becomes visible when its timeout lapses.
        self._set_visibility(batch, lambda _held: visibility)
        self._forget(batch)
        if batch:
            self._metrics.sqs_messages.labels(outcome="released").inc(len(batch))
            self._log.info("messages released for redelivery", count=len(batch), visibility=visibility)

    def _set_visibility(self, batch: list[_Held], seconds: Callable[[_Held], int]) -> set[str]:
        """ChangeMessageVisibilityBatch, 10 at a time; returns the receipt handles that took."""
        done: set[str] = set()
        for start in range(0, len(batch), _BATCH):
            chunk = batch[start : start + _BATCH]
            entries: list[Any] = [
                {"Id": str(i), "ReceiptHandle": h.receipt_handle, "VisibilityTimeout": seconds(h)}
                for i, h in enumerate(chunk)
            ]
            try:
                response = self._client.change_message_visibility_batch(
                    QueueUrl=self._settings.queue_url, Entries=entries
                )
            except AWS_ERRORS:  # counted by the clients' error hook
                continue
            failed = {entry["Id"] for entry in response.get("Failed", [])}
            done.update(h.receipt_handle for i, h in enumerate(chunk) if str(i) not in failed)
        return done

    def release_all(self) -> None:
        """At exit: settle what is settled, then release everything still held (visibility 0)."""
        self.housekeeping()
        with self._lock:
            rest = list(self._held.values())
        self.uncovered += sum(1 for h in rest if h.outstanding > 0 or h.failed)
        self._release(rest, visibility=0)
        self._metrics.held_messages.set(self.held)


def _timestamp(millis: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(millis) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
