"""Where changes come from: SQS notifications or scheduled ETag polls."""

from __future__ import annotations

from typing import Protocol

from watcher.sources.health import SourceHealth

__all__ = ["Source", "SourceHealth"]


class Source(Protocol):
    """What the lifecycle owner needs of a source."""

    name: str
    health: SourceHealth
    uncovered: int

    def housekeeping(self) -> None:
        """Main-thread work: acknowledge settled changes, keep held ones alive."""

    def release_all(self) -> None:
        """At exit: acknowledge what is covered, give everything else back."""
