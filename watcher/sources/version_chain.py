"""One write against the version before it in S3's chain: the lookups themselves.

ListObjectVersions (KeyMarker=key, VersionIdMarker=the version, MaxKeys=1) names the
version before it; HeadObject (VersionId, ChecksumMode=ENABLED) of the new version
and, only when the bytes may be equal, of the previous one. The verdict is
`watcher.core.content`'s. Used by the daemon's content check (on its pool, within a
budget) and by `watcher wait` (is a write after TIME a change of its own?).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from watcher.aws import CALL_BUDGET_SECONDS
from watcher.awserrors import AWS_ERRORS, error_code
from watcher.core.content import Predecessor, VersionFacts, changed, compare_versions, predecessor
from watcher.core.model import Verdict

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "Call",
    "OutOfTime",
    "VersionCache",
    "compare_with_previous",
    "current_write",
    "last_change",
    "timed_call",
]

# (call name, client method, **arguments) -> the answer; raises OutOfTime to stop early.
Call = Callable[..., Any]
_MAX_STEPS = 10  # `last_change` walks back at most this many identical writes


class VersionCache:
    """What HeadObject said of versions, least recently used dropped first. Thread-safe.

    Safe to keep: an S3 version is immutable (new bytes, headers or metadata make a new
    version), so the facts of (bucket, key, version id) never go stale.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: Hashable) -> dict[str, Any] | None:
        """The facts of `version`, if read before."""
        with self._lock:
            facts = self._entries.get(version)
            if facts is not None:
                self._entries.move_to_end(version)
            return facts

    def put(self, version: Hashable, facts: dict[str, Any]) -> None:
        """Keep the facts of `version`."""
        with self._lock:
            self._entries[version] = facts
            self._entries.move_to_end(version)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


class OutOfTime(Exception):
    """The lookup's budget ran out (or nobody waits for it any more) before its next call."""


def compare_with_previous(
    client: S3Client, bucket: str, key: str, version_id: str, call: Call
) -> tuple[Verdict, Predecessor | None]:
    """The verdict on one version, and the version before it (None when there is none to name).

    Never raises for AWS errors or `OutOfTime`: those are doubts, so changes.
    """
    try:
        listing = call(
            "ListObjectVersions",
            client.list_object_versions,
            Bucket=bucket,
            Prefix=key,
            KeyMarker=key,
            VersionIdMarker=version_id,
            MaxKeys=1,
        )
        before = predecessor(key, listing)
        if isinstance(before, Verdict):
            return before, None
        head = partial(call, "HeadObject", client.head_object, Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        new = VersionFacts.from_head(head(VersionId=version_id))
        if not new.keyed_encryption and new.etag != before.etag:
            return changed("different ETag"), before  # one HeadObject saved: the bytes differ
        return compare_versions(new, VersionFacts.from_head(head(VersionId=before.version_id))), before
    except OutOfTime:
        return changed("lookup ran out of its time budget"), None
    except AWS_ERRORS as exc:  # counted by the clients' error hook
        return changed(f"lookup failed: {error_code(exc)}"), None


def last_change(
    client: S3Client, bucket: str, key: str, *, version_id: str, modified: datetime, floor: datetime
) -> datetime | None:
    """When the content served now was last changed, if at or after `floor` (else None).

    Walks back over identical writes: an unchanged write after `floor` needs no
    invalidation of its own, but its predecessor's, if that one is itself a change
    after `floor`, still does. Any doubt stops the walk: that write is the change.
    """
    for _ in range(_MAX_STEPS):
        verdict, before = compare_with_previous(
            client, bucket, key, version_id, partial(timed_call, time.monotonic())
        )
        if not verdict.unchanged or before is None or before.last_modified is None:
            return modified
        if before.last_modified.replace(microsecond=0) < floor:
            return None
        version_id, modified = before.version_id, before.last_modified
    return modified


def current_write(client: S3Client, bucket: str, key: str) -> Verdict:
    """Is the current version of `key` unchanged against the one before it? (`explain --deploy`)"""
    call = partial(timed_call, time.monotonic())
    try:
        listing = call(
            "ListObjectVersions", client.list_object_versions, Bucket=bucket, Prefix=key, MaxKeys=1
        )
    except (OutOfTime, *AWS_ERRORS) as exc:
        return changed(f"lookup failed: {error_code(exc)}")
    latest = [v for v in listing.get("Versions", []) if v.get("Key") == key and v.get("IsLatest")]
    if not latest or not isinstance(version_id := latest[0].get("VersionId"), str) or version_id == "null":
        return changed("no current version to compare")
    verdict, _ = compare_with_previous(client, bucket, key, version_id, call)
    return verdict


def timed_call(started: float, _name: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    """`method(**kwargs)`, unless one call budget has passed since `started` (then OutOfTime)."""
    if time.monotonic() - started >= CALL_BUDGET_SECONDS:
        raise OutOfTime
    return method(**kwargs)
