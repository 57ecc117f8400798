"""Poll mode in a versioned bucket: a new version with the ETag of the committed one, compared.

A poll cycle sees a watched key whose ETag equals the committed one but whose
LastModified is newer: the same bytes re-uploaded, perhaps with new headers. In a
versioned bucket both versions are still there: the one the cycle listed and the one
committed (whose content the edge serves once its invalidation completed). Each is
found by its LastModified and ETag in ListObjectVersions, and HeadObject of both
compares the headers CloudFront caches (`watcher.core.content`). Poll has no event per
version, so the comparison is with the committed version, not the one just before:
versions written between two cycles are never skipped over.

Anything uncertain is a change: an unversioned bucket (one "null" version), either
version missing or ambiguous, a failed or late call. In an unversioned bucket a
re-upload (new LastModified) stays a change, and poll cannot see a header-only change
that keeps the LastModified (the documented limit).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from watcher.awserrors import AWS_ERRORS, error_code
from watcher.core.content import VersionFacts, changed, compare_versions
from watcher.core.model import ChangeKind, Verdict
from watcher.ops.metrics import Metrics
from watcher.sources.poll_scan import iso_time
from watcher.sources.poll_state import Difference, Seen
from watcher.sources.version_chain import OutOfTime, timed_call

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["same_as_committed", "without_unchanged"]


def without_unchanged(
    client: S3Client,
    bucket: str,
    found: list[Difference],
    committed: Mapping[str, Seen],
    *,
    commit: Callable[[str, str, Seen], None],
    metrics: Metrics,
) -> list[Difference]:
    """The differences but the re-uploads (same ETag) proven to hold the committed content.

    Those are committed here, without an invalidation: the edge already serves their content.
    """
    kept = []
    for difference in found:
        before = committed.get(difference.key)
        if (
            difference.kind is ChangeKind.CREATED
            and before is not None
            and before.etag == difference.seen.etag
            and same_as_committed(
                client, bucket, difference.key, committed=before, seen=difference.seen, metrics=metrics
            )
        ):
            commit(bucket, difference.key, difference.seen)
            continue
        kept.append(difference)
    return kept


def same_as_committed(
    client: S3Client, bucket: str, key: str, *, committed: Seen, seen: Seen, metrics: Metrics
) -> bool:
    """True when the listed version has the committed version's bytes and cached headers (counted)."""
    verdict = _compare(client, bucket, key, committed=committed, seen=seen, metrics=metrics)
    if verdict.unchanged:
        metrics.events.labels(source="poll", outcome="unchanged").inc()
    return verdict.unchanged


def _compare(
    client: S3Client, bucket: str, key: str, *, committed: Seen, seen: Seen, metrics: Metrics
) -> Verdict:
    if committed.etag != seen.etag:
        return changed("different ETag")
    call = partial(_counted, metrics, partial(timed_call, time.monotonic()))
    try:
        listing = call("ListObjectVersions", client.list_object_versions, Bucket=bucket, Prefix=key)
        new, old = _version(listing, key, seen), _version(listing, key, committed)
        if new is None or old is None:
            return changed("the listed or the committed version is not in the bucket's versions")
        head = partial(call, "HeadObject", client.head_object, Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        return compare_versions(
            VersionFacts.from_head(head(VersionId=new)), VersionFacts.from_head(head(VersionId=old))
        )
    except OutOfTime:
        return changed("lookup ran out of its time budget")
    except AWS_ERRORS as exc:  # counted by the clients' error hook
        return changed(f"lookup failed: {error_code(exc)}")


def _version(listing: Mapping[str, Any], key: str, seen: Seen) -> str | None:
    """The one version of `key` with that LastModified and ETag (None: none, several, or "null")."""
    matches = [
        version.get("VersionId")
        for version in listing.get("Versions", [])
        if version.get("Key") == key
        and str(version.get("ETag", "")).strip('"') == seen.etag
        and iso_time(version.get("LastModified")) == seen.last_modified
    ]
    if len(matches) != 1 or not isinstance(matches[0], str) or matches[0] == "null":
        return None
    return matches[0]


def _counted(metrics: Metrics, call: Any, name: str, method: Any, **kwargs: Any) -> Any:
    metrics.content_lookup_calls.labels(call=name).inc()
    return call(name, method, **kwargs)
