"""CreateInvalidation: frozen plans, idempotent CallerReferences (request.py), retries (sender.py).

A flush freezes its plan and its CallerReference (derived from the identities
of the batch's changes and the plan's paths), so a retry after a lost
response, even from a restarted process, returns the same invalidation.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog

from watcher.aws import CALL_BUDGET_SECONDS
from watcher.awserrors import Backoff
from watcher.cloudfront.bill import MonthlyBill
from watcher.cloudfront.inprogress import InProgress
from watcher.cloudfront.ratelimit import RateLimiter
from watcher.cloudfront.request import (
    CreatedInvalidation,
    Progress,
    Request,
    batch_prefix,
    caller_reference,
)
from watcher.cloudfront.sender import Sender
from watcher.core.batching import Batch
from watcher.core.clock import Clock
from watcher.core.model import Change
from watcher.core.planning import CLOUDFRONT_MAX_FILE_PATHS, InvalidationPlan, is_wildcard
from watcher.core.schedule import Schedule, schedule_requests
from watcher.core.strategy import Strategy
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["FlushResult", "Invalidator", "caller_reference"]

PERMANENT_FAILURE_RETRY_SECONDS = 30.0
# Changes held back for want of a free wildcard or file room come back after about
# the time an invalidation takes to complete (P95 ~25 s).
WAIT_FOR_ROOM_SECONDS = 30.0

Outcome = Literal["created", "failed", "dry_run"]


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What one flush achieved: the changes covered and those that were not."""

    distribution_id: str
    outcome: Outcome
    covered: tuple[Change, ...]
    failed: tuple[Change, ...]
    invalidation_ids: tuple[str, ...] = ()
    reason: str = ""
    # When the failed changes should come back: soon after a deadline or an outage,
    # later after a permanent refusal (so the redrive policy counts at a sane pace).
    retry_in: float = 0.0
    created: tuple[CreatedInvalidation, ...] = ()


