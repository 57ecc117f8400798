"""Where changes come from: SQS notifications or scheduled ETag polls."""

from __future__ import annotations

from typing import Protocol

from watcher.sources.health import SourceHealth

__all__ = ["Source", "SourceHealth"]


class Source(Protocol):
    """What the lifecycle owner needs of a source."""

    name: str
    health: SourceHealth

    @property
    def uncovered(self) -> int:
        """Changes (or messages) that could not be covered (for --once's exit code)."""

    def housekeeping(self) -> None:
        """Main-thread work: hand out acknowledgements and keep-alives; never blocks on AWS."""

    def release_all(self, deadline: float) -> None:
        """At exit: acknowledge what is covered, give everything else back, by `deadline` (monotonic)."""
