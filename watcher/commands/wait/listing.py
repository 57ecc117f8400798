"""What changed: the site listed at the start, listed again before "live", and the named keys.

Each change is dated by the moment after which an invalidation must have been
created for it to count (coverage.py adds the end-of-second rule). S3 dates most
changes truthfully; where it does not, a change is dated when `wait` first saw
it done, on S3's own clock (the Date header of the listing that showed it,
which is no earlier than wait's own start):

- a delete in an unversioned bucket (S3 keeps no trace of it);
- a multipart object (ETag `"...-N"`): S3 dates it at the upload's *initiation*.
  The S3 User Guide, "Working with object metadata", system-defined metadata,
  Last-Modified: "For multipart uploads, the object creation date is the date of
  initiation of the multipart upload." An invalidation created during a long
  upload is older than the new bytes, yet newer than that date;
- a change seen only by listing again (a rollback: deleting the newest version or
  a delete marker brings back an older LastModified).

A delete in a versioned bucket is dated by its delete marker. In a versioned
bucket a write whose content equals the version before it needs no invalidation
of its own (README "What counts as a change", as the daemon skips it): it is
dated by the last real change of that content, or needs nothing when that is
older than the floor (sources/version_chain.py, the daemon's own check).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from watcher.commands.wait.keys import NamedKey
from watcher.core.config import SiteSettings
from watcher.core.sites import prefixes_by_bucket
from watcher.sources.version_chain import last_change

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "DELETE_MARKER",
    "LAST_MODIFIED",
    "SEEN_BY_WAIT",
    "BucketListing",
    "ChangedObject",
    "SiteListing",
    "merge_changes",
    "whole_second",
]

# What dates a change (the JSON report's `dated_by`).
LAST_MODIFIED = "last_modified"
DELETE_MARKER = "delete_marker"
SEEN_BY_WAIT = "seen_by_wait"  # S3 keeps no truthful date: when wait first saw it done, by S3's clock


@dataclass(frozen=True, slots=True)
class ChangedObject:
    """One object written or deleted, dated as the module docstring says."""

    bucket: str
    key: str
    changed_at: datetime
    deleted: bool = False
    dated_by: str = LAST_MODIFIED


@dataclass(frozen=True, slots=True)
class Version:
    """The current version of a key, as listed."""

    etag: str
    last_modified: datetime
    version_id: str = ""

    @property
    def multipart(self) -> bool:
        """A multipart upload's ETag ends in -<parts>: S3 dated it at its initiation."""
        return "-" in self.etag


@dataclass(slots=True)
class BucketListing:
    """One bucket under the site prefixes at one moment (`seen_at`, S3's clock, whole second)."""

    bucket: str
    versioned: bool
    seen_at: datetime
    current: dict[str, Version] = field(default_factory=dict)
    markers: dict[str, datetime] = field(default_factory=dict)  # the latest version is a delete marker


def whole_second(moment: datetime) -> datetime:
    """The second S3 would date `moment` in (LastModified has no fraction)."""
    return moment.astimezone(UTC).replace(microsecond=0)


def _server_time(response: Mapping[str, Any]) -> datetime | None:
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return parsedate_to_datetime(date).astimezone(UTC) if date else None
    except (TypeError, ValueError):
        return None


def list_bucket(s3: S3Client, bucket: str, prefixes: Sequence[str]) -> BucketListing:
    """Current objects under `prefixes`; in a versioned bucket their version ids and the delete markers."""
    first = s3.get_bucket_versioning(Bucket=bucket)
    times = [_server_time(first)]
    listing = BucketListing(
        bucket, first.get("Status") in ("Enabled", "Suspended"), whole_second(datetime.now(UTC))
    )
    for prefix in prefixes:
        for objects in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            times.append(_server_time(objects))
            for obj in objects.get("Contents", []):
                listing.current[obj["Key"]] = Version(obj.get("ETag", ""), obj["LastModified"])
        if not listing.versioned:
            continue
        # The current version ids (a rollback changes one) and the delete markers.
        for versions in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            times.append(_server_time(versions))
            for item in versions.get("Versions", []):
                current = listing.current.get(item["Key"])
                if item.get("IsLatest") and current is not None:
                    listing.current[item["Key"]] = Version(
                        current.etag, current.last_modified, item.get("VersionId", "")
                    )
            for marker in versions.get("DeleteMarkers", []):
                if marker.get("IsLatest"):
                    listing.markers[marker["Key"]] = marker["LastModified"]
    known = [t for t in times if t is not None]
    if known:  # S3's clock, not this runner's: the listing was done before the end of this second
        listing.seen_at = whole_second(max(known))
    return listing


def first_changes(listing: BucketListing, floor: datetime) -> list[ChangedObject]:
    """What the first listing shows changed at or after `floor` (TIME minus the clock skew)."""
    changes = []
    for key, version in listing.current.items():
        if whole_second(version.last_modified) >= floor:
            if version.multipart:
                changes.append(ChangedObject(listing.bucket, key, listing.seen_at, dated_by=SEEN_BY_WAIT))
            else:
                changes.append(ChangedObject(listing.bucket, key, version.last_modified))
    for key, marker in listing.markers.items():
        if whole_second(marker) >= floor:
            changes.append(ChangedObject(listing.bucket, key, marker, deleted=True, dated_by=DELETE_MARKER))
    return changes


