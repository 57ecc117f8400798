"""CreateInvalidation: frozen plans, idempotent CallerReferences, retries, one place to classify errors.

A flush freezes its plan and its CallerReference (derived from the identities
of the batch's changes and the plan's paths), so a retry after a lost
response, even from a restarted process, returns the same invalidation.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from watcher.aws import error_code, is_transient
from watcher.cloudfront.inprogress import InProgress
from watcher.cloudfront.ratelimit import RateLimiter
from watcher.core.batching import Batch
from watcher.core.clock import Clock
from watcher.core.model import Change
from watcher.core.planning import InvalidationPlan, plan_invalidation
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["FlushResult", "Invalidator", "caller_reference"]

CLOUDFRONT_MAX_PATHS = 3000
PERMANENT_FAILURE_RETRY_SECONDS = 30.0
# Give up on one batch after this long of transient errors: its messages go back
# to the queue and come again as a new batch (the visibility ceiling is 12 h).
MAX_RETRY_SECONDS = 3600.0
_PERMANENT_CODES = frozenset({"NoSuchDistribution", "AccessDenied", "InvalidationBatchAlreadyExists"})

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


@dataclass(frozen=True, slots=True)
class _Sent:
    status: Literal["accepted", "invalid", "failed"]
    invalidation_id: str = ""
    reason: str = ""
    permanent: bool = False


def caller_reference(distribution_id: str, identities: Sequence[str], paths: Sequence[str]) -> str:
    """Derived from the batch's change identities and the frozen paths: same batch, same reference."""
    digest = hashlib.sha256()
    digest.update(distribution_id.encode())
    for identity in sorted(set(identities)):
        digest.update(b"\0" + identity.encode())
    digest.update(b"\1")
    for path in sorted(paths):
        digest.update(b"\0" + path.encode())
    return "cfw-" + digest.hexdigest()[:40]


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
        client_for: Callable[[str], CloudFrontClient] | None = None,
    ) -> None:
        # client_for(distribution_id): the distribution's own client (a role per site), else `client`.
        self._client_for = client_for or (lambda _distribution_id: client)
        self._clock = clock
        self._metrics = metrics
        self._limiter = limiter
        self._in_progress = in_progress
        self._max_paths = max_paths_per_request
        self._max_wildcards = max_wildcards_in_progress
        self._dry_run = dry_run
        self._rng = rng or random.Random()
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._log = structlog.get_logger("watcher.invalidator")

    def plan(self, batch: Batch) -> InvalidationPlan:
        """The frozen plan for a batch, within the wildcards free on its distribution."""
        wildcards_used = self._in_progress.wildcards(batch.distribution_id)
        budget = max(0, self._max_wildcards - wildcards_used)
        return plan_invalidation(batch.paths, max_paths=self._max_paths, wildcard_budget=budget)

    def flush(self, batch: Batch, *, abort: threading.Event, deadline: float | None = None) -> FlushResult:
        """Plan and send one batch; returns which changes are covered.

        Transient errors are retried with backoff until `abort` is set or the
        `deadline` (monotonic) would pass; then the uncovered changes fail.
        """
        dist = batch.distribution_id
        identities = [change.identity for change in batch.changes]
        plan = self.plan(batch)
        batch_ref = caller_reference(dist, identities, plan.paths)
        log = self._log.bind(distribution=dist, batch=batch_ref[4:16])
        log.info(
            "batch flushed",
            changes=len(batch.entries),
            paths=len(plan.paths),
            wildcards=plan.wildcards,
            distinct_input_paths=len(batch.paths),
        )
        if self._dry_run:
            log.info(
                "dry run: would create invalidation",
                paths=list(plan.paths[:50]),
                total=len(plan.paths),
            )
            self._metrics.invalidations.labels(distribution=dist, outcome="dry_run").inc()
            return FlushResult(dist, "dry_run", covered=(), failed=batch.changes)

        accepted: list[str] = []
        ids: list[str] = []
        reasons: list[str] = []
        permanent: list[bool] = []
        chunks = [
            list(plan.paths[i : i + CLOUDFRONT_MAX_PATHS])
            for i in range(0, len(plan.paths), CLOUDFRONT_MAX_PATHS)
        ]
        for chunk in chunks:
            self._send_isolating(
                dist=dist,
                paths=chunk,
                identities=identities,
                abort=abort,
                deadline=deadline,
                log=log,
                accepted=accepted,
                ids=ids,
                reasons=reasons,
                permanent=permanent,
            )

        covering = InvalidationPlan(paths=tuple(sorted(set(accepted))))
        covered: list[Change] = []
        failed: list[Change] = []
        for change, paths in batch.entries:
            (covered if all(covering.covers(p) for p in paths) else failed).append(change)
        outcome: Outcome = "created" if ids and not failed else "failed"
        if ids:
            self._record_success(dist, covered, len(covering.paths))
        if failed:
            self._metrics.invalidations.labels(distribution=dist, outcome="failed").inc()
            log.error("batch not fully covered", failed_changes=len(failed), reasons=reasons[:5])
        elif ids:
            self._metrics.invalidations.labels(distribution=dist, outcome="created").inc()
        return FlushResult(
            dist,
            outcome,
            tuple(covered),
            tuple(failed),
            tuple(ids),
            reason="; ".join(reasons[:3]),
            retry_in=PERMANENT_FAILURE_RETRY_SECONDS if any(permanent) else 0.0,
        )

    def _record_success(self, dist: str, covered: list[Change], path_count: int) -> None:
        now = self._clock.time()
        self._metrics.invalidation_paths.labels(distribution=dist).inc(path_count)
        self._metrics.last_invalidation.labels(distribution=dist).set(now)
        for change in covered:
            if change.event_time is not None:
                age = now - change.event_time.timestamp()
                self._metrics.event_to_invalidation.observe(max(0.0, age))

    def _send_isolating(
        self,
        *,
        dist: str,
        paths: list[str],
        identities: list[str],
        abort: threading.Event,
        deadline: float | None,
        log: structlog.typing.FilteringBoundLogger,
        accepted: list[str],
        ids: list[str],
        reasons: list[str],
        permanent: list[bool],
    ) -> None:
        """Send `paths`; on InvalidArgument, bisect to isolate the bad path(s)."""
        pending = [paths]
        while pending:
            part = pending.pop()
            ref = caller_reference(dist, identities, part)
            sent = self._send(dist=dist, paths=part, ref=ref, abort=abort, deadline=deadline, log=log)
            if sent.status == "accepted":
                accepted.extend(part)
                ids.append(sent.invalidation_id)
            elif sent.status == "invalid" and len(part) > 1:
                middle = len(part) // 2
                log.warning("InvalidArgument: splitting the request to isolate the bad path", size=len(part))
                pending.extend([part[middle:], part[:middle]])
            else:
                if sent.status == "invalid":
                    log.error("CloudFront rejected a path", path=part[0][:300], reason=sent.reason)
                reasons.append(sent.reason)
                permanent.append(sent.permanent or sent.status == "invalid")

    def _send(
        self,
        *,
        dist: str,
        paths: list[str],
        ref: str,
        abort: threading.Event,
        deadline: float | None,
        log: structlog.typing.FilteringBoundLogger,
    ) -> _Sent:
        started = self._clock.monotonic()
        attempt = 0
        while True:
            if abort.is_set():
                return _Sent("failed", reason="aborted (shutdown deadline)")
            if not self._limiter.acquire(abort=abort, deadline=deadline):
                return _Sent("failed", reason="no request slot before the deadline")
            t0 = self._clock.monotonic()
            try:
                response = self._client_for(dist).create_invalidation(
                    DistributionId=dist,
                    InvalidationBatch={
                        "Paths": {"Quantity": len(paths), "Items": paths},
                        "CallerReference": ref,
                    },
                )
            except (ClientError, BotoCoreError, OSError) as exc:
                self._metrics.invalidation_request.observe(self._clock.monotonic() - t0)
                code = error_code(exc)
                self._metrics.aws_errors.labels(service="cloudfront", code=code).inc()
                if code == "InvalidArgument":
                    return _Sent("invalid", reason=f"InvalidArgument: {exc}")
                if code in _PERMANENT_CODES or not is_transient(exc):
                    log.error("invalidation failed permanently", code=code, error=str(exc)[:300])
                    return _Sent("failed", reason=f"{code}: {exc}", permanent=True)
                delay = self._backoff(code, attempt)
                waited = self._clock.monotonic() - started
                if waited + delay > MAX_RETRY_SECONDS:
                    return _Sent("failed", reason=f"{code}: still failing after {waited:.0f}s")
                if deadline is not None and self._clock.monotonic() + delay > deadline:
                    return _Sent("failed", reason=f"{code}: no time left before the deadline")
                self._metrics.retries.labels(reason=code).inc()
                log.warning(
                    "retrying CreateInvalidation",
                    reason=code,
                    attempt=attempt + 1,
                    delay=round(delay, 2),
                )
                self._clock.sleep(delay, abort)
                attempt += 1
                continue
            self._metrics.invalidation_request.observe(self._clock.monotonic() - t0)
            invalidation = response["Invalidation"]
            self._in_progress.record(dist, invalidation["Id"], paths, created=self._clock.time())
            log.info(
                "invalidation created",
                invalidation_id=invalidation["Id"],
                caller_reference=ref,
                paths=len(paths),
                status=invalidation.get("Status"),
                sample=paths[:10],
            )
            return _Sent("accepted", invalidation_id=invalidation["Id"])

    def _backoff(self, code: str, attempt: int) -> float:
        # Full jitter (AWS architecture blog). Quota errors wait for invalidations
        # to complete (P95 ~25 s), so they start higher than throttling.
        base = self._base_delay * (5 if code == "TooManyInvalidationsInProgress" else 1)
        ceiling = min(self._max_delay, base * (2**attempt))
        return max(self._base_delay / 2, self._rng.uniform(0, ceiling))
