"""Completion events: one EventBridge event when an invalidation is created, one when it completes.

Publishing never delays or blocks an invalidation: the flush only puts a notice
on a bounded queue (a full queue drops the notice and counts it); one worker
thread sends with PutEvents, retrying with backoff. Events are at least once:
consumers deduplicate on `detail.invalidation_id` and `detail-type`.
"""

from __future__ import annotations

import json
import queue
import random
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from watcher.awserrors import AWS_ERRORS, Backoff, error_code
from watcher.cloudfront.invalidator import FlushResult
from watcher.core.batching import Batch
from watcher.core.clock import Clock
from watcher.core.planning import is_wildcard
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

__all__ = [
    "COMPLETED",
    "CREATED",
    "SOURCE",
    "InvalidationNotice",
    "Notifier",
    "completed_detail",
    "created_detail",
    "notices_for",
]

SOURCE = "cloudfront-watcher"
CREATED = "CloudFront Invalidation Created"
COMPLETED = "CloudFront Invalidation Completed"
MAX_PATHS_IN_DETAIL = 100
# PutEvents takes 256 KiB per entry; paths may be up to 4,000 characters each.
_MAX_PATH_CHARS_IN_DETAIL = 150_000
_OUTCOMES = ("sent", "retried", "failed", "dropped")
_REMEMBERED = 1000  # created notices kept for their Completed event


@dataclass(frozen=True, slots=True)
class InvalidationNotice:
    """What the events say about one accepted invalidation."""

    distribution_id: str
    invalidation_id: str
    caller_reference: str
    paths: tuple[str, ...]
    changes: int
    oldest_change: datetime | None
    created_at: float  # unix time


def notices_for(batch: Batch, result: FlushResult, created_at: float) -> list[InvalidationNotice]:
    """One notice per invalidation a flush created, with its batch's change count and oldest change."""
    times = [change.event_time for change in batch.changes if change.event_time is not None]
    return [
        InvalidationNotice(
            result.distribution_id,
            created.invalidation_id,
            created.caller_reference,
            created.paths,
            changes=len(batch.entries),
            oldest_change=min(times, default=None),
            created_at=created_at,
        )
        for created in result.created
    ]


def _unix(moment: datetime | None) -> float | None:
    """Unix time of an instant; None when unknown or off the calendar (a hostile eventTime)."""
    if moment is None:
        return None
    try:
        return moment.astimezone(UTC).timestamp()  # raises for an instant outside years 1..9999 in UTC
    except (OverflowError, ValueError, OSError):
        return None


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def created_detail(notice: InvalidationNotice) -> dict[str, Any]:
    """The detail of a Created event (documented in README, "Completion events")."""
    shown: list[str] = []
    size = 0
    for path in notice.paths[:MAX_PATHS_IN_DETAIL]:
        size += len(path)
        if size > _MAX_PATH_CHARS_IN_DETAIL:
            break
        shown.append(path)
    oldest = _unix(notice.oldest_change)
    return {
        "distribution_id": notice.distribution_id,
        "invalidation_id": notice.invalidation_id,
        "caller_reference": notice.caller_reference,
        "paths_count": len(notice.paths),
        "wildcards_count": sum(1 for path in notice.paths if is_wildcard(path)),
        "paths": shown,
        "paths_truncated": len(shown) < len(notice.paths),
        "changes_count": notice.changes,
        "oldest_change_time": _iso(oldest) if oldest is not None else None,
        "created_time": _iso(notice.created_at),
        "lag_seconds": round(max(0.0, notice.created_at - oldest), 3) if oldest is not None else None,
    }


def completed_detail(notice: InvalidationNotice, completed_at: float) -> dict[str, Any]:
    """A Completed event: the Created detail, its completion time, lag measured to completion."""
    detail = created_detail(notice)
    oldest = _unix(notice.oldest_change)
    detail["completed_time"] = _iso(completed_at)
    detail["seconds_to_complete"] = round(max(0.0, completed_at - notice.created_at), 3)
    detail["lag_seconds"] = round(max(0.0, completed_at - oldest), 3) if oldest is not None else None
    return detail