class Invalidator:
    """Turns a batch into the fewest accepted CreateInvalidation calls that cover it."""

    def __init__(
        self,
        client: CloudFrontClient,
        *,
        clock: Clock,
        metrics: Metrics,
        limiter: RateLimiter,
        in_progress: InProgress,
        max_paths_per_request: int,
        max_wildcards_in_progress: int,
        dry_run: bool = False,
        rng: random.Random | None = None,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        on_call: Callable[[str, str | None, bool], None] | None = None,
        strategies: Mapping[str, Strategy] | None = None,
        bill: MonthlyBill | None = None,
        client_for: Callable[[str], CloudFrontClient] | None = None,
        call_seconds: float = CALL_BUDGET_SECONDS,
    ) -> None:
        """`on_call(distribution_id, error, outage)` hears every CreateInvalidation (readiness): error
        None when it succeeded; `outage` when the error is transient or throttling.

        `client_for(distribution_id)`: the distribution's own client (a role per site); by default
        the one `in_progress` uses.
        """
        self._clock = clock
        self._metrics = metrics
        self._in_progress = in_progress
        self._max_paths = max_paths_per_request
        self._max_wildcards = max_wildcards_in_progress
        self._dry_run = dry_run
        self._strategies = dict(strategies or {})
        self._sender = Sender(
            client_for=client_for or in_progress.client_for,
            clock=clock,
            metrics=metrics,
            limiter=limiter,
            in_progress=in_progress,
            backoff=Backoff(rng or random.Random(), base_delay, max_delay),
            on_call=on_call or (lambda _dist, _error, _outage: None),
            call_seconds=call_seconds,
            bill=bill,
        )
        # Wildcards CloudFront rejected (InvalidArgument), per distribution: never planned again.
        self._refused: dict[str, set[str]] = {}
        self._log = structlog.get_logger("watcher.invalidator")

    def strategy(self, distribution_id: str) -> Strategy:
        """The distribution's cost strategy ("exact" unless configured otherwise)."""
        return self._strategies.get(distribution_id) or Strategy("exact")

    def plan(self, batch: Batch) -> Schedule:
        """The frozen requests for a batch, within the wildcards and file paths free on its distribution.

        The batch's own invalidations in progress (a first attempt, before a restart) do not
        count: the retry plans what the first attempt planned, so it sends the same
        CallerReference and CloudFront answers with the same invalidation.
        """
        own = batch_prefix(batch.distribution_id, [change.identity for change in batch.changes])
        wildcards_used, files_used = self._in_progress.usage(batch.distribution_id, excluding=own)
        earlier = Schedule(
            tuple(
                InvalidationPlan(paths)
                for paths in self._in_progress.own_requests(batch.distribution_id, own)
            )
        )
        if earlier.requests and all(earlier.covers(path) for path in batch.paths):
            # A previous run's first attempt is still in progress: send exactly it again (same
            # paths, same CallerReference), whatever this run's planner would answer now.
            return earlier
        strategy = self.strategy(batch.distribution_id)
        refused = frozenset(self._refused.get(batch.distribution_id, ()))

        def planner(paths: Iterable[str], *, max_paths: int, wildcard_budget: int) -> InvalidationPlan:
            return strategy(paths, max_paths=max_paths, wildcard_budget=wildcard_budget, avoid=refused)

        return schedule_requests(
            batch.paths,
            max_paths=self._max_paths,
            wildcard_budget=max(0, self._max_wildcards - wildcards_used),
            file_room=CLOUDFRONT_MAX_FILE_PATHS - files_used,
            planner=planner,
        )

    def flush(
        self,
        batch: Batch,
        *,
        abort: threading.Event,
        deadline: float | Callable[[], float | None] | None = None,
    ) -> FlushResult:
        """Plan and send one batch; returns which changes are covered.

        Transient errors are retried with backoff until `abort` is set or the
        `deadline` (monotonic; or a function of it, asked before each attempt, as a drain
        may begin during a flush) would pass; then the uncovered changes fail. No attempt
        starts that could not end before the deadline (one call takes up to `call_seconds`):
        CloudFront could accept it after the messages were released, a duplicate.
        """
        dist = batch.distribution_id
        identities = [change.identity for change in batch.changes]
        plan = self.plan(batch)
        batch_ref = caller_reference(dist, identities, plan.paths)
        log = self._log.bind(distribution=dist, batch=batch_ref[4:16])
        strategy = self.strategy(dist)
        log.info(
            "batch flushed",
            strategy=strategy.name,
            changes=len(batch.entries),
            paths=len(plan.paths),  # billed: a wildcard is one path
            wildcards=sum(request.wildcards for request in plan.requests),
            collateral=strategy.collateral(InvalidationPlan(plan.paths), batch.paths),
            requests=len(plan.requests),
            deferred_paths=len(plan.deferred),
            distinct_input_paths=len(batch.paths),
        )
        if self._dry_run:
            log.info(
                "dry run: would create invalidation",
                paths=list(plan.paths[:50]),
                total=len(plan.paths),
            )
            self._metrics.invalidations.labels(distribution=dist, outcome="dry_run").inc()
            # What a real flush would have covered: the plan covers every change.
            return FlushResult(dist, "dry_run", covered=batch.changes, failed=())

        progress = Progress()
        for planned in plan.requests:
            deadline_at = deadline if callable(deadline) else (lambda fixed=deadline: fixed)
            request = Request(dist, list(planned.paths), identities, abort, deadline_at, log)
            self._send_isolating(request, progress)
        return self._result(batch, plan, progress, log)

    def _result(
        self, batch: Batch, plan: Schedule, progress: Progress, log: structlog.typing.FilteringBoundLogger
    ) -> FlushResult:
        """Which changes the accepted paths cover; counted and logged."""
        dist = batch.distribution_id
        covering = InvalidationPlan(paths=tuple(sorted(set(progress.accepted))))
        covered, failed, waiting = plan.settle(batch.entries, covering)
        # Held back (no free wildcard or file room) is not a failure: it waits for room.
        only_waiting = not progress.reasons and waiting == len(failed)
        outcome: Outcome = "created" if progress.ids and (not failed or only_waiting) else "failed"
        if progress.ids:
            purged = self.strategy(dist).collateral(covering, batch.paths)
            self._record_success(dist, covered, covering, purged)
        if failed and only_waiting:
            log.warning("changes held back until CloudFront has room in progress", waiting_changes=waiting)
        elif failed:
            self._metrics.invalidations.labels(distribution=dist, outcome="failed").inc()
            log.error("batch not fully covered", failed_changes=len(failed), reasons=progress.reasons[:5])
        if progress.ids and outcome == "created":
            self._metrics.invalidations.labels(distribution=dist, outcome="created").inc()
        room = WAIT_FOR_ROOM_SECONDS if waiting else 0.0
        return FlushResult(
            dist,
            outcome,
            tuple(covered),
            tuple(failed),
            tuple(progress.ids),
            reason="; ".join(progress.reasons[:3]) or ("waiting for room in progress" if waiting else ""),
            retry_in=PERMANENT_FAILURE_RETRY_SECONDS if progress.permanent else room,
            created=tuple(progress.created),
        )

    def _record_success(
        self, dist: str, covered: list[Change], covering: InvalidationPlan, purged: int | None
    ) -> None:
        now = self._clock.time()
        self._metrics.invalidation_paths.labels(distribution=dist).inc(len(covering.paths))
        self._metrics.billed_paths.labels(distribution=dist).inc(len(covering.paths))
        if purged:
            self._metrics.collateral_objects.labels(distribution=dist).inc(purged)
        self._metrics.last_invalidation.labels(distribution=dist).set(now)
        for change in covered:
            if change.event_time is not None:
                age = now - change.event_time.timestamp()
                self._metrics.event_to_invalidation.observe(max(0.0, age))

    def _send_isolating(self, request: Request, progress: Progress) -> None:
        """Send the request's paths; on InvalidArgument, bisect to isolate the bad path(s)."""
        log = request.log
        pending = [request.paths]
        while pending:
            part = request.part(pending.pop())
            sent = self._sender.send(part)
            if sent.status == "accepted":
                progress.accepted.extend(part.paths)
                progress.ids.append(sent.invalidation_id)
                progress.created.append(
                    CreatedInvalidation(sent.invalidation_id, part.ref, tuple(part.paths))
                )
            elif sent.status == "invalid" and len(part.paths) > 1:
                middle = len(part.paths) // 2
                log.warning(
                    "InvalidArgument: splitting the request to isolate the bad path", size=len(part.paths)
                )
                pending.extend([part.paths[middle:], part.paths[:middle]])
            else:
                if sent.status == "invalid":
                    log.error("CloudFront rejected a path", path=part.paths[0][:300], reason=sent.reason)
                    if is_wildcard(part.paths[0]):
                        self._refused.setdefault(request.dist, set()).add(part.paths[0])
                progress.reasons.append(sent.reason)
                progress.permanent = progress.permanent or sent.permanent or sent.status == "invalid"
