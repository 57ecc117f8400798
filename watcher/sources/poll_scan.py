"""What a poll cycle lists: one ListObjectsV2 walk per bucket prefix, watched keys kept.

Sites on one bucket whose prefixes nest share one listing (the shortest
prefix), so a key is listed once however many sites serve it, and a cycle
costs ceil(objects under the prefixes / 1,000) List calls and nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from watcher.awserrors import classify
from watcher.core.globs import compile_globs
from watcher.core.routing import SiteLike
from watcher.core.sites import prefix_free, sites_by_bucket
from watcher.sources.poll_state import Seen

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["Scope", "backoff_cycles", "describe_list_error", "iso_time", "list_scope", "listing_scopes"]

_PAGE = 1000  # ListObjectsV2's maximum page
_MAX_BACKOFF_SECONDS = 900.0


@dataclass(frozen=True, slots=True)
class Scope:
    """One listing: a bucket prefix, and the site prefixes (within it) whose watch globs apply."""

    bucket: str
    prefix: str
    site_prefixes: tuple[str, ...]

    @property
    def name(self) -> str:
        """ "bucket/prefix": the key of its baseline in the state."""
        return f"{self.bucket}/{self.prefix}"

    def watches(self, key: str, watch: Sequence[str]) -> bool:
        """Whether some site's `[poll] watch` globs take the key (relative to that site's prefix)."""
        pattern = compile_globs(tuple(watch))
        return any(
            key.startswith(prefix) and pattern.fullmatch(key[len(prefix) :]) is not None
            for prefix in self.site_prefixes
        )


def listing_scopes(sites: Sequence[SiteLike]) -> tuple[Scope, ...]:
    """The fewest listings that see every site: nested prefixes of a bucket merge into the shortest."""
    scopes = []
    for bucket, grouped in sorted(sites_by_bucket(sites).items()):
        prefixes = sorted({site.prefix for site in grouped})
        for root in prefix_free(prefixes):
            scopes.append(Scope(bucket, root, tuple(p for p in prefixes if p.startswith(root))))
    return tuple(scopes)


def list_scope(
    client: S3Client,
    scope: Scope,
    watch: Sequence[str],
    *,
    on_page: Callable[[], None],
    stop: threading.Event,
    on_key: Callable[[str], None] | None = None,
) -> dict[str, Seen] | None:
    """The watched keys under a scope with their versions; None when `stop` cut the walk short.

    Raises the client's errors: a partial listing must never be compared, or the
    keys on the missing pages would look deleted.
    """
    observed: dict[str, Seen] = {}
    token = ""
    while True:
        if stop.is_set():
            return None
        if token:
            page = client.list_objects_v2(
                Bucket=scope.bucket, Prefix=scope.prefix, MaxKeys=_PAGE, ContinuationToken=token
            )
        else:
            page = client.list_objects_v2(Bucket=scope.bucket, Prefix=scope.prefix, MaxKeys=_PAGE)
        on_page()
        for item in page.get("Contents", []):
            key = item.get("Key", "")
            if on_key is not None:
                on_key(key)  # every key, watched or not: the site index reuses this listing
            if scope.watches(key, watch):
                observed[key] = Seen(str(item.get("ETag", "")).strip('"'), iso_time(item.get("LastModified")))
        token = page.get("NextContinuationToken", "")
        if not page.get("IsTruncated") or not token:
            return observed


def iso_time(value: datetime | None) -> str:
    """LastModified as poll keeps it (ISO 8601; "" when missing)."""
    return value.isoformat() if value is not None else ""


def describe_list_error(scope: Scope, exc: BaseException) -> tuple[str, bool]:
    """One line for the log and /readyz, and whether the error is worth retrying soon."""
    error = classify(exc)
    code = error.code
    where = f"s3://{scope.bucket}/{scope.prefix}: ListObjectsV2 {code}"
    if error.retryable:
        return where, True
    if error.missing:
        return f"{where} (the bucket does not exist: check [[sites]] bucket)", False
    if error.denied:
        return (
            f"{where} (the watcher needs s3:ListBucket on bucket {scope.bucket}: see watcher iam-policy)",
            False,
        )
    return where, False


def backoff_cycles(failures: int, interval_seconds: float) -> int:
    """Cycles to skip after consecutive failures: 0, 1, 3, 7 ... within ~15 minutes."""
    ceiling = max(0, int(_MAX_BACKOFF_SECONDS / interval_seconds) - 1)
    return int(min(2 ** (failures - 1) - 1, ceiling))
