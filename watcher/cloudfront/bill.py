"""What invalidations cost this month: paths billed per distribution, rebuilt from CloudFront.

CloudFront bills every invalidation path (a wildcard is one) past the first
1,000 a month per account. The month's count is the distribution's, whoever
invalidated (people, other replicas): rebuilt from ListInvalidations +
GetInvalidation at start, every `REBUILD_SECONDS` and at once when a month
begins (in the background), and kept current between rebuilds from our own
accepted invalidations. Every replica reports the same month, so dashboards and
alerts take the max over replicas.
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

__all__ = [
    "CHECK_SECONDS",
    "FREE_PATHS_PER_MONTH",
    "MAX_PAGES",
    "REBUILD_SECONDS",
    "MonthUsage",
    "MonthlyBill",
    "month_of",
    "month_usage",
]

FREE_PATHS_PER_MONTH = 1000
# ListInvalidations pages of 100: enough for 5,000 invalidations in a month, and bounded.
MAX_PAGES = 50
# How often the month is read again from CloudFront (people's and other replicas' paths).
REBUILD_SECONDS = 600.0
CHECK_SECONDS = 60.0


def month_of(timestamp: float) -> str:
    """'YYYY-MM' (UTC) of a unix time."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m")


@dataclass(slots=True)
class MonthUsage:
    """One distribution's invalidations of one month and the paths they billed.

    `complete`: False when the page cap came before the month's first invalidation (the
    figures are a lower bound).
    """

    invalidations: int = 0
    paths: int = 0
    ids: set[str] = field(default_factory=set)
    complete: bool = True


def month_usage(
    client: CloudFrontClient,
    distribution_id: str,
    month: str,
    *,
    known: dict[str, int] | None = None,
    max_pages: int = MAX_PAGES,
) -> MonthUsage:
    """Invalidations created in `month` ('YYYY-MM', UTC) and their paths. Raises the client's errors.

    ListInvalidations answers newest first: paging stops at the first invalidation older
    than the month. `known`: path counts by invalidation id (an invalidation never changes),
    read from it instead of GetInvalidation and completed with what is read.
    """
    known = {} if known is None else known
    usage = MonthUsage(complete=False)
    marker = ""
    for _ in range(max_pages):
        if marker:
            page = client.list_invalidations(DistributionId=distribution_id, MaxItems="100", Marker=marker)
        else:
            page = client.list_invalidations(DistributionId=distribution_id, MaxItems="100")
        listing = page.get("InvalidationList", {})
        for item in listing.get("Items", []):
            created = item.get("CreateTime")
            created_month = "" if created is None else created.astimezone(UTC).strftime("%Y-%m")
            if created_month > month:
                continue  # a later month's (reading a past month)
            if created_month < month:
                usage.complete = True  # the month's start: older ones are older still
                return usage
            if item["Id"] not in known:
                detail = client.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
                known[item["Id"]] = int(
                    detail["Invalidation"]["InvalidationBatch"]["Paths"].get("Quantity", 0)
                )
            usage.invalidations += 1
            usage.paths += known[item["Id"]]
            usage.ids.add(item["Id"])
        marker = listing.get("NextMarker", "")
        if not listing.get("IsTruncated") or not marker:
            usage.complete = True
            return usage
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
        self._known: dict[str, dict[str, int]] = {d: {} for d in self._distributions}  # paths by id
        self._rebuilt_at: float | None = None  # monotonic
        self._log = structlog.get_logger("watcher.bill")

    def tick(self) -> None:
        """Rebuild when none was made yet, a month began or REBUILD_SECONDS passed since the last one.

        The daemon calls it every CHECK_SECONDS in the background (watcher/ops/periodic.py): a
        month of invalidations is many calls."""
        month = month_of(self._clock.time())
        with self._lock:
            rolled = month != self._month
            self._roll(month)
            due = self._rebuilt_at is None or self._clock.monotonic() - self._rebuilt_at >= REBUILD_SECONDS
        if rolled:
            for dist in self._distributions:
                self._publish(dist)  # zero at once, even when CloudFront cannot be read
        if rolled or due:
            self.rebuild()

    def rebuild(self) -> None:
        """Count this month's invalidations on every distribution (ours, people's, other replicas')."""
        month = month_of(self._clock.time())
        self._rebuilt_at = self._clock.monotonic()
        for dist in self._distributions:
            try:
                listed = month_usage(
                    self._client_for(dist), dist, month, known=self._known.setdefault(dist, {})
                )
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
            self._known = {d: {} for d in self._distributions}

    def _publish(self, distribution_id: str) -> None:
        with self._lock:
            paths = self._usage.get(distribution_id, MonthUsage()).paths
        self._metrics.month_billed_paths.labels(distribution=distribution_id).set(paths)
