"""The invalidations of one distribution since TIME, at a bounded cost.

Each `refresh` reads one ListInvalidations page (newest first; more pages only
while every entry on the page is new and not older than TIME, i.e. on the
first look at a busy distribution). Paths come from one GetInvalidation per
invalidation ever looked at; later status changes come from the listing, so a
Completed invalidation is never asked about again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from watcher.awserrors import AWS_ERRORS, classify
from watcher.commands.wait.coverage import KnownInvalidation

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["DistributionInvalidations", "FatalAwsError"]

_PAGE_SIZE = "100"  # CloudFront's maximum


class FatalAwsError(Exception):
    """An error that waiting cannot cure (no such distribution, access denied): one line."""


class DistributionInvalidations:
    """What CloudFront says about one distribution's invalidations created since `since`."""

    def __init__(self, client: CloudFrontClient, distribution_id: str, since: datetime) -> None:
        self._client = client
        self.distribution_id = distribution_id
        self._since = since.astimezone(UTC).replace(microsecond=0)
        self._known: dict[str, KnownInvalidation] = {}
        self.last_error = ""

    @property
    def known(self) -> list[KnownInvalidation]:
        """Every invalidation looked at, with its latest status."""
        return list(self._known.values())

    def refresh(self) -> None:
        """Read the newest page(s) and describe what is new; transient errors wait for the next call."""
        try:
            self._refresh()
        except AWS_ERRORS as exc:
            error = classify(exc)
            code = error.code
            if error.missing or error.denied:
                raise FatalAwsError(f"{self.distribution_id}: {code}: {exc}") from exc
            self.last_error = f"{code}: {str(exc)[:200]}"
        else:
            self.last_error = ""

    def _refresh(self) -> None:
        marker = ""
        while True:
            kwargs = {"DistributionId": self.distribution_id, "MaxItems": _PAGE_SIZE}
            if marker:
                kwargs["Marker"] = marker
            listing = self._client.list_invalidations(**kwargs)["InvalidationList"]
            items = listing.get("Items", [])
            go_on = bool(items) and bool(listing.get("IsTruncated"))
            for item in items:
                created = item["CreateTime"].astimezone(UTC)
                if created.replace(microsecond=0) < self._since:
                    go_on = False  # newest first: the rest is older still
                    continue
                known = self._known.get(item["Id"])
                if known is None:
                    self._describe(item["Id"])
                else:
                    go_on = False  # looked at before: so was everything older
                    known.status = str(item.get("Status", known.status))
            if not go_on:
                return
            marker = str(listing.get("NextMarker", ""))
            if not marker:
                return

    def _describe(self, invalidation_id: str) -> None:
        found = self._client.get_invalidation(DistributionId=self.distribution_id, Id=invalidation_id)
        invalidation = found["Invalidation"]
        paths = invalidation["InvalidationBatch"]["Paths"].get("Items", [])
        self._known[invalidation_id] = KnownInvalidation(
            id=invalidation_id,
            create_time=invalidation["CreateTime"].astimezone(UTC),
            status=str(invalidation.get("Status", "")),
            paths=tuple(sorted(set(paths))),
        )
