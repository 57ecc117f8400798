"""A small pool of daemon threads: work handed out by a loop that must never wait.

Unlike `concurrent.futures.ThreadPoolExecutor`, whose threads are joined at
interpreter exit, these threads are daemons: a call stuck on a hung endpoint
(bounded, but seconds long) never holds the process past its shutdown timeout.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["WorkerPool"]

T = TypeVar("T")

_Job = tuple[Future[Any], Callable[[], Any]]


class WorkerPool:
    """`workers` daemon threads taking jobs in order; `submit` never blocks."""

    def __init__(self, workers: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Run `fn` on a worker; its result (or exception) lands in the returned future."""
        future: Future[T] = Future()
        if self._closed:
            future.cancel()
            return future
        self._jobs.put((future, fn))
        return future

    def shutdown(self) -> None:
        """No new jobs; queued ones are cancelled, running ones finish (or die with the process)."""
        self._closed = True
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].cancel()
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the future's owner
                future.set_exception(exc)
            else:
                future.set_result(result)
