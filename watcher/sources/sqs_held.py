"""One held SQS message, as the acknowledgement workers see it, and the batches they send."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from watcher.core.config import SQS_MAX_VISIBILITY_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "BATCH",
    "Due",
    "Held",
    "change_visibility_batch",
    "chunks",
    "delete_batch",
    "pick_due",
    "pick_final",
    "refused_entries",
]

BATCH = 10  # SQS batch APIs take at most 10 entries
_CEILING_MARGIN = 60.0
_BACKOFF_BASE = 1.0
_BACKOFF_MAX = 10.0  # a hung call already takes up to the 10 s call budget


@dataclass(slots=True)
class Held:
    """One received message. Every field is read and written under `HeldMessages`'s lock."""

    message_id: str
    receipt_handle: str
    first_received: float
    visible_until: float
    outstanding: int
    poison: bool
    failed: bool = False
    retry_in: float = 0.0
    settled: bool = False
    busy: bool = False  # a call about it is in flight
    retry_at: float = 0.0  # after a failed call: not before this (monotonic)
    failures: int = 0
    # After a failed extension of a covered message (its delete backs off on `retry_at`).
    extend_retry_at: float = 0.0

    def seconds_to_ceiling(self, now: float) -> float:
        """Seconds left before SQS's 12-hour visibility ceiling (from the first receive), less a margin."""
        return self.first_received + SQS_MAX_VISIBILITY_SECONDS - _CEILING_MARGIN - now

    def back_off(self, now: float, *, extension: bool = False) -> None:
        """A call about it failed: not again before an exponentially growing delay (lock held).

        A covered message's extension backs off on its own: its delete may be due meanwhile.
        """
        self.failures += 1
        delay = min(_BACKOFF_MAX, _BACKOFF_BASE * 2 ** (self.failures - 1))
        if extension and self.covered:
            self.extend_retry_at = now + delay
        else:
            self.retry_at = now + delay
        self.busy = False

    @property
    def covered(self) -> bool:
        """Settled with every change covered: it waits only for its delete."""
        return self.settled and not self.failed

    def running_out(self, now: float, timeout: int) -> bool:
        """Its visibility runs out soon, and may still be extended (below the 12-hour ceiling)."""
        return self.visible_until - now < max(timeout / 3, 5.0) and self.seconds_to_ceiling(now) > 1


def chunks(items: list[Held]) -> list[list[Held]]:
    """Batches of at most BATCH messages, in order."""
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def delete_batch(client: SQSClient, queue_url: str, chunk: list[Held]) -> Any:
    """DeleteMessageBatch of one chunk (entry ids are the chunk's indexes)."""
    entries: list[Any] = [{"Id": str(i), "ReceiptHandle": h.receipt_handle} for i, h in enumerate(chunk)]
    return client.delete_message_batch(QueueUrl=queue_url, Entries=entries)


def change_visibility_batch(
    client: SQSClient, queue_url: str, chunk: list[Held], seconds: Callable[[Held], int]
) -> Any:
    """ChangeMessageVisibilityBatch of one chunk, each message to `seconds(held)`."""
    entries: list[Any] = [
        {"Id": str(i), "ReceiptHandle": h.receipt_handle, "VisibilityTimeout": seconds(h)}
        for i, h in enumerate(chunk)
    ]
    return client.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


@dataclass
class Due:
    """What one housekeeping pass hands out (marked busy), and the dry run's lapsed messages."""

    deletes: list[Held] = field(default_factory=list)
    releases: list[Held] = field(default_factory=list)
    extends: list[Held] = field(default_factory=list)
    lapsed: list[str] = field(default_factory=list)


def pick_due(held: Iterable[Held], now: float, *, timeout: int, dry_run: bool, delete_room: int) -> Due:
    """Covered messages to delete (at most `delete_room`), failed ones to release, and those whose
    visibility runs out soon; each picked one is marked busy (call under `HeldMessages`'s lock)."""
    due = Due()
    for message in held:
        if message.busy:
            continue
        if message.covered and not dry_run:
            _pick_covered(message, now, due, timeout=timeout, delete_room=delete_room)
            continue
        if message.retry_at > now:
            continue
        if message.covered:
            # Dry run: nothing is acknowledged and a settled message is no longer
            # kept alive; it returns to the queue when its visibility runs out.
            if message.visible_until <= now:
                due.lapsed.append(message.receipt_handle)
            continue
        if message.settled:  # and failed
            due.releases.append(message)
        elif message.running_out(now, timeout):
            due.extends.append(message)
        else:
            continue
        message.busy = True
    return due


def _pick_covered(message: Held, now: float, due: Due, *, timeout: int, delete_room: int) -> None:
    """A covered message: its delete, or, while the delete is retried, an extension (else a
    redelivery would invalidate its changes again)."""
    if message.running_out(now, timeout) and message.extend_retry_at <= now:
        due.extends.append(message)
    elif message.retry_at <= now and len(due.deletes) < delete_room:
        due.deletes.append(message)  # else it waits: as many deletes as may be in flight now
    else:
        return
    message.busy = True


def pick_final(held: Iterable[Held], *, dry_run: bool) -> tuple[list[Held], list[Held], int]:
    """At exit: (covered messages to delete, the others to release, how many of those were
    not covered); each picked one is marked busy (call under `HeldMessages`'s lock)."""
    deletes: list[Held] = []
    releases: list[Held] = []
    uncovered = 0
    for message in held:
        if message.busy:
            continue
        message.busy = True
        if message.covered and not dry_run:
            deletes.append(message)
        else:
            uncovered += not message.settled
            releases.append(message)
    return deletes, releases, uncovered


def refused_entries(chunk: list[Held], response: Any) -> dict[str, str]:
    """Receipt handle -> error code, for the entries of a batch call SQS refused."""
    failed: dict[str, str] = {}
    for entry in response.get("Failed", []):
        index = int(entry.get("Id", -1))
        if 0 <= index < len(chunk):
            failed[chunk[index].receipt_handle] = str(entry.get("Code", "Failed"))[:64]
    return failed
