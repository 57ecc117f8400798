"""`wait_for_completion`: follow each accepted invalidation until CloudFront says Completed.

Only observation: acknowledgement already happened when CloudFront accepted
the invalidation, so this never holds a message or a batch back. It answers
"when was my site really fresh?" (`invalidation_completion_seconds`) and keeps
`invalidations_in_progress` exact without waiting for the next flush.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from watcher.awserrors import AWS_ERRORS, error_code
from watcher.cloudfront.inprogress import InProgress
from watcher.cloudfront.request import OWN_REFERENCE_PREFIX
from watcher.core.clock import Clock
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["CheckSchedule", "CompletionTracker"]


@dataclass(frozen=True, slots=True)
class CheckSchedule:
    """When to ask about an invalidation again.

    CloudFront completes most invalidations in well under a minute (P95 ~25 s):
    ask soon, then less and less often, so a slow one costs few GetInvalidation
    calls. Past `give_up_after`, something is wrong on CloudFront's side: stop
    asking, say so once.
    """

    first: float = 2.0
    longest: float = 30.0
    growth: float = 1.5
    give_up_after: float = 3600.0


@dataclass(slots=True)
class _Followed:
    distribution_id: str
    invalidation_id: str
    accepted_at: float  # wall time, for the histogram
    started: float  # monotonic
    next_check: float  # monotonic
    interval: float
    checks: int = 0


class CompletionTracker:
    """Follows invalidations with GetInvalidation and backoff. `track` from any thread, `step` from one."""

    def __init__(
        self,
        client: CloudFrontClient,
        *,
        clock: Clock,
        metrics: Metrics,
        in_progress: InProgress,
        schedule: CheckSchedule | None = None,
        on_completed: Callable[[str, str], None] | None = None,
        client_for: Callable[[str], CloudFrontClient] | None = None,
        on_given_up: Callable[[int, str], None] | None = None,
        resume: Sequence[str] = (),
    ) -> None:
        """`on_given_up(count, why)`: invalidations no longer followed before they completed.

        `resume`: distributions whose invalidations in progress made by this daemon (its
        CallerReference prefix, by a previous run too) are followed from the first `step`.
        """
        # client_for(distribution_id): the distribution's own client (a role per site); by default
        # the one `in_progress` uses.
        self._client_for = client_for or in_progress.client_for
        self._clock = clock
        self._metrics = metrics
        self._in_progress = in_progress
        self._schedule = schedule or CheckSchedule()
        # Told (distribution id, invalidation id) once CloudFront says Completed; must not block.
        self._on_completed = on_completed
        self._on_given_up = on_given_up or (lambda _count, _why: None)
        self._to_resume = list(dict.fromkeys(resume))
        self._followed: dict[str, _Followed] = {}
        self._lock = threading.Lock()
        self._log = structlog.get_logger("watcher.completion")

    @property
    def pending(self) -> int:
        """Invalidations still followed."""
        with self._lock:
            return len(self._followed)

    def track(self, distribution_id: str, invalidation_id: str) -> None:
        """Start following an invalidation CloudFront just accepted (a repeat is ignored)."""
        now = self._clock.monotonic()
        with self._lock:
            self._followed.setdefault(
                invalidation_id,
                _Followed(
                    distribution_id,
                    invalidation_id,
                    accepted_at=self._clock.time(),
                    started=now,
                    next_check=now + self._schedule.first,
                    interval=self._schedule.first,
                ),
            )

    def step(self) -> None:
        """Ask CloudFront about every invalidation whose next check is due (first: pick up our own)."""
        if self._to_resume:
            self._resume(self._to_resume.pop(0))
        now = self._clock.monotonic()
        with self._lock:
            due = [f for f in self._followed.values() if f.next_check <= now]
        for followed in due:
            self._check(followed)

    def _resume(self, distribution_id: str) -> None:
        """Follow the distribution's invalidations in progress that this daemon made (a restart
        would otherwise lose their Completed events)."""
        self._in_progress.refresh(distribution_id)  # lists them, reads each one's CallerReference
        own = self._in_progress.running_with_reference(distribution_id, OWN_REFERENCE_PREFIX)
        for invalidation_id in own:
            self.track(distribution_id, invalidation_id)
        if own:
            self._log.info(
                "following our invalidations in progress", distribution=distribution_id, count=len(own)
            )

    def close(self) -> None:
        """Stop following: what is still followed will not get its Completed event (counted)."""
        with self._lock:
            count = len(self._followed)
            self._followed.clear()
        self._on_given_up(count, "still in progress at shutdown (a restart picks up its own)")

    def _check(self, followed: _Followed) -> None:
        log = self._log.bind(distribution=followed.distribution_id, invalidation_id=followed.invalidation_id)
        followed.checks += 1
        try:
            response = self._client_for(followed.distribution_id).get_invalidation(
                DistributionId=followed.distribution_id, Id=followed.invalidation_id
            )
        except AWS_ERRORS as exc:
            code = error_code(exc)
            if code == "NoSuchInvalidation":
                log.warning("invalidation vanished; no longer followed")
                self._forget(followed)
                self._on_given_up(1, "invalidation vanished")
                return
            log.warning("GetInvalidation failed; will ask again", code=code, attempt=followed.checks)
            self._reschedule(followed, log)
            return
        status = str(response["Invalidation"].get("Status", ""))
        if status.lower() != "completed":
            self._reschedule(followed, log)
            return
        seconds = max(0.0, self._clock.time() - followed.accepted_at)
        self._metrics.invalidation_completion.labels(distribution=followed.distribution_id).observe(seconds)
        self._in_progress.mark_completed(followed.distribution_id, followed.invalidation_id)
        self._forget(followed)
        log.info("invalidation completed", seconds=round(seconds, 2), checks=followed.checks)
        if self._on_completed is not None:
            self._on_completed(followed.distribution_id, followed.invalidation_id)

    def _reschedule(self, followed: _Followed, log: structlog.typing.FilteringBoundLogger) -> None:
        now = self._clock.monotonic()
        if now - followed.started >= self._schedule.give_up_after:
            log.warning(
                "invalidation still not completed; no longer followed",
                seconds=round(now - followed.started),
                checks=followed.checks,
            )
            self._forget(followed)
            self._on_given_up(1, "not completed in time")
            return
        followed.interval = min(self._schedule.longest, followed.interval * self._schedule.growth)
        followed.next_check = now + followed.interval

    def _forget(self, followed: _Followed) -> None:
        with self._lock:
            self._followed.pop(followed.invalidation_id, None)
