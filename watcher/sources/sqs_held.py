"""One held SQS message, as the acknowledgement workers see it, and the batches they send."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BATCH", "Held", "chunks"]

BATCH = 10  # SQS batch APIs take at most 10 entries


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


def chunks(items: list[Held]) -> list[list[Held]]:
    """Batches of at most BATCH messages, in order."""
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]
