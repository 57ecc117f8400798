"""How this process runs, decided once (command line + config) and passed down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["RunMode", "why_once_failed"]


@dataclass(frozen=True, slots=True)
class RunMode:
    """`once`: drain the queue (or poll once), flush, exit; `max_seconds` bounds its receiving.

    `dry_run`: everything but CreateInvalidation; no acknowledgement reaches a
    source's backend (no SQS delete, no poll state written).
    """

    once: bool = False
    dry_run: bool = False
    max_seconds: float = 300.0


class _Health(Protocol):
    @property
    def last_error(self) -> str: ...


class _Source(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def health(self) -> _Health: ...
    @property
    def uncovered(self) -> int: ...


def why_once_failed(sources: Sequence[_Source], poll_failed: bool, receive_failed: bool) -> str:
    """Why `run --once` exits 1, in one line for stderr; "" when it succeeds.

    It fails when the poll cycle failed, when receiving failed or no receive ever succeeded
    (a queue that never answered is not "drained"), or when a source left changes uncovered.
    """
    errors = {source.name: source.health.last_error for source in sources}
    uncovered = {source.name: source.uncovered for source in sources}
    reasons = []
    if poll_failed:
        reasons.append(f"the poll cycle failed ({errors.get('poll') or 'S3 listing'})")
    if receive_failed:
        reasons.append(f"receiving failed ({errors.get('sqs') or 'no answer'}): the queue was not drained")
    if uncovered.get("sqs"):
        reasons.append(f"{uncovered['sqs']} message(s) not covered by an invalidation, left on the queue")
    if uncovered.get("poll"):
        reasons.append(f"{uncovered['poll']} change(s) not invalidated; the next run sees them again")
    return "; ".join(reasons)
