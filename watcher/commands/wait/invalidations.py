"""The invalidations of one distribution since the floor (TIME minus the clock skew), at a bounded cost.

A look is one ListInvalidations page (newest first, 100 a page) plus one
GetInvalidation per invalidation it shows for the first time (its paths: the
listing has none). The listing gives the status of what is on that page; an
invalidation `wait` awaits (InProgress, covering a pending path) that has fallen
off the first page is asked about by GetInvalidation. So a look costs one
ListInvalidations per waiting distribution plus one GetInvalidation per awaited
invalidation not yet Completed (and one per new invalidation, once).

More pages are read until the floor, until an invalidation known before this look
appears (once a look has read back to the floor without error: everything below
it was read then), or until the listing ends. A look that failed half-way (a
throttled GetInvalidation on page 2) leaves the next look to read back to the
floor again. Throttling and 5xx are retried within the look, with backoff.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from watcher.awserrors import AWS_ERRORS, classify, is_transient
from watcher.commands.wait.coverage import KnownInvalidation

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["ATTEMPTS", "DistributionInvalidations", "FatalAwsError"]

_PAGE_SIZE = "100"  # CloudFront's maximum
ATTEMPTS = 3  # per call within one look; the next look tries again
_BACKOFF_SECONDS = 0.5

T = TypeVar("T")


class FatalAwsError(Exception):
    """An error that waiting cannot cure (no such distribution, access denied): one line."""


class DistributionInvalidations:
    """What CloudFront says about one distribution's invalidations created since `floor`."""

    def __init__(
        self,
        client: CloudFrontClient,
        distribution_id: str,
        floor: datetime,
        *,
        sleep: Callable[[float], object],
    ) -> None:
        self._client = client
        self.distribution_id = distribution_id
        self._floor = floor.astimezone(UTC).replace(microsecond=0)
        self._sleep = sleep
        self._known: dict[str, KnownInvalidation] = {}
        self._read_to_floor = False  # a look has read every invalidation back to the floor
        self.last_error = ""

    @property
    def known(self) -> list[KnownInvalidation]:
        """Every invalidation looked at, with its latest status."""
        return list(self._known.values())

    def refresh(self, awaited: Collection[str] = ()) -> None:
        """One look; `awaited` InProgress ids are asked about if the listing no longer shows them.

        Errors that outlast the retries are kept in `last_error` for the next look;
        FatalAwsError for those no look can cure.
        """
        try:
            listed = self._read_listing()
            for invalidation_id in awaited:
                known = self._known.get(invalidation_id)
                if known is not None and not known.completed and invalidation_id not in listed:
                    self._describe(invalidation_id)
        except AWS_ERRORS as exc:
            self._read_to_floor = False
            error = classify(exc)
            code = error.code
            if error.missing or error.denied:  # no look can cure these
                raise FatalAwsError(f"{self.distribution_id}: {code}: {exc}") from exc
            self.last_error = f"{code}: {str(exc)[:200]}"
        else:
            self.last_error = ""

    def _read_listing(self) -> set[str]:
        """Read pages newest first (see the module docstring); the ids seen."""
        known_before = set(self._known)
        listed: set[str] = set()
        marker = ""
        while True:
            kwargs: dict[str, Any] = {"DistributionId": self.distribution_id, "MaxItems": _PAGE_SIZE}
            if marker:
                kwargs["Marker"] = marker
            listing = self._call(partial(self._client.list_invalidations, **kwargs))["InvalidationList"]
            items = listing.get("Items", [])
            reached_floor = reached_known = False
            for item in items:
                if item["CreateTime"].astimezone(UTC) < self._floor:
                    reached_floor = True  # newest first: the rest is older still
                    break
                listed.add(item["Id"])
                known = self._known.get(item["Id"])
                if known is None:
                    self._describe(item["Id"])
                    continue
                known.status = str(item.get("Status", known.status))
                reached_known = reached_known or item["Id"] in known_before
            marker = str(listing.get("NextMarker", ""))
            if reached_floor or not items or not listing.get("IsTruncated") or not marker:
                self._read_to_floor = True
                return listed
            if reached_known and self._read_to_floor:
                return listed

    def _describe(self, invalidation_id: str) -> None:
        found = self._call(
            lambda: self._client.get_invalidation(DistributionId=self.distribution_id, Id=invalidation_id)
        )
        invalidation = found["Invalidation"]
        paths = invalidation["InvalidationBatch"]["Paths"].get("Items", [])
        self._known[invalidation_id] = KnownInvalidation(
            id=invalidation_id,
            create_time=invalidation["CreateTime"].astimezone(UTC),
            status=str(invalidation.get("Status", "")),
            paths=tuple(sorted(set(paths))),
        )

    def _call(self, call: Callable[[], T]) -> T:
        """`call()`, retried on throttling and 5xx (the CloudFront client makes one attempt)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return call()
            except AWS_ERRORS as exc:
                if attempt == ATTEMPTS or not is_transient(exc):
                    raise
                self._sleep(_BACKOFF_SECONDS * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover
