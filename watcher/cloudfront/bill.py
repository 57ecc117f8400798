"""What invalidations cost this month: paths billed per distribution, rebuilt from CloudFront.

CloudFront bills every invalidation path (a wildcard is one) past the first
1,000 a month per account. The month's count is rebuilt at start from
ListInvalidations + GetInvalidation (in the background), so a restart does not
reset it, then kept current from our own accepted invalidations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from watcher.awserrors import AWS_ERRORS, error_code
from watcher.core.clock import Clock
from watcher.core.routing import SiteLike
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["FREE_PATHS_PER_MONTH", "MonthUsage", "MonthlyBill", "month_of", "month_usage"]

FREE_PATHS_PER_MONTH = 1000
# ListInvalidations pages of 100: enough for 5,000 invalidations in a month, and bounded.
_MAX_PAGES = 50
_MONTH_CHECK_SECONDS = 3600.0


def month_of(timestamp: float) -> str:
    """'YYYY-MM' (UTC) of a unix time."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m")


@dataclass(slots=True)
class MonthUsage:
    """One distribution's invalidations of one month and the paths they billed."""

    invalidations: int = 0
    paths: int = 0
    ids: set[str] = field(default_factory=set)


def month_usage(client: CloudFrontClient, distribution_id: str, month: str) -> MonthUsage:
    """Invalidations created in `month` ('YYYY-MM', UTC) and their paths. Raises the client's errors."""
    usage = MonthUsage()
    marker = ""
    for _ in range(_MAX_PAGES):
        if marker:
            page = client.list_invalidations(DistributionId=distribution_id, MaxItems="100", Marker=marker)
        else:
            page = client.list_invalidations(DistributionId=distribution_id, MaxItems="100")
        listing = page.get("InvalidationList", {})
        for item in listing.get("Items", []):
            created = item.get("CreateTime")
            if created is None or created.astimezone(UTC).strftime("%Y-%m") != month:
                continue
            detail = client.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
            paths = detail["Invalidation"]["InvalidationBatch"]["Paths"].get("Quantity", 0)
            usage.invalidations += 1
            usage.paths += int(paths)
            usage.ids.add(item["Id"])
        marker = listing.get("NextMarker", "")
        if not listing.get("IsTruncated") or not marker:
            break
    return usage


class MonthlyBill:
    """Billed paths of this month per distribution, for the month_billed_paths gauge. Thread-safe."""

    def __init__(
        self,
        client: CloudFrontClient,
        sites: Sequence[SiteLike],
        *,
        clock: Clock,
        metrics: Metrics,
        client_for: Callable[[str], CloudFrontClient] | None = None,
    ) -> None:
        # client_for(distribution_id): the distribution's own client (a role per site), else `client`.
        self._client_for: Callable[[str], CloudFrontClient] = client_for or (lambda _distribution_id: client)
        self._distributions = sorted({site.distribution_id for site in sites})
        self._clock = clock
        self._metrics = metrics
        self._lock = threading.Lock()
        self._month = month_of(clock.time())
        self._usage: dict[str, MonthUsage] = {d: MonthUsage() for d in self._distributions}
        self._own_paths: dict[str, int] = {}  # our invalidations' path counts, by id
        self._log = structlog.get_logger("watcher.bill")

    def start(self, stop: threading.Event) -> None:
        """Rebuild the month in the background (a month of invalidations is many calls), then
        look hourly for a new month, so the gauge drops to zero even on a quiet first day."""
        threading.Thread(target=self._run, args=(stop,), name="bill", daemon=True).start()

    def _run(self, stop: threading.Event) -> None:
        self.rebuild()
        # Real time, not the injected clock: an hourly look, never a test's timing.
        while not stop.wait(_MONTH_CHECK_SECONDS):
            with self._lock:
                self._roll(month_of(self._clock.time()))
            for dist in self._distributions:
                self._publish(dist)

    def rebuild(self) -> None:
        """Count this month's invalidations on every distribution (ours and people's)."""
        month = month_of(self._clock.time())
        for dist in self._distributions:
            try:
                listed = month_usage(self._client_for(dist), dist, month)
            except AWS_ERRORS as exc:
                code = error_code(exc)
                self._log.warning("cannot rebuild this month's billed paths", distribution=dist, code=code)
                continue
            with self._lock:
                self._roll(month)
                ours = self._usage.setdefault(dist, MonthUsage())
                # Ours recorded while listing are in the listing too: count each once.
                extra = [i for i in ours.ids if i not in listed.ids]
                listed.ids.update(extra)
                listed.invalidations += len(extra)
                listed.paths += sum(self._own_paths.get(i, 0) for i in extra)
                self._usage[dist] = listed
            self._publish(dist)
            self._log.info("billed paths this month", distribution=dist, paths=listed.paths, month=month)

    def record(self, distribution_id: str, invalidation_id: str, paths: int) -> None:
        """One of our invalidations was accepted."""
        with self._lock:
            self._roll(month_of(self._clock.time()))
            usage = self._usage.setdefault(distribution_id, MonthUsage())
            if invalidation_id in usage.ids:
                return  # a retry that CloudFront answered with the same invalidation
            self._own_paths[invalidation_id] = paths
            usage.ids.add(invalidation_id)
            usage.invalidations += 1
            usage.paths += paths
        self._publish(distribution_id)

    def _roll(self, month: str) -> None:
        # Callers hold _lock. A new month starts from zero.
        if month != self._month:
            self._month = month
            self._usage = {d: MonthUsage() for d in self._distributions}
            self._own_paths = {}

    def _publish(self, distribution_id: str) -> None:
        with self._lock:
            paths = self._usage.get(distribution_id, MonthUsage()).paths
        self._metrics.month_billed_paths.labels(distribution=distribution_id).set(paths)