class Notifier:
    """Bounded queue + one worker thread + PutEvents with retries; see the module docstring."""

    def __init__(
        self,
        client: EventBridgeClient,
        *,
        bus: str,
        metrics: Metrics,
        clock: Clock,
        queue_size: int = 1000,
        max_attempts: int = 6,
        base_delay: float = 1.0,
        max_delay: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._bus = bus
        self._metrics = metrics
        self._clock = clock
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(maxsize=queue_size)
        self._max_attempts = max_attempts
        self._backoff = Backoff(rng or random.Random(), base_delay, max_delay)
        self._stop = threading.Event()
        self._notices: OrderedDict[str, InvalidationNotice] = OrderedDict()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="notify", daemon=True)
        self._log = structlog.get_logger("watcher.notify").bind(bus=bus)
        for outcome in _OUTCOMES:
            self._metrics.notifications.labels(outcome=outcome)

    def start(self) -> None:
        """Start the worker (the first event does it too; a worker that died is replaced)."""
        with self._lock:
            if self._thread.is_alive() or self._stop.is_set():
                return
            if self._thread.ident is not None:  # started once and ended: a thread starts only once
                self._log.error("notify worker had ended; starting a new one")
                self._thread = threading.Thread(target=self._work, name="notify", daemon=True)
            self._thread.start()

    def given_up(self, count: int, why: str) -> None:
        """Events that will never be sent (invalidations no longer followed): counted as dropped."""
        if count > 0:
            self._metrics.notifications.labels(outcome="dropped").inc(count)
            self._log.warning("events given up", count=count, why=why)

    def created(self, notices: Sequence[InvalidationNotice]) -> None:
        """Queue a Created event per notice; never blocks."""
        for notice in notices:
            with self._lock:
                self._notices[notice.invalidation_id] = notice
                while len(self._notices) > _REMEMBERED:
                    self._notices.popitem(last=False)
            self._offer(CREATED, created_detail(notice))

    def completed(self, distribution_id: str, invalidation_id: str) -> None:
        """Queue a Completed event; never blocks."""
        with self._lock:
            notice = self._notices.pop(invalidation_id, None)
        if notice is None:  # created before a restart: say what is known
            notice = InvalidationNotice(distribution_id, invalidation_id, "", (), 0, None, self._clock.time())
        self._offer(COMPLETED, completed_detail(notice, self._clock.time()))

    def _offer(self, detail_type: str, detail: dict[str, Any]) -> None:
        if not self._thread.is_alive():
            self.start()
        try:
            self._queue.put_nowait((detail_type, detail))
        except queue.Full:
            self._metrics.notifications.labels(outcome="dropped").inc()
            self._log.warning("notification queue full; event dropped", detail_type=detail_type)

    def close(self, grace: float) -> None:
        """Send what is queued for up to `grace` seconds, then stop; the rest is dropped (counted)."""
        deadline = self._clock.monotonic() + grace
        while not self._queue.empty() and self._clock.monotonic() < deadline and self._thread.is_alive():
            self._clock.sleep(0.05)
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(max(0.0, deadline - self._clock.monotonic()) + 0.2)
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            self._metrics.notifications.labels(outcome="dropped").inc()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                detail_type, detail = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._send(detail_type, detail)
            except Exception:  # noqa: BLE001 - one event's bug must not end the events after it
                self._metrics.notifications.labels(outcome="failed").inc()
                self._log.exception("event not published: unexpected error", detail_type=detail_type)

    def _send(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry: Any = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, separators=(",", ":")),
            "EventBusName": self._bus,
        }
        log = self._log.bind(detail_type=detail_type, invalidation_id=detail["invalidation_id"])
        for attempt in range(self._max_attempts):
            problem = self._put(entry)
            if problem is None:
                self._metrics.notifications.labels(outcome="sent").inc()
                log.info("event published")
                return
            if attempt + 1 == self._max_attempts:
                break
            self._metrics.notifications.labels(outcome="retried").inc()
            log.warning("PutEvents failed; retrying", problem=problem, attempt=attempt + 1)
            if self._backoff.wait(self._clock, attempt, stop=self._stop):
                break  # shutting down
        self._metrics.notifications.labels(outcome="failed").inc()
        log.error("event not published", attempts=self._max_attempts)

    def _put(self, entry: Any) -> str | None:
        """None when EventBridge took the entry, else why not."""
        try:
            response = self._client.put_events(Entries=[entry])
        except AWS_ERRORS as exc:
            return error_code(exc)  # counted by the clients' error hook
        if response.get("FailedEntryCount", 0):
            failed = (response.get("Entries") or [{}])[0]
            code = str(failed.get("ErrorCode") or "FailedEntry")[:64]
            self._metrics.count_aws_error("events", code)  # a refused entry: no failed call for the hook
            return code
        return None
