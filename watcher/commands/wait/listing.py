"""What changed since TIME: listed objects, delete markers, and `--keys-from` lines.

The listing is taken once, when `wait` starts: the deploy is over by then (the CI
recipe runs `wait` after `aws s3 sync`), and listing a large site on every
interval would cost more than the invalidations it watches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from watcher.core.config import SiteSettings
from watcher.core.sites import prefixes_by_bucket
from watcher.sources.version_chain import last_change

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["ChangedObject", "list_changes", "merge_changes", "parse_keys"]


@dataclass(frozen=True, slots=True)
class ChangedObject:
    """One object written or deleted at or after TIME."""

    bucket: str
    key: str
    changed_at: datetime
    deleted: bool = False


def _whole_seconds(moment: datetime) -> datetime:
    # S3 keeps LastModified to the second: a write at 10.7 s reads back as 10 s, so a
    # start recorded at 10.5 s must still count it.
    return moment.astimezone(UTC).replace(microsecond=0)


def list_changes(
    s3_for: Callable[[str], S3Client], sites: Sequence[SiteSettings], since: datetime
) -> list[ChangedObject]:
    """Objects under the site prefixes modified at or after `since`, and newer delete markers.

    `s3_for(bucket)` is the client that lists the bucket (a site's role_arn, else ours).
    """
    floor = _whole_seconds(since)
    changed: list[ChangedObject] = []
    for bucket, prefixes in prefixes_by_bucket(sites).items():
        s3 = s3_for(bucket)
        versioned = s3.get_bucket_versioning(Bucket=bucket).get("Status") in ("Enabled", "Suspended")
        for prefix in prefixes:
            objects = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in objects:
                for item in page.get("Contents", []):
                    if _whole_seconds(item["LastModified"]) >= floor:
                        changed.append(ChangedObject(bucket, item["Key"], item["LastModified"]))
            if not versioned:
                continue
            current: dict[str, str] = {}  # key -> its current version (for unchanged writes)
            versions = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
            for listing in versions:
                for marker in listing.get("DeleteMarkers", []):
                    if marker.get("IsLatest") and _whole_seconds(marker["LastModified"]) >= floor:
                        changed.append(
                            ChangedObject(bucket, marker["Key"], marker["LastModified"], deleted=True)
                        )
                current.update(
                    (v["Key"], v["VersionId"]) for v in listing.get("Versions", []) if v.get("IsLatest")
                )
            changed = _without_unchanged_writes(s3, bucket, changed, current, floor)
    return changed


def _without_unchanged_writes(
    s3: S3Client, bucket: str, changed: list[ChangedObject], current: dict[str, str], floor: datetime
) -> list[ChangedObject]:
    """A write with the content of the version before it needs no invalidation of its own.

    It is dated by the last real change of its content instead (README "What counts as a
    change"): left out when that change is older than TIME.
    """
    kept = []
    for change in changed:
        version_id = current.get(change.key)
        if change.bucket == bucket and not change.deleted and version_id is not None:
            when = last_change(
                s3, bucket, change.key, version_id=version_id, modified=change.changed_at, floor=floor
            )
            if when is not None:
                kept.append(ChangedObject(bucket, change.key, when))
            continue
        kept.append(change)
    return kept


def parse_keys(lines: Iterable[str], since: datetime) -> list[ChangedObject]:
    """`s3://bucket/key` lines (blank lines and `#` comments skipped), changed at `since`.

    Raises ValueError naming the first line that is not an S3 URL.
    """
    changed = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        bucket, slash, key = line.removeprefix("s3://").partition("/")
        if not line.startswith("s3://") or not bucket or not slash or not key:
            raise ValueError(f"--keys-from line {number}: expected s3://BUCKET/KEY (got {line[:200]!r})")
        changed.append(ChangedObject(bucket, key, since, deleted=True))
    return changed


def merge_changes(*groups: Iterable[ChangedObject]) -> list[ChangedObject]:
    """One entry per object: its latest change."""
    latest: dict[tuple[str, str], ChangedObject] = {}
    for group in groups:
        for change in group:
            seen = latest.get((change.bucket, change.key))
            if seen is None or change.changed_at > seen.changed_at:
                latest[(change.bucket, change.key)] = change
    return sorted(latest.values(), key=lambda c: (c.bucket, c.key))
