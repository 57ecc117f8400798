"""After CloudFront accepts an invalidation: announce it, show it.

- `[notify] eventbridge_bus`: a Notifier publishes the Created and Completed events
  (Completed with `wait_for_completion`, told by the completion tracker);
- `GET /status`: a StatusBoard shows what is pending, in flight and last done.

The pipeline tells `flushed` after each flush, the tracker `completed`; neither ever
waits on what happens here.
"""

from __future__ import annotations

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

__all__ = ["FollowUp"]


class FollowUp:
    """Completion events and /status, wired from the settings."""

    def __init__(self, settings: Settings, factory: ClientFactory, metrics: Metrics, clock: Clock) -> None:
        self._distributions = [site.distribution_id for site in settings.sites]
        self._clock = clock
        self._board: StatusBoard | None = None
        self._completion: CompletionTracker | None = None
        self.notifier: Notifier | None = None
        if settings.notify.eventbridge_bus:
            bus = settings.notify.eventbridge_bus
            self.notifier = Notifier(factory.events(), bus=bus, metrics=metrics, clock=clock)

    def watch(
        self, pending: Pending, in_progress: InProgress, completion: CompletionTracker | None = None
    ) -> None:
        """Show on /status what `pending` (the pipeline: batched or retrying) holds, and what runs;
        at `close`, what `completion` still follows gets no Completed event (counted as dropped)."""
        self._completion = completion
        self._board = StatusBoard(
            distributions=self._distributions, batcher=pending, in_progress=in_progress, clock=self._clock
        )

    def flushed(self, batch: Batch, result: FlushResult) -> None:
        """After each flush that created invalidations: /status, and Created events (queued only)."""
        if self._board is not None:
            self._board.flushed(batch, result)
        if self.notifier is not None:
            self.notifier.created(notices_for(batch, result, self._clock.time()))

    def unchanged(self, distribution_id: str, count: int) -> None:
        """A flush acknowledged `count` unchanged writes without an invalidation: /status counts them."""
        if self._board is not None:
            self._board.unchanged(distribution_id, count)

    def completed(self, distribution_id: str, invalidation_id: str) -> None:
        """CloudFront said Completed: a Completed event (queued only)."""
        if self.notifier is not None:
            self.notifier.completed(distribution_id, invalidation_id)

    def given_up(self, count: int, why: str) -> None:
        """Completed events that will never be sent (invalidations no longer followed): counted."""
        if self.notifier is not None:
            self.notifier.given_up(count, why)

    def status(self, accept: str) -> tuple[int, bytes, str]:
        """GET /status: (HTTP status, JSON body, content type)."""
        if self._board is None:
            return 503, b'{"error": "starting"}\n', "application/json"
        return self._board.route(accept)

    def close(self, grace: float) -> None:
        """Send the queued events for up to `grace` seconds, then stop."""
        if self._completion is not None:
            self._completion.close()  # still in progress: its Completed event is given up
        if self.notifier is not None:
            self.notifier.close(grace)
