"""The CloudFront side of the daemon, wired from `[invalidation]`: in progress, invalidator, completion."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from watcher.aws import CALL_BUDGET_SECONDS
from watcher.cloudfront.bill import MonthlyBill
from watcher.cloudfront.completion import CompletionTracker
from watcher.cloudfront.inprogress import InProgress
from watcher.cloudfront.invalidator import Invalidator
from watcher.cloudfront.ratelimit import RateLimiter
from watcher.core.clock import Clock
from watcher.core.config import InvalidationSettings
from watcher.core.strategy import Strategy
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["CloudFrontSide"]


@dataclass(frozen=True, slots=True)
class CloudFrontSide:
    """One CloudFront client's parts: one in-progress cache shared by the invalidator and completion."""

    in_progress: InProgress
    invalidator: Invalidator
    completion: CompletionTracker | None

    @classmethod
    def build(
        cls,
        client: CloudFrontClient,
        settings: InvalidationSettings,
        *,
        clock: Clock,
        metrics: Metrics,
        limiter: RateLimiter,
        dry_run: bool,
        rng: random.Random | None = None,
        on_call: Callable[[str, str | None, bool], None] | None = None,
        on_completed: Callable[[str, str], None] | None = None,
        strategies: Mapping[str, Strategy] | None = None,
        bill: MonthlyBill | None = None,
        client_for: Callable[[str], CloudFrontClient] | None = None,
        call_seconds: float = CALL_BUDGET_SECONDS,
        on_given_up: Callable[[int, str], None] | None = None,
        resume: Sequence[str] = (),
    ) -> CloudFrontSide:
        """The parts as `[invalidation]` asks (completion only with `wait_for_completion`)."""
        # client_for: a distribution's own client (a site's role_arn); the others use it too.
        in_progress = InProgress(client, clock=clock, metrics=metrics, client_for=client_for)
        invalidator = Invalidator(
            client,
            clock=clock,
            metrics=metrics,
            limiter=limiter,
            in_progress=in_progress,
            max_paths_per_request=settings.max_paths_per_request,
            max_wildcards_in_progress=settings.max_wildcards_in_progress,
            dry_run=dry_run,
            rng=rng,
            on_call=on_call,
            strategies=strategies,
            bill=bill,
            call_seconds=call_seconds,
        )
        completion = None
        if settings.wait_for_completion:
            completion = CompletionTracker(
                client,
                clock=clock,
                metrics=metrics,
                in_progress=in_progress,
                on_completed=on_completed,
                on_given_up=on_given_up,
                resume=resume,
            )
        return cls(in_progress, invalidator, completion)
