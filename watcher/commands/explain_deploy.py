"""`watcher explain --deploy FILE|-`: the plan each strategy would send for a deploy, and its cost.

Lists the sites (ListObjectsV2) to count what each wildcard would purge, so a
user can compare strategies before changing the config. In a versioned bucket (with
`skip_unchanged`), each object's current version is compared with the one before it:
unchanged writes are shown and left out of the plans. No invalidation is made.
"""

from __future__ import annotations

import sys
from pathlib import Path

from watcher.aws import ClientFactory
from watcher.awserrors import AWS_ERRORS, error_code
from watcher.commands.explain import parse_s3_url
from watcher.core.config import Settings
from watcher.core.cover import collateral
from watcher.core.planning import InvalidationPlan
from watcher.core.routing import Router
from watcher.core.schedule import schedule_requests
from watcher.core.site_index import DistributionIndex, SiteIndex, index_path
from watcher.core.strategy import STRATEGY_WEIGHTS, Strategy
from watcher.sources.site_listing import list_keys
from watcher.sources.version_chain import current_write

__all__ = ["explain_deploy", "read_deploy"]

_SHOWN_PATHS = 12


def read_deploy(source: str) -> list[str]:
    """The `s3://BUCKET/KEY` lines of a file (or stdin for '-'); blank lines and # comments skipped."""
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _indexes(settings: Settings) -> tuple[dict[str, DistributionIndex], list[str]]:
    factory = ClientFactory(
        region=settings.aws.region,
        connect_timeout=settings.aws.connect_timeout_seconds,
        read_timeout=settings.aws.read_timeout_seconds,
    )
    clients = factory.for_sites(settings.sites)  # a site's bucket through its role_arn, if any
    by_distribution: dict[str, list[SiteIndex]] = {}
    problems: list[str] = []
    for site in settings.sites:
        try:
            paths = [
                index_path(key[len(site.prefix) :])
                for key in list_keys(clients.s3(site.bucket), site.bucket, site.prefix)
            ]
        except AWS_ERRORS as exc:
            problems.append(f"s3://{site.bucket}/{site.prefix}: ListObjectsV2 {error_code(exc)}")
            continue
        by_distribution.setdefault(site.distribution_id, []).append(SiteIndex(paths))
    return {dist: DistributionIndex(sites) for dist, sites in by_distribution.items()}, problems


def _changed(settings: Settings, urls: list[tuple[str, str]], lines: list[str]) -> list[tuple[str, str]]:
    """The objects of the deploy but its unchanged writes, which a line of `lines` names."""
    same = _unchanged_writes(settings, urls) if settings.invalidation.skip_unchanged else set()
    if same:
        shown = ", ".join(f"s3://{bucket}/{key}" for bucket, key in sorted(same)[:_SHOWN_PATHS])
        more = f" ... {len(same) - _SHOWN_PATHS} more" if len(same) > _SHOWN_PATHS else ""
        lines.append(
            f"{len(same)} write(s) unchanged (same content as the version before them): {shown}{more}"
        )
    return [url for url in urls if url not in same]


def _unchanged_writes(settings: Settings, urls: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The objects of a versioned bucket whose current version is the same as the one before it."""
    clients = ClientFactory(region=settings.aws.region).for_sites(settings.sites)
    versioned: dict[str, bool] = {}
    same = set()
    for bucket, key in dict.fromkeys(urls):
        s3 = clients.s3(bucket)
        if bucket not in versioned:
            try:
                versioned[bucket] = s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
            except AWS_ERRORS:
                versioned[bucket] = False  # cannot tell: every write is a change
        if versioned[bucket] and current_write(s3, bucket, key).unchanged:
            same.add((bucket, key))
    return same


def explain_deploy(settings: Settings, source: str) -> str:
    """A report per distribution: billed paths, wildcards and collateral of each strategy's plan."""
    router = Router(settings.sites)
    targets: dict[str, set[str]] = {}
    objects: dict[str, int] = {}
    lines: list[str] = []
    ignored = 0
    for bucket, key in _changed(settings, [parse_s3_url(url) for url in read_deploy(source)], lines):
        result = router.route(bucket, key)
        ignored += result.ignored
        for route in result.routes:
            targets.setdefault(route.distribution_id, set()).update(route.paths)
            objects[route.distribution_id] = objects.get(route.distribution_id, 0) + 1
    if ignored:
        lines.append(f"{ignored} object(s) of the deploy map to no site (see `watcher explain s3://...`)")
    indexes, problems = _indexes(settings)
    lines.extend(f"cannot list {problem}: collateral unknown, only exact is shown" for problem in problems)
    inv = settings.invalidation
    strategies = dict(STRATEGY_WEIGHTS)
    configured: str = inv.strategy
    if inv.collateral_weight is not None:
        configured = f"weight {inv.collateral_weight:g}"
        strategies[configured] = inv.collateral_weight
    for dist, paths in sorted(targets.items()):
        index = indexes.get(dist)
        size = f"{len(index)} objects listed" if index is not None else "not listed"
        lines.append(
            f"distribution {dist}: {objects[dist]} changed objects, {len(paths)} paths; site: {size}"
        )
        for name, weight in strategies.items():
            mark = " (configured)" if name == configured else ""
            if weight is not None and index is None:
                lines.append(f"  {name}{mark}: needs a listing of the site")
                continue
            # No deadline here: an operator choosing a strategy gets each one's best plan.
            strategy = Strategy(name, weight, index, reserve=inv.wildcard_reserve)
            schedule = schedule_requests(
                paths,
                max_paths=inv.max_paths_per_request,
                wildcard_budget=inv.max_wildcards_in_progress,
                planner=strategy,
            )
            plan = InvalidationPlan(schedule.paths)
            purged = collateral(plan, paths, index) if index is not None else "unknown"
            lines.append(
                f"  {name}{mark}: {len(plan.paths)} billed paths ({plan.wildcards} wildcards) in "
                f"{len(schedule.requests)} request(s), {purged} unchanged objects purged"
            )
            lines.extend(f"      {path}" for path in plan.paths[:_SHOWN_PATHS])
            if len(plan.paths) > _SHOWN_PATHS:
                lines.append(f"      ... {len(plan.paths) - _SHOWN_PATHS} more")
    if not targets:
        lines.append("nothing to invalidate")
    return "\n".join(lines)
