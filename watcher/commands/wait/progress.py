"""How `wait` shows progress: a live display on a terminal, one plain line every 10 s in CI logs."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars

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


class RichProgress:
    """A bar per distribution (covered and completed of total), redrawn in place."""

    def __init__(self, stream: TextIO) -> None:
        self._bars = Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("completed {task.completed}/{task.total}"),
            TextColumn("covered {task.fields[covered]}/{task.total}"),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._closed = False
        self._bars.start()

    def update(self, progress: Mapping[str, DistributionProgress], now: float) -> None:
        """Move each distribution's bar."""
        for dist, entry in progress.items():
            task = self._tasks.get(dist)
            if task is None:
                task = self._tasks[dist] = self._bars.add_task(dist, total=entry.total or 1, covered=0)
            self._bars.update(
                task,
                total=entry.total or 1,
                completed=entry.completed if entry.total else 1,
                covered=entry.covered,
            )

    def close(self) -> None:
        """Leave the last state on screen (a second call does nothing)."""
        if not self._closed:
            self._closed = True
            self._bars.stop()


def make_progress(stream: TextIO | None = None) -> Progress:
    """Rich bars on a terminal, plain lines otherwise."""
    out = stream or sys.stderr
    if out.isatty():
        return RichProgress(out)
    return PlainProgress(out)
