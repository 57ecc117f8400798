"""How this process runs, decided once (command line + config) and passed down."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RunMode"]


@dataclass(frozen=True, slots=True)
class RunMode:
    """`once`: drain the queue (or poll once), flush, exit; `max_seconds` bounds its receiving.

    `dry_run`: everything but CreateInvalidation; no acknowledgement reaches a
    source's backend (no SQS delete, no poll state written).
    """

    once: bool = False
    dry_run: bool = False
    max_seconds: float = 300.0
