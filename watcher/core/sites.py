"""Facts about the configured sites and queue that several commands need: pure, one copy each.

Prefixes: "" covers every key, "blog/" covers "blog/2026/"; the fewest prefixes
that cover a set are what setup subscribes, what IAM grants, what poll lists.
Queue URLs: `https://sqs.REGION.amazonaws.com[.cn]/ACCOUNT/NAME`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

__all__ = [
    "QueueAddress",
    "is_fifo",
    "prefix_free",
    "prefixes_by_bucket",
    "queue_address",
    "queue_name",
    "sites_by_bucket",
]

_AWS_QUEUE_URL = re.compile(
    r"^https://sqs\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/(?P<account>\d{12})/"
)


class _OnBucket(Protocol):
    @property
    def bucket(self) -> str: ...
    @property
    def prefix(self) -> str: ...


SiteT = TypeVar("SiteT", bound=_OnBucket)


def prefix_free(prefixes: Iterable[str]) -> tuple[str, ...]:
    """Sorted, without every prefix that another one already covers ("" covers all)."""
    kept: list[str] = []
    for prefix in sorted(set(prefixes)):
        # Sorted, a prefix comes right before what it covers: only the last kept one can cover this.
        if not kept or not prefix.startswith(kept[-1]):
            kept.append(prefix)
    return tuple(kept)


def sites_by_bucket(sites: Iterable[SiteT]) -> dict[str, list[SiteT]]:
    """The sites of each bucket, in configuration order."""
    grouped: dict[str, list[SiteT]] = {}
    for site in sites:
        grouped.setdefault(site.bucket, []).append(site)
    return grouped


def prefixes_by_bucket(sites: Iterable[_OnBucket]) -> dict[str, tuple[str, ...]]:
    """Each bucket's fewest covering site prefixes, buckets sorted."""
    grouped = sites_by_bucket(sites)
    return {bucket: prefix_free(site.prefix for site in grouped[bucket]) for bucket in sorted(grouped)}


@dataclass(frozen=True, slots=True)
class QueueAddress:
    """Where an AWS queue URL points."""

    region: str
    account: str


def queue_address(queue_url: str) -> QueueAddress | None:
    """Region and account of an AWS queue URL; None for other endpoints (LocalStack, moto)."""
    match = _AWS_QUEUE_URL.match(queue_url)
    return QueueAddress(match.group("region"), match.group("account")) if match else None


def queue_name(queue_url: str) -> str:
    """The queue name: the last segment of its URL."""
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def is_fifo(queue_url: str = "", attributes: Mapping[Any, str] | None = None) -> bool:
    """A FIFO queue (which S3 cannot notify): by its name, or by its attributes when read."""
    return queue_name(queue_url).endswith(".fifo") or (attributes or {}).get("FifoQueue") == "true"