def changes_between(before: BucketListing, after: BucketListing) -> list[ChangedObject]:
    """What changed from one listing to the next: writes, deletes, rollbacks."""
    changes = []
    for key, version in after.current.items():
        if before.current.get(key) == version:
            continue
        # A write since the last listing dates itself; an older date is a rollback (or multipart).
        if not version.multipart and whole_second(version.last_modified) > before.seen_at:
            changes.append(ChangedObject(after.bucket, key, version.last_modified))
        else:
            changes.append(ChangedObject(after.bucket, key, after.seen_at, dated_by=SEEN_BY_WAIT))
    for key in before.current.keys() - after.current.keys():
        marker = after.markers.get(key)
        if marker is not None and whole_second(marker) > before.seen_at:
            changes.append(ChangedObject(after.bucket, key, marker, deleted=True, dated_by=DELETE_MARKER))
        else:
            changes.append(
                ChangedObject(after.bucket, key, after.seen_at, deleted=True, dated_by=SEEN_BY_WAIT)
            )
    return changes


def named_changes(listing: BucketListing, named: Iterable[NamedKey], floor: datetime) -> list[ChangedObject]:
    """The `--keys-from` objects of this bucket, dated by what S3 knows of them."""
    changes = []
    for item in named:
        if item.bucket != listing.bucket:
            continue
        version = listing.current.get(item.key)
        marker = listing.markers.get(item.key)
        dated, by = listing.seen_at, SEEN_BY_WAIT  # no trace (unversioned delete), multipart, or too old
        if item.deleted and marker is not None and version is None:
            dated, by = marker, DELETE_MARKER  # versioned: the delete marker dates the delete
        elif (
            not item.deleted
            and version is not None
            and not version.multipart
            and whole_second(version.last_modified) >= floor
        ):
            dated, by = version.last_modified, LAST_MODIFIED
        changes.append(ChangedObject(item.bucket, item.key, dated, deleted=item.deleted, dated_by=by))
    return changes


def content_dated(
    s3: S3Client, listing: BucketListing, changes: Iterable[ChangedObject], floor: datetime
) -> list[ChangedObject]:
    """Writes of a versioned bucket dated by the last real change of their content (None: dropped).

    Deletes and rollbacks (dated when wait saw them) are changes as they are.
    """
    if not listing.versioned:
        return list(changes)
    kept = []
    for change in changes:
        version = listing.current.get(change.key)
        written = not change.deleted and (change.dated_by == LAST_MODIFIED or (version and version.multipart))
        if version is None or not written or change.bucket != listing.bucket:
            kept.append(change)
            continue
        when = last_change(
            s3,
            listing.bucket,
            change.key,
            version_id=version.version_id,
            modified=version.last_modified,
            floor=floor,
        )
        if when is None:
            continue  # the same content as before the floor: nothing to invalidate
        if when == version.last_modified:
            kept.append(change)
        elif version.multipart:  # the same multipart content: its date is an initiation too
            kept.append(ChangedObject(change.bucket, change.key, listing.seen_at, dated_by=SEEN_BY_WAIT))
        else:
            kept.append(ChangedObject(change.bucket, change.key, when))
    return kept


def merge_changes(*groups: Iterable[ChangedObject]) -> list[ChangedObject]:
    """One entry per object: its latest change."""
    latest: dict[tuple[str, str], ChangedObject] = {}
    for group in groups:
        for change in group:
            seen = latest.get((change.bucket, change.key))
            if seen is None or change.changed_at > seen.changed_at:
                latest[(change.bucket, change.key)] = change
    return sorted(latest.values(), key=lambda c: (c.bucket, c.key))


class SiteListing:
    """The site buckets listed once at the start and again before `wait` says live."""

    def __init__(
        self, s3_for: Callable[[str], S3Client], sites: Sequence[SiteSettings], floor: datetime
    ) -> None:
        self._s3_for = s3_for
        self._prefixes = prefixes_by_bucket(sites)
        self.floor = whole_second(floor)
        self._last: dict[str, BucketListing] = {}

    def first(self, named: Sequence[NamedKey]) -> list[ChangedObject]:
        """List every bucket; the changes since the floor and the named keys, merged."""
        changes: list[ChangedObject] = []
        for bucket, prefixes in self._prefixes.items():
            s3 = self._s3_for(bucket)
            listing = list_bucket(s3, bucket, prefixes)
            self._last[bucket] = listing
            found = first_changes(listing, self.floor) + named_changes(listing, named, self.floor)
            changes += content_dated(s3, listing, found, self.floor)
        return merge_changes(changes)

    def again(self) -> list[ChangedObject]:
        """List every bucket again: what changed since the last listing."""
        changes: list[ChangedObject] = []
        for bucket, prefixes in self._prefixes.items():
            s3 = self._s3_for(bucket)
            listing = list_bucket(s3, bucket, prefixes)
            changes += content_dated(s3, listing, changes_between(self._last[bucket], listing), self.floor)
            self._last[bucket] = listing
        return merge_changes(changes)

    @property
    def seen_at(self) -> datetime:
        """S3's clock at the latest listing (for telling a runner's clock skew)."""
        return max((listing.seen_at for listing in self._last.values()), default=datetime.now(UTC))


def skew_window(since: datetime, clock_skew: float) -> datetime:
    """The floor: TIME minus the clock skew margin."""
    return since - timedelta(seconds=clock_skew)
