"""Bucket/key -> the sites that serve it -> the CloudFront paths to invalidate.

Pure: the daemon and `watcher explain` share this code, so what explain prints
is what the daemon sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from watcher.core.globs import compile_globs
from watcher.core.model import Route
from watcher.core.planning import encode_path
from watcher.core.sites import sites_by_bucket

__all__ = ["SITE_WILDCARD", "Router", "RoutingResult", "SiteLike", "url_paths"]

INDEX_DOCUMENT = "index.html"
# A site's URL space is "/" + key-without-prefix, so its whole site is "/*" whatever the prefix.
SITE_WILDCARD = "/*"


class SiteLike(Protocol):
    """What routing needs of a `[[sites]]` entry."""

    @property
    def bucket(self) -> str: ...
    @property
    def distribution_id(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def include(self) -> tuple[str, ...]: ...
    @property
    def exclude(self) -> tuple[str, ...]: ...
    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class RoutingResult:
    """Every site a key maps to, or why none does."""

    routes: tuple[Route, ...]
    reasons: tuple[str, ...] = ()

    @property
    def ignored(self) -> bool:
        """True when no site takes the key."""
        return not self.routes


def url_paths(relative_key: str) -> tuple[str, ...]:
    """The URL paths (not yet encoded) a key relative to its site root serves."""
    paths = ["/" + relative_key]
    head, _, last = relative_key.rpartition("/")
    if last == INDEX_DOCUMENT:
        paths.append("/" + head + "/" if head else "/")
    return tuple(paths)


def _encoded_paths(relative_key: str) -> tuple[str, ...]:
    encoded: dict[str, None] = {}
    for raw in url_paths(relative_key):
        encoded.update(dict.fromkeys(encode_path(raw)))
    return tuple(encoded)


class Router:
    """Maps changed objects to every site entry that serves them."""

    def __init__(self, sites: Sequence[SiteLike]) -> None:
        self._sites = tuple(sites)
        # Globs compiled once per site: one pattern for its include list, one for its exclude list.
        self._by_bucket = {
            bucket: [(site, compile_globs(site.include), compile_globs(site.exclude)) for site in sites]
            for bucket, sites in sites_by_bucket(self._sites).items()
        }

    def route(self, bucket: str, key: str, *, site_wide: bool = False) -> RoutingResult:
        """The sites and encoded CloudFront paths for one object, or the reasons it is ignored.

        `site_wide`: each site that takes the key gets one wildcard over its whole URL
        space ("/*": the prefix is stripped from URLs) instead of the key's paths.
        """
        candidates = self._by_bucket.get(bucket)
        if not candidates:
            return RoutingResult(routes=(), reasons=(f"no site watches bucket {bucket!r}",))
        routes: list[Route] = []
        reasons: list[str] = []
        for site, include, exclude in candidates:
            if not key.startswith(site.prefix):
                reasons.append(f"{site.name}: key is outside prefix {site.prefix!r}")
                continue
            relative = key[len(site.prefix) :]
            if not include.fullmatch(relative):
                reasons.append(f"{site.name}: not matched by include {list(site.include)}")
                continue
            if exclude.fullmatch(relative):
                reasons.append(f"{site.name}: matched by exclude {list(site.exclude)}")
                continue
            paths = (SITE_WILDCARD,) if site_wide else _encoded_paths(relative)
            routes.append(Route(site_name=site.name, distribution_id=site.distribution_id, paths=paths))
        return RoutingResult(routes=tuple(routes), reasons=tuple(reasons))
