"""The lifecycle owner: runs the parts that watcher/wiring.py built, ticks, drains on stop.

Threads: a receiver (SQS long polls), the periodic jobs, the main loop (flush scheduling,
handing out acks and visibility extensions, heartbeat), the flush pool, the SQS ack
workers, the HTTP server. The main loop never calls AWS: a hung dependency never stalls
it. Signal handlers only set `stop`.
"""

from __future__ import annotations

from typing import Unpack

import structlog

from watcher.core.config import Settings
from watcher.core.mode import why_once_failed
from watcher.sources.poll import PollSource
from watcher.sources.receiver import Receiver
from watcher.wiring import BuildOptions, StartupError, build

__all__ = ["StartupError", "Watcher"]

_TICK = 0.1
_SHUTDOWN_MARGIN = 1.5  # flushes give up this long before the shutdown timeout ...
_ABORT_GRACE = 0.5  # ... and get this long to notice ...
_EXIT_MARGIN = 0.3  # ... acknowledgements and releases end this long before it


class Watcher:
    """The daemon: sources -> routing -> content -> batching -> invalidation -> acks.

    `Watcher(settings, **options)` builds its parts with `watcher.wiring.build` (the options
    are build's: clock, registry, clients, mode, stop, rate, serve_http, rng).
    """

    def __init__(self, settings: Settings, **options: Unpack[BuildOptions]) -> None:
        parts = self.parts = build(settings, **options)
        # The parts that the CLI, the tests and the benchmarks look at, by name.
        self.settings, self.mode, self.clock, self.stop = parts.settings, parts.mode, parts.clock, parts.stop
        self.metrics, self.pipeline, self.followup = parts.metrics, parts.pipeline, parts.followup
        self.bill, self.indexer = parts.bill, parts.indexer
        self.periodic, self.http = parts.periodic, parts.http
        self.invalidator, self.in_progress = parts.side.invalidator, parts.side.in_progress
        self.completion = parts.side.completion
        self.sources, self.sqs, self.poll = parts.sources.all, parts.sources.sqs, parts.sources.poll
        self._poll_failed = False
        self.once_failure = ""  # why --once exits 1 (watcher run says it on stderr)
        self._log = structlog.get_logger("watcher.app")

    def live(self) -> bool:
        """The main loop ticked recently (AWS outages do not make us dead)."""
        return self.parts.heartbeat.live()

    def unready_reason(self) -> str | None:
        """None when ready, else why not (one line)."""
        return self.parts.unready_reason()

    # -- loops ----------------------------------------------------------------------

    def run(self) -> int:
        """Run until stopped (or, with --once, until the queue is drained). Returns the exit code."""
        if self.http is not None:
            self.http.start()
        receiver = None
        if self.sqs is not None:
            receiver = Receiver(self.sqs, stop=self.stop, clock=self.clock, mode=self.mode)
            receiver.start()
        self.periodic.start()
        if self.poll is not None:
            self._start_polling(self.poll)
        self._log.info(
            "watcher started",
            sources=list(self.settings.watcher.sources),
            sites=len(self.settings.sites),
            dry_run=self.mode.dry_run,
            once=self.mode.once,
        )
        while not self.stop.is_set():
            self._tick()
            if self.mode.once and (receiver is None or receiver.done.is_set()):
                break
            self.clock.sleep(_TICK, self.stop)
        return self._drain(receiver)

    def _start_polling(self, poll: PollSource) -> None:
        # Cycles are periodic jobs (wiring.py); --once runs one cycle, right here, the drain flushes it.
        if self.mode.once and poll.run_cycle().outcome == "failed":
            self._poll_failed = True

    def _tick(self) -> None:
        """One turn of the main loop: decide and hand out; never an AWS call."""
        self.parts.heartbeat.beat()
        # A full hold of uncovered messages receives nothing more: its batches are due now.
        self.pipeline.dispatch(force=self.sqs is not None and self.sqs.waiting_on_flush)
        for source in self.sources:
            source.housekeeping()
        self.pipeline.publish_pending([site.distribution_id for site in self.settings.sites])

    def _drain(self, receiver: Receiver | None) -> int:
        """Flush everything pending, acknowledge what is covered, release the rest; within the timeout."""
        timeout = self.settings.watcher.shutdown_timeout_seconds
        started = self.clock.monotonic()
        if self.mode.once and not self.stop.is_set():
            # --once: the flush gets what is left of --max-seconds, at least the shutdown timeout.
            timeout = max(timeout, self.mode.max_seconds - (started - self.parts.heartbeat.started))
        end = started + timeout
        self._log.info("draining", pending_changes=self.pipeline.pending_changes(), timeout=timeout)
        self.stop.set()
        if self.poll is not None:
            self.poll.shutdown()  # no new cycle, and no waiting: a running one stops at its next page
        self.pipeline.drain(end - _SHUTDOWN_MARGIN)
        while self.clock.monotonic() < end - _SHUTDOWN_MARGIN:
            self._tick()
            receiving = receiver is not None and receiver.is_alive()
            if not receiving and not self.pipeline.busy:
                break
            self.clock.sleep(_TICK)
        self.pipeline.abort(grace=_ABORT_GRACE)
        if receiver is not None:
            # `check` keeps the shutdown timeout above the long poll: it has ended by now.
            receiver.join(max(0.0, end - _EXIT_MARGIN - self.clock.monotonic()))
        for source in self.sources:
            source.release_all(deadline=end - _EXIT_MARGIN)
        self.periodic.join(_EXIT_MARGIN / 2)
        self.followup.close(grace=min(0.5, max(0.0, end - _EXIT_MARGIN - self.clock.monotonic())))
        if self.http is not None:
            self.http.stop()
        self._log.info("watcher stopped", uncovered_messages=sum(s.uncovered for s in self.sources))
        never_received = self.sqs is not None and not self.sqs.received_once
        failed = receiver is not None and (receiver.failed or never_received)
        self.once_failure = why_once_failed(self.sources, self._poll_failed, failed) if self.mode.once else ""
        return 1 if self.once_failure else 0
