"""The site index kept current: listed at start and every `index_refresh_seconds`, fed by events.

Runs on a thread of its own (a 100,000-object site is 100 ListObjectsV2 pages);
until the first listing of a distribution's sites completes, or when listing is
denied, its planner stays exact.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import structlog

from watcher.awserrors import AWS_ERRORS, error_code
from watcher.core.clock import Clock
from watcher.core.config import Settings
from watcher.core.model import Change, ChangeKind
from watcher.core.routing import SiteLike
from watcher.core.site_index import DistributionIndex, SiteIndex, index_path
from watcher.core.strategy import Strategy, configured_strategy, configured_weight
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["SiteIndexer", "cost_strategies", "feeding", "list_keys", "site_indexer"]

_PAGE = 1000


def list_keys(
    client: S3Client, bucket: str, prefix: str, *, stop: threading.Event | None = None
) -> Iterator[str]:
    """Every key under the prefix, page by page (ceil(N / 1,000) calls). Raises the client's errors."""
    token = ""
    while stop is None or not stop.is_set():
        kwargs = {"ContinuationToken": token} if token else {}
        page = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=_PAGE, **kwargs)  # type: ignore[arg-type]
        for item in page.get("Contents", []):
            yield item.get("Key", "")
        token = page.get("NextContinuationToken", "")
        if not page.get("IsTruncated") or not token:
            return


def site_indexer(
    settings: Settings,
    s3: Callable[[str], S3Client],
    *,
    clock: Clock,
    stop: threading.Event,
    metrics: Metrics | None = None,
) -> SiteIndexer | None:
    """The site index a cost strategy needs; None for `exact` (no listing at all)."""
    inv = settings.invalidation
    if configured_weight(inv) is None:
        return None
    return SiteIndexer(
        s3, settings.sites, refresh_seconds=inv.index_refresh_seconds, clock=clock, stop=stop, metrics=metrics
    )


def feeding(indexer: SiteIndexer | None, submit: Callable[[Change], None]) -> Callable[[Change], None]:
    """`submit`, after the change went into the site index (so the plan counts it), if there is one."""
    return submit if indexer is None else indexer.feeding(submit)


def cost_strategies(
    settings: Settings, indexer: SiteIndexer | None, *, clock: Clock | None = None
) -> dict[str, Strategy]:
    """Each distribution's strategy over its sites' index (without an indexer: exact).

    `clock` times the planner's budget (`planner_budget_ms`; None: unbounded).
    """
    inv = settings.invalidation
    dists = {site.distribution_id for site in settings.sites}
    return {
        dist: configured_strategy(inv, None if indexer is None else indexer.distribution_index(dist), clock)
        for dist in dists
    }


class SiteIndexer:
    """One SiteIndex per `[[sites]]` entry, listed in the background and updated from changes.

    A listing is a snapshot taken page by page: a change observed while it runs may be
    missing from it (an upload after its page) or undone by it (a delete before), so the
    changes observed during a site's listing are applied again once it replaced the index.
    """

    def __init__(
        self,
        client_for: Callable[[str], S3Client],
        sites: Sequence[SiteLike],
        *,
        refresh_seconds: float,
        clock: Clock,
        stop: threading.Event,
        metrics: Metrics | None = None,
    ) -> None:
        self._client_for = client_for  # bucket -> its client (a site's role_arn, else ours)
        self._sites = [(site, SiteIndex(ready=False)) for site in sites]
        self._refresh = refresh_seconds
        self._clock = clock
        self._stop = stop
        self._log = structlog.get_logger("watcher.site_index")
        # Observing and replacing take this lock, so a change lands either in the listing's
        # replay or in the replaced index, never between them.
        self._lock = threading.Lock()
        self._during: dict[int, list[tuple[str, bool]]] = {}  # site -> (path, removed) seen while listing
        self._listed_at = [clock.monotonic()] * len(self._sites)
        if metrics is not None:
            for at, (site, index) in enumerate(self._sites):
                metrics.track_site_index(site.name, index.__len__, functools.partial(self._age, at))

    def _age(self, at: int) -> float:
        return self._clock.monotonic() - self._listed_at[at]

    def distribution_index(self, distribution_id: str) -> DistributionIndex:
        """The index of every site served by the distribution."""
        return DistributionIndex(
            [index for site, index in self._sites if site.distribution_id == distribution_id]
        )

    def feeding(self, submit: Callable[[Change], None]) -> Callable[[Change], None]:
        """`submit`, after the change went into the index (so the plan counts it)."""

        def observed(change: Change) -> None:
            self.observe(change)
            submit(change)

        return observed

    def observe(self, change: Change) -> None:
        """Keep the index current from a consumed event: created keys added, removed keys dropped."""
        removed = change.kind is ChangeKind.REMOVED
        for at, (site, index) in enumerate(self._sites):
            if site.bucket != change.bucket or not change.key.startswith(site.prefix) or change.site_wide:
                continue
            path = index_path(change.key[len(site.prefix) :])
            with self._lock:
                _apply(index, path, removed=removed)
                if at in self._during:
                    self._during[at].append((path, removed))

    def adopt_listing(self, bucket: str, prefix: str, keys: list[str]) -> None:
        """A complete listing made by someone else (a poll cycle): the sites under it, replaced."""
        for at, (site, index) in enumerate(self._sites):
            if site.bucket == bucket and site.prefix.startswith(prefix):
                cut = len(site.prefix)
                index.replace(index_path(key[cut:]) for key in keys if key.startswith(site.prefix))
                self._listed_at[at] = self._clock.monotonic()

    def refresh(self) -> None:
        """List every site once; a site whose listing fails keeps what it had."""
        for at, (site, index) in enumerate(self._sites):
            if self._stop.is_set():
                return
            started = self._clock.monotonic()
            with self._lock:
                self._during[at] = []
            try:
                # Keys become paths page by page: the listing never holds both.
                cut = len(site.prefix)
                paths = {
                    index_path(key[cut:])
                    for key in list_keys(
                        self._client_for(site.bucket), site.bucket, site.prefix, stop=self._stop
                    )
                }
            except AWS_ERRORS as exc:
                with self._lock:
                    self._during.pop(at, None)
                code = error_code(exc)
                self._log.warning(
                    "cannot list the site: its plans stay exact until a listing succeeds",
                    site=site.name,
                    code=code,
                    hint=f"the watcher needs s3:ListBucket on bucket {site.bucket}: see watcher iam-policy",
                )
                continue
            if self._stop.is_set():
                return
            with self._lock:
                index.replace(paths)
                for path, removed in self._during.pop(at, []):
                    _apply(index, path, removed=removed)
            self._listed_at[at] = started
            self._log.info(
                "site indexed",
                site=site.name,
                objects=len(index),
                seconds=round(self._clock.monotonic() - started, 2),
            )

    @property
    def refresh_seconds(self) -> float:
        """How often the daemon calls `refresh` (watcher/ops/periodic.py)."""
        return self._refresh


def _apply(index: SiteIndex, path: str, *, removed: bool) -> None:
    if removed:
        index.discard(path)
    else:
        index.add(path)
