"""The poll source: list watched keys on a schedule, turn new ETags into Changes.

For buckets whose owners cannot add notifications. Each cycle lists every
site prefix, compares the watched keys' versions with the committed state and
submits a Change per difference; a version is committed only when the
invalidation covering it was accepted (see poll_state). `run_cycle()` is the
whole cycle, so tests (and `--once`) call it directly; poll_schedule only
decides when.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import structlog

from watcher.awserrors import AWS_ERRORS
from watcher.core.clock import Clock
from watcher.core.config import PollSettings, SiteSettings
from watcher.core.model import Change, ChangeKind
from watcher.ops.metrics import Metrics
from watcher.sources.health import SourceHealth
from watcher.sources.poll_content import without_unchanged
from watcher.sources.poll_scan import Scope, backoff_cycles, describe_list_error, list_scope, listing_scopes
from watcher.sources.poll_schedule import JOB, schedule_cycles
from watcher.sources.poll_state import Difference, PollState, Seen, differences, poll_change

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from watcher.ops.periodic import Periodic

__all__ = ["CycleResult", "PollSource"]

Outcome = Literal["ok", "baseline", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class CycleResult:
    """What one cycle did."""

    outcome: Outcome
    changes: int = 0
    list_calls: int = 0
    watched_keys: int = 0
    reason: str = ""


@dataclass(slots=True)
class _KeyAck:
    """The acknowledgement of one poll change: commits its version when covered."""

    source: PollSource
    bucket: str
    key: str
    seen: Seen | None  # None: the key vanished

    def covered(self) -> None:
        """An accepted invalidation covers the change: remember this version."""
        self.source.settle(self, covered=True)

    def failed(self, retry_in: float = 0.0) -> None:
        """Not covered: forget it was submitted, so the next cycle submits it again."""
        self.source.settle(self, covered=False)


class PollSource:
    """Watches the ETags of watched keys under every site prefix."""

    name = "poll"

    def __init__(
        self,
        client: S3Client,
        settings: PollSettings,
        sites: Sequence[SiteSettings],
        *,
        clock: Clock,
        metrics: Metrics,
        on_change: Callable[[Change], None],
        stop: threading.Event | None = None,
        dry_run: bool = False,
        unready_after: float = 120.0,
        on_listing: Callable[[str, str, list[str]], None] | None = None,
        client_for: Callable[[str], S3Client] | None = None,
        skip_unchanged: bool = False,
    ) -> None:
        # client_for(bucket): the bucket's own client (a site's role), else `client`.
        self._client_for = client_for or (lambda _bucket: client)
        self._on_listing = on_listing
        self._skip_unchanged = skip_unchanged  # [invalidation] skip_unchanged (poll_content.py)
        self._settings = settings
        self._scopes = listing_scopes(sites)
        self._clock = clock
        self._metrics = metrics
        self._on_change = on_change
        self._stop = stop or threading.Event()
        self.health = SourceHealth(self.name, clock=clock, unready_after=unready_after)
        self.uncovered = 0
        self.took_baseline = False
        self.last_cycle: CycleResult | None = None
        self._state = PollState(Path(settings.state_file) if settings.state_file else None, read_only=dry_run)
        self._pending: dict[tuple[str, str], _KeyAck] = {}
        self._lock = threading.Lock()
        self._cycle_lock = threading.Lock()
        self._failures = 0
        self._skip = 0
        self._schedule: Periodic | None = None
        self._log = structlog.get_logger("watcher.poll")
        loaded = self._state.load()
        (self._log.warning if loaded.warning else self._log.info)("poll state", detail=loaded.detail)

    @property
    def pending(self) -> int:
        """Changes submitted and not yet covered or failed."""
        with self._lock:
            return len(self._pending)

    # -- scheduling -------------------------------------------------------------------

    def schedule(self, periodic: Periodic) -> None:
        """Run a cycle when `periodic` starts, then every `[poll] interval_seconds` (see poll_schedule)."""
        schedule_cycles(periodic, self._scheduled_cycle, self._settings.interval_seconds)
        self._schedule = periodic

    def shutdown(self) -> None:
        """No more cycles. A running one is not waited for (S3 may hang): it stops at its next page,
        and what it found but did not get covered is seen again by the next run."""
        if self._schedule is not None:
            self._schedule.cancel(JOB)

    def _scheduled_cycle(self) -> None:
        try:
            self.run_cycle()
        except Exception:  # noqa: BLE001 - a bug in one cycle must not end polling
            self._log.exception("poll cycle crashed")
            self._metrics.poll_cycles.labels(outcome="failed").inc()

    # -- one cycle --------------------------------------------------------------------

    def run_cycle(self) -> CycleResult:
        """List every scope, submit a Change per difference (or take a baseline)."""
        if not self._cycle_lock.acquire(blocking=False):
            return self._finish(CycleResult("skipped", reason="a cycle is running"))
        try:
            if self._skip > 0:
                self._skip -= 1
                return self._finish(CycleResult("skipped", reason="backing off after S3 errors"))
            return self._finish(self._cycle())
        finally:
            self._cycle_lock.release()

    def _cycle(self) -> CycleResult:
        calls = 0

        def count_page() -> None:
            nonlocal calls
            calls += 1
            self._metrics.poll_list_calls.inc()

        listed: list[tuple[Scope, dict[str, Seen]]] = []
        for scope in self._scopes:
            keys: list[str] = []
            on_key = keys.append if self._on_listing is not None else None
            try:
                observed = list_scope(
                    self._client_for(scope.bucket),
                    scope,
                    self._settings.watch,
                    on_page=count_page,
                    stop=self._stop,
                    on_key=on_key,
                )
            except AWS_ERRORS as exc:
                return self._failed(scope, exc, calls)
            if observed is None:
                return CycleResult("skipped", list_calls=calls, reason="stopping")
            if self._on_listing is not None:
                self._on_listing(scope.bucket, scope.prefix, keys)
            listed.append((scope, observed))
        self._failures = 0
        self.health.success()
        changes, baseline = 0, False
        for scope, observed in listed:
            if self._state.has_scope(scope.name):
                committed = self._state.committed(scope.bucket, scope.prefix)
                found = differences(committed, observed)
                if self._skip_unchanged:  # versioned buckets: a re-upload of the committed content
                    client, commit = self._client_for(scope.bucket), self._state.commit
                    found = without_unchanged(
                        client, scope.bucket, found, committed, commit=commit, metrics=self._metrics
                    )
                changes += self._submit_all(scope, found)
            else:
                baseline = True
                changes += self._first_sight(scope, observed)
        watched = sum(len(observed) for _, observed in listed)
        return CycleResult("baseline" if baseline else "ok", changes, calls, watched)

    def _first_sight(self, scope: Scope, observed: dict[str, Seen]) -> int:
        if self._settings.invalidate_on_start:
            self._state.adopt([scope.name])
            created = [Difference(key, ChangeKind.CREATED, seen) for key, seen in sorted(observed.items())]
            self._log.info(
                "no saved state: invalidating every watched key", scope=scope.name, keys=len(created)
            )
            return self._submit_all(scope, created)
        self._state.baseline(scope.name, scope.bucket, scope.prefix, observed)
        self.took_baseline = True
        self._log.warning(
            "baseline taken: changes made before this cycle are not invalidated",
            scope=scope.name,
            watched_keys=len(observed),
        )
        return 0

    def _submit_all(self, scope: Scope, found: list[Difference]) -> int:
        submitted = 0
        for difference in found:
            removed = difference.kind is ChangeKind.REMOVED
            ack = _KeyAck(self, scope.bucket, difference.key, None if removed else difference.seen)
            with self._lock:
                held = self._pending.get((scope.bucket, difference.key))
                if held is not None and held.seen == ack.seen:
                    continue  # already on its way to an invalidation
                self._pending[(scope.bucket, difference.key)] = ack
            submitted += 1
            # Outside the lock: a change no site takes is acknowledged at once, in this thread.
            site_wide = self._settings.on_change == "site"
            self._on_change(poll_change(scope.bucket, difference, ack, site_wide=site_wide))
        return submitted

    def _failed(self, scope: Scope, exc: BaseException, calls: int) -> CycleResult:
        self._failures += 1
        self._skip = backoff_cycles(self._failures, self._settings.interval_seconds)
        reason, transient = describe_list_error(scope, exc)
        if transient:
            reason += f"; backing off {self._skip} more cycle(s)"
        log = self._log.warning if transient else self._log.error
        log("poll cycle failed", reason=reason, error=str(exc)[:300])
        self.health.failure(reason)
        return CycleResult("failed", list_calls=calls, reason=reason)

    def _finish(self, result: CycleResult) -> CycleResult:
        self.last_cycle = result
        self._metrics.poll_cycles.labels(outcome=result.outcome).inc()
        if result.outcome in ("ok", "baseline"):
            self._log.info(
                "poll cycle",
                outcome=result.outcome,
                changes=result.changes,
                list_calls=result.list_calls,
                watched_keys=result.watched_keys,
            )
        return result

    # -- acknowledgements (flush threads) -----------------------------------------------

    def settle(self, ack: _KeyAck, *, covered: bool) -> None:
        """One change found by a cycle is covered (its version commits) or failed (seen again later)."""
        with self._lock:
            latest = self._pending.get((ack.bucket, ack.key)) is ack
            if latest:
                del self._pending[(ack.bucket, ack.key)]
            if not covered:
                self.uncovered += 1
                return
        if latest:  # an older change covered after a newer one was seen: the newer commits
            self._state.commit(ack.bucket, ack.key, ack.seen)

    # -- main thread --------------------------------------------------------------------

    def housekeeping(self) -> None:
        """Persist committed versions (and baselines)."""
        try:
            self._state.save()
        except OSError as exc:
            self._log.error("cannot write the poll state file", path=str(self._state.path), error=str(exc))

    def release_all(self, deadline: float = 0.0) -> None:
        """At exit: stop cycling, save what is committed; what is not is seen again next run.

        Nothing here waits on AWS, so `deadline` needs no checking.
        """
        self.shutdown()
        with self._lock:
            self.uncovered += len(self._pending)
            self._pending.clear()
        self.housekeeping()
