"""`watcher explain`: what a change to each object would invalidate, with the daemon's own routing."""

from __future__ import annotations

from collections.abc import Sequence

from watcher.core.config import Settings
from watcher.core.routing import Router

__all__ = ["explain", "parse_s3_url"]


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://BUCKET/KEY` -> (bucket, key). The key is taken as stored in S3 (not URL-encoded)."""
    if not url.startswith("s3://"):
        raise ValueError(f"expected s3://BUCKET/KEY, got {url!r}")
    bucket, slash, key = url[len("s3://") :].partition("/")
    if not bucket or not slash or not key:
        raise ValueError(f"expected s3://BUCKET/KEY with a non-empty key, got {url!r}")
    return bucket, key


def explain(settings: Settings, urls: Sequence[str]) -> str:
    """A human-readable report, one block per object."""
    router = Router(settings.sites)
    blocks = []
    for url in urls:
        bucket, key = parse_s3_url(url)
        result = router.route(bucket, key)
        lines = [url]
        for route in result.routes:
            lines.append(f"  site {route.site_name}")
            lines.append(f"    distribution {route.distribution_id} invalidates:")
            lines.extend(f"      {path}" for path in route.paths)
        if result.ignored:
            lines.append("  ignored:")
            lines.extend(f"    {reason}" for reason in result.reasons)
        blocks.append("\n".join(lines))
    return "\n".join(blocks)
