"""The content check: S3 lookups that tell an unchanged write from a change.

A write naming its version (a versioned bucket) starts a lookup when it is
submitted, on a small pool of threads (never on the main loop), so the lookups run
concurrently and inside the quiet period. The flush of its batch then `sift`s: it
waits for its lookups at most one call budget in all, acknowledges the unchanged
writes without an invalidation and sends the rest. Any doubt is a change (see
`watcher.core.content`): an error, AccessDenied, or a lookup not done in time.

A lookup (version_chain.py) costs ListObjectVersions (the version before), HeadObject
of the new version and, only when the bytes may be equal, HeadObject of the previous
one, unless that version was read before: versions are immutable, so what HeadObject
said of one is kept (a bounded cache), and a running daemon reads each version once.
The clients are the sites' own (role per site), built by `ClientFactory`, so their
failures are counted in `aws_errors_total` like every other call, and each call in
`content_lookup_calls_total`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from watcher.aws import CALL_BUDGET_SECONDS
from watcher.core.batching import Batch
from watcher.core.clock import Clock
from watcher.core.content import changed, head_fields, needs_lookup
from watcher.core.model import Change, Verdict
from watcher.core.workers import WorkerPool
from watcher.ops.metrics import Metrics
from watcher.sources.version_chain import OutOfTime, VersionCache, compare_with_previous

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["ContentCheck", "Sifted"]

# S3 answers in tens of milliseconds: 16 lookups at a time keep pace with `aws s3 sync`'s 10
# concurrent uploads (a lookup is two calls); the S3 clients pool 20 connections.
DEFAULT_WORKERS = 16
VERSION_CACHE_SIZE = 4096  # HeadObject facts of versions (a few hundred bytes each)

Entry = tuple[Change, tuple[str, ...]]


class _Lookup:
    """One write's comparison: a future, settled once (the first verdict wins)."""

    def __init__(self, change: Change, on_settled: Callable[[Change, Verdict], None]) -> None:
        self.future: Future[Verdict] = Future()  # the pool's job, once submitted
        self._change = change
        self._on_settled = on_settled
        self._verdict: Verdict | None = None
        self._lock = threading.Lock()

    @property
    def settled(self) -> bool:
        """A flush has taken a verdict: a lookup still queued need not call S3 any more."""
        with self._lock:
            return self._verdict is not None

    def settle(self, timeout: float) -> Verdict:
        """The verdict, waiting at most `timeout` seconds (a lookup not done by then: a change)."""
        try:
            verdict = self.future.result(timeout=max(0.0, timeout))
        except FutureTimeout:
            verdict = changed("lookup not done within its time budget")
        except Exception as exc:  # noqa: BLE001 - a bug in a lookup is a doubt: a change, never a crash
            verdict = changed(f"lookup failed: {type(exc).__name__}")
        with self._lock:
            first = self._verdict is None
            if first:
                self._verdict = verdict
            verdict = self._verdict or verdict
        if first:
            self._on_settled(self._change, verdict)
        return verdict


@dataclass(frozen=True, slots=True)
class Sifted:
    """A batch split by its verdicts: what to invalidate (None: nothing changed), the unchanged writes."""

    batch: Batch | None
    unchanged: tuple[Change, ...] = ()


class ContentCheck:
    """Starts lookups for writes as they are submitted; sifts each batch before its flush."""

    def __init__(
        self,
        client_for: Callable[[str], S3Client],
        *,
        clock: Clock,
        metrics: Metrics,
        skip_unchanged: bool = True,
        budget: float = CALL_BUDGET_SECONDS,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        self._client_for = client_for
        self._clock = clock
        self._metrics = metrics
        self._skip = skip_unchanged
        self._budget = budget
        self._workers = workers
        self._pool: WorkerPool | None = None  # started with the first lookup
        # A version never changes (new bytes or headers make a new version): what HeadObject said
        # of one is true for good. This deploy's new versions are the next deploy's predecessors.
        self._versions = VersionCache(VERSION_CACHE_SIZE)
        self._pool_lock = threading.Lock()
        self._log = structlog.get_logger("watcher.content")

    def start(self, change: Change) -> Change:
        """The change with its lookup started, or as it is when there is nothing to compare."""
        if not needs_lookup(change, skip_unchanged=self._skip):
            return change
        lookup = _Lookup(change, self._settled)
        # A job cancelled at shutdown raises CancelledError from settle(): a change.
        lookup.future = self._start_pool().submit(partial(self._compare, change, lookup))
        return replace(change, content=lookup)

    def sift(self, batch: Batch, *, deadline: float | None = None) -> Sifted:
        """Wait for the batch's lookups (one budget in all, less before `deadline`) and split it."""
        until = self._clock.monotonic() + self._budget
        if deadline is not None:
            until = min(until, deadline)
        kept: list[Entry] = []
        unchanged: list[Change] = []  # acknowledged by the pipeline without an invalidation
        for change, paths in batch.entries:
            pending = change.content
            if pending is not None and pending.settle(until - self._clock.monotonic()).unchanged:
                unchanged.append(change)
            else:
                kept.append((change, paths))
        if not unchanged:
            return Sifted(batch)
        return Sifted(replace(batch, entries=tuple(kept)) if kept else None, tuple(unchanged))

    def close(self) -> None:
        """No more lookups (shutdown): queued ones are cancelled, their writes are changes."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown()

    def _start_pool(self) -> WorkerPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = WorkerPool(self._workers, "content")
            return self._pool

    def _settled(self, change: Change, verdict: Verdict) -> None:
        outcome = "unchanged" if verdict.unchanged else "accepted"
        self._metrics.events.labels(source=change.source, outcome=outcome).inc()
        self._log.debug(
            "write compared",
            change=change.identity,
            bucket=change.bucket,
            key=change.key[:300],
            version_id=change.version_id,
            unchanged=verdict.unchanged,
            reason=verdict.reason,
        )

    def _compare(self, change: Change, lookup: _Lookup) -> Verdict:
        """The lookup itself (on a worker), within one budget from its start."""
        deadline = self._clock.monotonic() + self._budget
        client = self._client_for(change.bucket)
        call = partial(self._call, deadline, lookup)
        verdict, _ = compare_with_previous(client, change.bucket, change.key, str(change.version_id), call)
        return verdict

    def _call(
        self, deadline: float, lookup: _Lookup, name: str, method: Callable[..., Any], **kwargs: Any
    ) -> Any:
        version = (kwargs.get("Bucket"), kwargs.get("Key"), kwargs.get("VersionId"))
        if name == "HeadObject" and (known := self._versions.get(version)) is not None:
            return known
        if lookup.settled or self._clock.monotonic() >= deadline:
            raise OutOfTime
        self._metrics.content_lookup_calls.labels(call=name).inc()
        answer = method(**kwargs)
        if name == "HeadObject":
            self._versions.put(version, head_fields(answer))
        return answer
