"""One CreateInvalidation request, sent until accepted, refused, out of time or out of retries.

Transient errors are retried with full-jitter backoff (the same CallerReference, so a
lost answer never makes a duplicate); no attempt starts that could not end before the
request's deadline (a drain's): CloudFront could accept it after the messages were
released. Every outcome is told to readiness (`on_call`), per distribution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from watcher.awserrors import AWS_ERRORS, Backoff, classify
from watcher.cloudfront.bill import MonthlyBill
from watcher.cloudfront.inprogress import InProgress
from watcher.cloudfront.ratelimit import RateLimiter
from watcher.cloudfront.request import Request, Sent
from watcher.core.clock import Clock
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["MAX_RETRY_SECONDS", "Sender"]

# Give up on one batch after this long of transient errors: its messages go back
# to the queue and come again as a new batch (the visibility ceiling is 12 h).
MAX_RETRY_SECONDS = 3600.0


class Sender:
    """Sends one request with retries; see the module docstring."""

    def __init__(
        self,
        *,
        client_for: Callable[[str], CloudFrontClient],
        clock: Clock,
        metrics: Metrics,
        limiter: RateLimiter,
        in_progress: InProgress,
        backoff: Backoff,
        on_call: Callable[[str, str | None, bool], None],
        call_seconds: float,
        bill: MonthlyBill | None = None,
    ) -> None:
        self._client_for = client_for
        self._clock = clock
        self._metrics = metrics
        self._limiter = limiter
        self._in_progress = in_progress
        self._backoff = backoff
        self._on_call = on_call
        self._call_seconds = call_seconds  # the longest one CreateInvalidation may take
        self._bill = bill

    def send(self, request: Request) -> Sent:
        """One CreateInvalidation, retried with backoff while the errors are transient."""
        started = self._clock.monotonic()
        attempt = 0
        while True:
            if request.abort.is_set():
                return Sent("failed", reason="aborted (shutdown deadline)")
            deadline = request.deadline
            last_start = None if deadline is None else deadline - self._call_seconds
            if last_start is not None and self._clock.monotonic() > last_start:
                return Sent("failed", reason="no time left to finish a call before the deadline")
            if not self._limiter.acquire(abort=request.abort, deadline=last_start):
                return Sent("failed", reason="no request slot before the deadline")
            t0 = self._clock.monotonic()
            try:
                response = self._client_for(request.dist).create_invalidation(
                    DistributionId=request.dist,
                    InvalidationBatch={
                        "Paths": {"Quantity": len(request.paths), "Items": request.paths},
                        "CallerReference": request.ref,
                    },
                )
            except AWS_ERRORS as exc:
                self._metrics.invalidation_request.observe(self._clock.monotonic() - t0)
                verdict = self._after_error(request, exc, attempt, waited=self._clock.monotonic() - started)
                if isinstance(verdict, Sent):
                    return verdict
                self._clock.sleep(verdict, request.abort)
                attempt += 1
                continue
            self._metrics.invalidation_request.observe(self._clock.monotonic() - t0)
            self._on_call(request.dist, None, False)
            return self._created(request, response["Invalidation"])

    def _after_error(
        self, request: Request, exc: BaseException, attempt: int, *, waited: float
    ) -> Sent | float:
        """The outcome of a failed attempt, or the delay before the next one."""
        error = classify(exc)
        code = error.code
        if code == "InvalidArgument":
            return Sent("invalid", reason=f"InvalidArgument: {exc}")  # a bad path, not a failing distribution
        self._on_call(request.dist, f"CreateInvalidation failed: {code}", error.retryable)
        if not error.retryable:
            request.log.error("invalidation failed permanently", code=code, error=str(exc)[:300])
            return Sent("failed", reason=f"{code}: {exc}", permanent=True)
        delay = self._backoff.delay(attempt, code)
        if waited + delay > MAX_RETRY_SECONDS:
            return Sent("failed", reason=f"{code}: still failing after {waited:.0f}s")
        deadline = request.deadline
        if deadline is not None and self._clock.monotonic() + delay + self._call_seconds > deadline:
            return Sent("failed", reason=f"{code}: no time left before the deadline")
        self._metrics.retries.labels(reason=code).inc()
        request.log.warning(
            "retrying CreateInvalidation", reason=code, attempt=attempt + 1, delay=round(delay, 2)
        )
        return delay

    def _created(self, request: Request, invalidation: Any) -> Sent:
        self._in_progress.record(
            request.dist, invalidation["Id"], request.paths, created=self._clock.time(), reference=request.ref
        )
        if self._bill is not None:
            self._bill.record(request.dist, invalidation["Id"], len(request.paths))
        request.log.info(
            "invalidation created",
            invalidation_id=invalidation["Id"],
            caller_reference=request.ref,
            paths=len(request.paths),
            status=invalidation.get("Status"),
            sample=request.paths[:10],
        )
        return Sent("accepted", invalidation_id=invalidation["Id"])
