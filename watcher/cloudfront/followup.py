"""After CloudFront accepts an invalidation: follow it to Completed, announce it, show it.

- `[invalidation] wait_for_completion`: a CompletionTracker follows each one;
- `[notify] eventbridge_bus`: a Notifier publishes the Created and Completed events;
- `GET /status`: a StatusBoard shows what is pending, in flight and last done.

The pipeline tells `flushed` after each flush, the tracker tells each completion;
neither ever waits on what happens here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from watcher.aws import ClientFactory
from watcher.cloudfront.completion import CompletionTracker
from watcher.cloudfront.inprogress import InProgress
from watcher.cloudfront.invalidator import FlushResult
from watcher.cloudfront.notify import Notifier, notices_for
from watcher.cloudfront.status import Pending, StatusBoard
from watcher.core.batching import Batch
from watcher.core.clock import Clock
from watcher.core.config import Settings
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["FollowUp"]


class FollowUp:
    """Completion tracking, completion events and /status, wired from the settings."""

    def __init__(
        self,
        settings: Settings,
        factory: ClientFactory,
        metrics: Metrics,
        clock: Clock,
        in_progress: InProgress,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._in_progress = in_progress
        self._board: StatusBoard | None = None
        self.notifier: Notifier | None = None
        if settings.notify.eventbridge_bus:
            bus = settings.notify.eventbridge_bus
            self.notifier = Notifier(factory.events(), bus=bus, metrics=metrics, clock=clock)

    def completion_tracker(self, cloudfront: CloudFrontClient) -> CompletionTracker | None:
        """With `wait_for_completion`, the tracker that follows each invalidation (telling the notifier)."""
        if not self._settings.invalidation.wait_for_completion:
            return None
        return CompletionTracker(
            cloudfront,
            clock=self._clock,
            metrics=self._metrics,
            in_progress=self._in_progress,
            on_completed=self.notifier.completed if self.notifier is not None else None,
        )

    def watch(self, pending: Pending) -> None:
        """Show what `pending` (the pipeline) holds on /status."""
        self._board = StatusBoard(
            distributions=[site.distribution_id for site in self._settings.sites],
            pending=pending,
            in_progress=self._in_progress,
            clock=self._clock,
        )

    def flushed(self, batch: Batch, result: FlushResult) -> None:
        """After each flush that created invalidations: /status, and Created events (queued only)."""
        if self._board is not None:
            self._board.flushed(batch, result)
        if self.notifier is not None:
            self.notifier.created(notices_for(batch, result, self._clock.time()))

    def status(self, accept: str) -> tuple[int, bytes, str]:
        """GET /status: (HTTP status, JSON body, content type)."""
        if self._board is None:
            return 503, b'{"error": "not started"}', "application/json"
        return self._board.route(accept)

    def close(self, grace: float) -> None:
        """Send the queued events for up to `grace` seconds, then stop."""
        if self.notifier is not None:
            self.notifier.close(grace)
