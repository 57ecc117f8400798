"""The SQS messages this replica holds: settled under one lock, deleted and extended on workers.

The main loop calls `housekeeping()`, which only decides: under the lock it
picks the covered messages to delete, the failed ones to release and the ones
whose visibility runs out soon, marks them busy and hands chunks of 10 to the
workers. The AWS calls run there (deletes on a pool of their own, so several
can be in flight; visibility changes on another), each bounded by the client's
call budget. How many deletes are in flight follows SQS's answers (AIMD,
`core/inflight.py`): a slow queue gets one at a time, not a pile of calls that
each time out and are sent again. A message whose call failed backs off on its own schedule; a
receipt handle SQS calls invalid (another replica received the message, or its
visibility lapsed) is forgotten and counted: the message comes back, and is
covered again, a harmless duplicate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from watcher.awserrors import AWS_ERRORS, classify_code, error_code
from watcher.core.clock import Clock
from watcher.core.config import SqsSettings
from watcher.core.inflight import InFlightLimit
from watcher.core.workers import WorkerPool
from watcher.ops.metrics import Metrics
from watcher.sources import sqs_held
from watcher.sources.health import SourceHealth
from watcher.sources.sqs_held import BATCH, Held, change_visibility_batch, chunks, delete_batch, pick_due

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["Held", "HeldMessages"]

_WILL_RETRY = {"delete": "delete failed; will retry", "extend": "visibility extension failed; will retry"}


class HeldMessages:
    """Held messages and their acknowledgements; see the module docstring. Thread-safe."""

    def __init__(
        self,
        client: SQSClient,
        settings: SqsSettings,
        *,
        clock: Clock,
        metrics: Metrics,
        dry_run: bool = False,
        delete_workers: int = 4,
        visibility_workers: int = 2,
        unready_after: float = 120.0,
    ) -> None:
        self._client = client
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self._dry_run = dry_run
        self._lock = threading.Lock()
        self._held: dict[str, Held] = {}
        self._deletes = WorkerPool(delete_workers, "sqs-delete")
        self._delete_limit = InFlightLimit(delete_workers)
        self._visibility = WorkerPool(visibility_workers, "sqs-visibility")
        self.uncovered = 0  # messages with a change that failed (for --once's exit code)
        # Deletes apart from receives: a queue that refuses only deletes must not look healthy.
        self.delete_health = SourceHealth(
            "sqs", clock=clock, unready_after=unready_after, needs_first_success=False
        )
        self._log = structlog.get_logger("watcher.sqs").bind(queue=settings.queue_url)
        self._delete_batch = partial(delete_batch, client, settings.queue_url)
        self._change_visibility = partial(change_visibility_batch, client, settings.queue_url)

    # -- counts (any thread) -----------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)

    @property
    def unsettled(self) -> int:
        """Messages with changes not yet covered (what the hold limit counts)."""
        with self._lock:
            return sum(1 for h in self._held.values() if not h.settled)

    def visible_for(self, now: float) -> float:
        """Seconds until the first held message becomes visible again (inf with none held)."""
        with self._lock:
            return min((h.visible_until - now for h in self._held.values()), default=float("inf"))

    @property
    def held_changes(self) -> int:
        """Changes of held messages not yet covered (what memory grows with)."""
        with self._lock:
            return sum(h.outstanding for h in self._held.values() if not h.settled)

    @property
    def acks_behind(self) -> bool:
        """More covered messages wait for their delete than one round of delete calls takes
        (extra receivers wait: more messages would only slow a queue that lags already)."""
        with self._lock:
            waiting = sum(1 for h in self._held.values() if h.settled and not h.failed)
        return not self._dry_run and waiting > BATCH * self._delete_limit.ceiling

    # -- receiving and settling (any thread) ---------------------------------------------

    def add(self, held: Held) -> None:
        """A message was received; with no change to cover, it is settled at once."""
        with self._lock:
            self._held[held.receipt_handle] = held
            if held.outstanding <= 0:
                self._settle_locked(held)

    def settle(self, held: Held, *, failed: bool, retry_in: float = 0.0) -> None:
        """One change of `held` is covered (`failed=False`) or cannot be covered now."""
        with self._lock:
            held.outstanding -= 1
            if self._held.get(held.receipt_handle) is not held:
                return  # already forgotten (stale, or released at exit): nothing left to do
            if failed:
                held.failed = True
                held.retry_in = max(held.retry_in, retry_in)
            if held.outstanding <= 0 and not held.settled:
                self._settle_locked(held)

    def _settle_locked(self, held: Held) -> None:
        held.settled = True
        if held.failed:
            self.uncovered += 1
        elif held.poison and not self._dry_run and self._settings.on_poison == "keep":
            # Left to the queue's redrive policy: it reappears after the visibility
            # timeout, and maxReceiveCount sends it to the DLQ.
            self._held.pop(held.receipt_handle, None)
            self._metrics.sqs_messages.labels(outcome="kept").inc()

    # -- housekeeping (main thread: decides, never calls AWS) -------------------------

    def housekeeping(self) -> None:
        """Hand out deletes, releases and visibility extensions that are due."""
        deletes, releases, extends = self._due(self._clock.monotonic())
        for chunk in chunks(deletes):
            self._delete_limit.take(1)
            self._deletes.submit(partial(self._paced_delete, chunk))
        for chunk in chunks(releases):
            self._visibility.submit(partial(self._release, chunk, visibility=None))
        for chunk in chunks(extends):
            self._visibility.submit(partial(self._extend, chunk))
        self._metrics.held_messages.set(len(self))

    def _due(self, now: float) -> tuple[list[Held], list[Held], list[Held]]:
        room = BATCH * self._delete_limit.room()  # only this (main) thread takes slots
        with self._lock:
            due = pick_due(
                self._held.values(),
                now,
                timeout=self._settings.visibility_timeout_seconds,
                dry_run=self._dry_run,
                delete_room=room,
            )
            for receipt_handle in due.lapsed:
                del self._held[receipt_handle]
        return due.deletes, due.releases, due.extends

    # -- the calls (workers) -----------------------------------------------------------

    def _paced_delete(self, chunk: list[Held]) -> None:
        ok = False
        try:
            ok = self._delete(chunk, final=False)
        finally:
            self._delete_limit.done(ok=ok)

    def _delete(self, chunk: list[Held], *, final: bool) -> bool:
        """Delete the chunk; False when the call itself failed (its messages back off)."""
        response = self._attempt(chunk, "delete", final, self._delete_batch)
        if response is None:
            return False
        failed = self._failed_entries(chunk, response)
        refused = sorted({code for code in failed.values() if not classify_code(code).stale})
        self.delete_health.record(f"DeleteMessageBatch refused entries: {refused[0]}" if refused else None)
        deleted = [h for h in chunk if h.receipt_handle not in failed]
        self._forget(deleted)
        if deleted:
            self._metrics.sqs_messages.labels(outcome="deleted").inc(len(deleted))
            self._log.info(
                "messages deleted", count=len(deleted), message_ids=[h.message_id for h in deleted]
            )
        self._after_entry_failures(failed, final=final, what="delete")
        return True

    def _extend(self, chunk: list[Held]) -> None:
        now = self._clock.monotonic()
        timeout = self._settings.visibility_timeout_seconds
        seconds = {h.receipt_handle: int(min(timeout, h.seconds_to_ceiling(now))) for h in chunk}
        extend = partial(self._change_visibility, seconds=lambda h: seconds[h.receipt_handle])
        response = self._attempt(chunk, "extend", False, extend)
        if response is None:
            return
        failed = self._failed_entries(chunk, response)
        with self._lock:
            for held in chunk:
                if held.receipt_handle not in failed:
                    held.visible_until = now + seconds[held.receipt_handle]
                    held.busy, held.failures, held.retry_at, held.extend_retry_at = False, 0, 0.0, 0.0
        self._after_entry_failures(failed, final=False, what="extend")

    def _attempt(self, chunk: list[Held], what: str, final: bool, call: Callable[[list[Held]], Any]) -> Any:
        """The call's response; None after a failed call (counted, logged, its messages backed off)."""
        try:
            return call(chunk)
        except AWS_ERRORS as exc:
            code = self._call_failed(exc, what)
            self._log.warning(_WILL_RETRY[what], code=code, messages=len(chunk))
            if what == "delete":
                self.delete_health.failure(f"DeleteMessageBatch failed: {code}")
            self._back_off(chunk, forget=final, extension=what == "extend")
            return None

    def _release(self, chunk: list[Held], *, visibility: int | None) -> None:
        # A failed release is not fatal: the message becomes visible when its timeout lapses.
        try:
            self._change_visibility(chunk, lambda h: int(h.retry_in) if visibility is None else visibility)
        except AWS_ERRORS as exc:
            self._call_failed(exc, "release")
        self._forget(chunk)
        self._metrics.sqs_messages.labels(outcome="released").inc(len(chunk))
        self._log.info("messages released for redelivery", count=len(chunk))

    def _call_failed(self, exc: BaseException, what: str) -> str:
        code = error_code(exc)  # the failed call itself is counted by the clients' error hook
        self._metrics.retries.labels(reason=f"sqs_{what}_{code}"[:64]).inc()
        return code

    def _failed_entries(self, chunk: list[Held], response: Any) -> dict[str, str]:
        failed = sqs_held.refused_entries(chunk, response)
        for code in failed.values():
            self._metrics.count_aws_error("sqs", code)  # a refused entry: no failed call for the hook
        return failed

    def _after_entry_failures(self, failed: dict[str, str], *, final: bool, what: str) -> None:
        if not failed:
            return
        with self._lock:
            entries = [self._held[r] for r in failed if r in self._held]
        # Per-entry answers that mean "this receipt handle is gone": forget it, never retry.
        stale = [h for h in entries if classify_code(failed[h.receipt_handle]).stale]
        if stale:
            # Another replica received it, or its visibility lapsed: it comes back and
            # is covered again (a harmless duplicate). Retrying would never succeed.
            self._forget(stale)
            self._metrics.sqs_messages.labels(outcome="stale").inc(len(stale))
            self._log.warning(f"{what}: receipt handles no longer valid; forgotten", count=len(stale))
        self._back_off([h for h in entries if h not in stale], forget=final, extension=what == "extend")

    def _back_off(self, chunk: Iterable[Held], *, forget: bool, extension: bool = False) -> None:
        if forget:
            self._forget(list(chunk))
            return
        now = self._clock.monotonic()
        with self._lock:
            for held in chunk:
                held.back_off(now, extension=extension)

    def _forget(self, chunk: list[Held]) -> None:
        with self._lock:
            for held in chunk:
                self._held.pop(held.receipt_handle, None)

    # -- exit ------------------------------------------------------------------------------

    def release_all(self, deadline: float) -> None:
        """At exit: delete what is covered, release the rest (visibility 0), until `deadline`.

        One attempt each, all chunks in flight at once; what is not done by the
        deadline (SQS hanging) comes back when its visibility lapses.
        """
        # Real time: the workers, not an injected clock, make progress here.
        until = time.monotonic() + max(0.0, deadline - self._clock.monotonic())
        while time.monotonic() < until:
            deletes, releases = self._final_due()
            for chunk in chunks(deletes):
                self._deletes.submit(partial(self._delete, chunk, final=True))
            for chunk in chunks(releases):
                self._visibility.submit(partial(self._release, chunk, visibility=0))
            if not len(self):
                break
            time.sleep(0.02)
        self._deletes.shutdown()
        self._visibility.shutdown()
        self._metrics.held_messages.set(len(self))

    def _final_due(self) -> tuple[list[Held], list[Held]]:
        with self._lock:
            deletes, releases, uncovered = sqs_held.pick_final(self._held.values(), dry_run=self._dry_run)
            self.uncovered += uncovered
        return deletes, releases
