"""How `wait` shows progress: a live display on a terminal, one plain line every 10 s in CI logs.

The live display needs rich, an optional extra (`cloudfront-watcher[progress]`): the daemon
never loads it, and without it a terminal gets the plain lines too.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Protocol, TextIO

from watcher.commands.wait.coverage import DistributionProgress

__all__ = ["PlainProgress", "Progress", "make_progress"]

PLAIN_EVERY_SECONDS = 10.0


class Progress(Protocol):
    """Told about the state after each look; closed once at the end."""

    def update(self, progress: Mapping[str, DistributionProgress], now: float) -> None: ...

    def close(self) -> None: ...


def _summary(entry: DistributionProgress) -> str:
    return (
        f"{entry.distribution_id} covered {entry.covered}/{entry.total}, "
        f"completed {entry.completed}/{entry.total}, {len(entry.in_progress)} in progress"
    )


class PlainProgress:
    """One line per `every` seconds (the first at once): logs stay readable."""

    def __init__(self, stream: TextIO, *, every: float = PLAIN_EVERY_SECONDS) -> None:
        self._stream = stream
        self._every = every
        self._next = float("-inf")

    def update(self, progress: Mapping[str, DistributionProgress], now: float) -> None:
        """Print a line when one is due."""
        if now < self._next:
            return
        self._next = now + self._every
        line = "; ".join(_summary(entry) for entry in progress.values())
        print(f"waiting: {line}", file=self._stream, flush=True)

    def close(self) -> None:
        """Nothing to tear down."""


def make_progress(stream: TextIO | None = None) -> Progress:
    """Rich bars on a terminal (when rich is installed), plain lines otherwise."""
    out = stream or sys.stderr
    if out.isatty():
        try:
            from watcher.commands.wait.bars import RichProgress  # noqa: PLC0415 - optional extra
        except ImportError:
            return PlainProgress(out)
        return RichProgress(out)
    return PlainProgress(out)
