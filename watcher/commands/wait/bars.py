"""`wait`'s live display: a bar per distribution, drawn with rich (the `progress` extra)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars

from watcher.commands.wait.coverage import DistributionProgress

__all__ = ["RichProgress"]


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
