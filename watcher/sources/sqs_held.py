"""One held SQS message, and the batch entries of the calls made about held messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["BATCH", "Held", "chunks", "delete_entries", "refused_entries", "visibility_entries"]

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
    """Batches of at most 10."""
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def delete_entries(chunk: list[Held]) -> list[Any]:
    """DeleteMessageBatch entries; the Id is the index in `chunk`."""
    return [{"Id": str(i), "ReceiptHandle": h.receipt_handle} for i, h in enumerate(chunk)]


def visibility_entries(chunk: list[Held], seconds: Callable[[Held], int]) -> list[Any]:
    """ChangeMessageVisibilityBatch entries; the Id is the index in `chunk`."""
    return [
        {"Id": str(i), "ReceiptHandle": h.receipt_handle, "VisibilityTimeout": seconds(h)}
        for i, h in enumerate(chunk)
    ]


def refused_entries(chunk: list[Held], response: Any) -> dict[str, str]:
    """Receipt handle -> error code, for the entries of a batch call that SQS refused."""
    refused: dict[str, str] = {}
    for entry in response.get("Failed", []):
        index = int(entry.get("Id", -1))
        if 0 <= index < len(chunk):
            refused[chunk[index].receipt_handle] = str(entry.get("Code", "Failed"))[:64]
    return refused
