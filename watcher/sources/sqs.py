"""The SQS source: long-poll receive, hold messages invisible, delete only what is covered.

A message is deleted once every change in it is covered by an accepted
invalidation (or it held nothing to invalidate). Until then its visibility is
extended; a message whose changes failed is released for redelivery, and after
the queue's maxReceiveCount it reaches the DLQ. Those acknowledgements run on
workers (sqs_acks.py); here: receiving and parsing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from watcher.awserrors import AWS_ERRORS, error_code
from watcher.core.clock import Clock
from watcher.core.config import SqsSettings
from watcher.core.events import ParseResult, parse_body
from watcher.core.mode import RunMode
from watcher.core.model import Change
from watcher.ops.metrics import Metrics
from watcher.sources.health import SourceHealth
from watcher.sources.sqs_acks import HeldMessages
from watcher.sources.sqs_held import Held

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["MAX_HELD_CHANGES", "SqsSource"]

# The hold limit in changes: receiving pauses while this many changes wait to be covered
# (measured with tracemalloc: ~0.7 KiB a change routed and batched, ~7 MiB in all), however
# many records each body holds.
MAX_HELD_CHANGES = 10_000
# Messages held in all (covered ones waiting for their delete included), as a multiple of
# `max_held`: ~1 KiB each.
_COVERED_FACTOR = 4
# A change the pipeline could not take (a bug) comes back this much later, so that the
# queue's redrive policy counts its receives at a sane pace.
_HAND_ON_FAILED_RETRY_SECONDS = 30.0


@dataclass(slots=True)
class _MessageAck:
    """The acknowledgement each change of one message carries."""

    messages: HeldMessages
    held: Held

    def covered(self) -> None:
        """An accepted invalidation covers this change."""
        self.messages.settle(self.held, failed=False)

    def failed(self, retry_in: float = 0.0) -> None:
        """This change could not be covered now."""
        self.messages.settle(self.held, failed=True, retry_in=retry_in)


class SqsSource:
    """Receives S3 notifications from one standard queue."""

    name = "sqs"

    def __init__(
        self,
        client: SQSClient,
        settings: SqsSettings,
        *,
        receive_client: SQSClient | None = None,
        clock: Clock,
        metrics: Metrics,
        on_change: Callable[[Change], None],
        mode: RunMode | None = None,
        max_held: int = 2500,
        max_held_changes: int = MAX_HELD_CHANGES,
        unready_after: float = 120.0,
    ) -> None:
        self._receive_client = receive_client or client  # the long poll has timeouts of its own
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self._on_change = on_change
        self._max_held = max_held
        self._max_held_changes = max_held_changes
        self._dry_run = (mode or RunMode()).dry_run
        self._messages = HeldMessages(
            client, settings, clock=clock, metrics=metrics, dry_run=self._dry_run, unready_after=unready_after
        )
        self.health = SourceHealth(
            self.name, clock=clock, unready_after=unready_after, parts=[self._messages.delete_health]
        )
        self.received_once = False  # a receive succeeded (--once fails without one)
        # Receives that returned messages, on any receiver: --once's empty receive ends the
        # drain only if no other receiver got messages meanwhile.
        self.nonempty_receives = 0
        self._log = structlog.get_logger("watcher.sqs").bind(queue=settings.queue_url)

    # -- receiving (receiver thread) -------------------------------------------------

    @property
    def held(self) -> int:
        """Messages received and not yet deleted or released."""
        return len(self._messages)

    def visible_for(self, now: float) -> float:
        """Seconds until the first held message would become visible again (inf with none held)."""
        return self._messages.visible_for(now)

    @property
    def batch_size(self) -> int:
        """Messages one receive may return: a receive this full means a backlog."""
        return self._settings.max_messages

    @property
    def uncovered(self) -> int:
        """Messages with a change that could not be covered (for --once's exit code)."""
        return self._messages.uncovered

    @property
    def held_changes(self) -> int:
        """Changes of held messages not covered yet."""
        return self._messages.held_changes

    @property
    def saturated(self) -> bool:
        """`max_held_changes` changes or `max_held` messages held: stop receiving until flushes
        and deletes catch up.

        This bounds memory by what it grows with, the changes (a change and its paths:
        a few KiB), whatever the number of records per body (at most
        MAX_RECORDS_PER_BODY, beyond which a body is poison). A dry run deletes
        nothing: its covered messages leave only when their visibility lapses, so
        they count against a looser bound there, and a dry run keeps receiving.
        """
        if self.held_changes >= self._max_held_changes:
            return True
        if self._dry_run:
            return self._messages.unsettled >= self._max_held or self.held >= 2 * self._max_held
        # A covered message waiting for its delete holds no change (a receipt handle): while
        # deletes fail, receiving goes on up to a looser bound (and /readyz says why).
        return self._messages.unsettled >= self._max_held or self.held >= _COVERED_FACTOR * self._max_held

    @property
    def waiting_on_flush(self) -> bool:
        """The hold limit is reached by messages whose changes are not covered yet.

        Nothing more is received until their batches flush, so waiting for the
        quiet period cannot coalesce anything more: the main loop flushes them now.
        """
        return self._messages.unsettled >= self._max_held or self.held_changes >= self._max_held_changes

    @property
    def acks_behind(self) -> bool:
        """Covered messages wait for deletes the queue is slow to answer (extra receivers pause)."""
        return self._messages.acks_behind

    def receive(self, wait_time_seconds: int | None = None) -> int:
        """One (long-poll) receive; each change goes to `on_change`. Returns messages received."""
        wait = self._settings.wait_time_seconds if wait_time_seconds is None else wait_time_seconds
        try:
            response = self._receive_client.receive_message(
                QueueUrl=self._settings.queue_url,
                MaxNumberOfMessages=self._settings.max_messages,
                WaitTimeSeconds=wait,
                VisibilityTimeout=self._settings.visibility_timeout_seconds,
                MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
            )
        except AWS_ERRORS as exc:
            code = error_code(exc)  # counted by the clients' error hook
            self.health.failure(f"ReceiveMessage failed: {code}")
            self._log.warning("receive failed", code=code, error=str(exc)[:300])
            raise
        self.health.success()
        self.received_once = True
        messages = response.get("Messages", [])
        if messages:
            self.nonempty_receives += 1
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
        result = _parse(message, message_id, self.name)
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
        held = Held(
            message_id=message_id,
            receipt_handle=str(message["ReceiptHandle"]),
            first_received=now,
            visible_until=now + self._settings.visibility_timeout_seconds,
            outstanding=len(result.changes),
            poison=result.poison,
        )
        self._messages.add(held)
        self._metrics.held_messages.set(self.held)
        attributes = message.get("Attributes", {})
        if _int(attributes.get("ApproximateReceiveCount")) > 1:
            # Seen before (a crash, a lapsed visibility, a delete that failed): covered
            # again, a harmless duplicate, but worth counting.
            self._metrics.sqs_messages.labels(outcome="redelivered").inc()
        sent = _timestamp(attributes.get("SentTimestamp"))
        if not result.changes:
            return  # settled when added: deleted (or kept, for poison) by housekeeping
        ack = _MessageAck(self._messages, held)
        for change in result.changes:
            try:
                self._on_change(replace(change, ack=ack, event_time=change.event_time or sent))
            except Exception:  # noqa: BLE001 - a bug downstream fails this message alone, not the receive
                self._log.exception(
                    "change could not be handed on; its message is released", message_id=message_id
                )
                ack.failed(_HAND_ON_FAILED_RETRY_SECONDS)

    # -- housekeeping (main thread) -------------------------------------------------

    def housekeeping(self) -> None:
        """Hand out deletes of covered messages, releases of failed ones, visibility extensions.

        Never calls AWS itself: the calls run on workers (see sqs_acks.py).
        """
        self._messages.housekeeping()

    def release_all(self, deadline: float) -> None:
        """At exit: delete what is covered, release everything else (visibility 0), until `deadline`."""
        self._messages.release_all(deadline)


def _parse(message: Any, message_id: str, source: str) -> ParseResult:
    """The message's body parsed; any exception at all makes it one poison message (never the receive's)."""
    try:
        return parse_body(str(message.get("Body", "")), message_id=message_id, source=source)
    except Exception as exc:  # noqa: BLE001 - parse_body promises not to raise; this keeps the promise
        return ParseResult(rejected=(f"body could not be parsed: {type(exc).__name__}"[:200],))


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
