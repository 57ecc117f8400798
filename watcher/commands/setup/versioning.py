"""`watcher setup --enable-versioning`: versioned site buckets, so unchanged writes can be skipped.

Opt-in. Each site bucket gets versioning and a lifecycle rule that expires noncurrent
versions after N days (7 by default), merged into the bucket's lifecycle configuration:
its other rules are kept as they are. Without the option the plan only says, per
bucket, whether versioning is on (README "What counts as a change").

`plan_versioning` is pure; `observe_versioning` reads the buckets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watcher.aws import ClientFactory
from watcher.awserrors import AWS_ERRORS, error_code
from watcher.commands.setup.discover import describe_error
from watcher.commands.setup.plan import Action, SetupPlan

__all__ = ["RULE_ID", "BucketVersioning", "observe_versioning", "plan_versioning"]

RULE_ID = "cloudfront-watcher-noncurrent-versions"
DEFAULT_NONCURRENT_DAYS = 7


@dataclass(frozen=True, slots=True)
class BucketVersioning:
    """A bucket's versioning status ("" = never enabled) and lifecycle rules (None: not read)."""

    bucket: str
    status: str
    rules: tuple[Mapping[str, Any], ...] | None = None
    problem: str = ""


def observe_versioning(
    clients: ClientFactory, buckets: Sequence[str], *, lifecycle: bool
) -> list[BucketVersioning]:
    """GetBucketVersioning of each bucket (and, to merge into, its lifecycle rules)."""
    s3 = clients.s3()
    observed = []
    for bucket in buckets:
        try:
            status = s3.get_bucket_versioning(Bucket=bucket).get("Status", "")
            rules = _lifecycle_rules(s3, bucket) if lifecycle else None
        except AWS_ERRORS as exc:
            what = f"s3:GetBucketVersioning/GetLifecycleConfiguration on {bucket}"
            observed.append(BucketVersioning(bucket, "", problem=describe_error(exc, what)))
            continue
        observed.append(BucketVersioning(bucket, status, rules))
    return observed


def _lifecycle_rules(s3: Any, bucket: str) -> tuple[Mapping[str, Any], ...]:
    try:
        return tuple(s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []))
    except AWS_ERRORS as exc:
        if error_code(exc) == "NoSuchLifecycleConfiguration":
            return ()
        raise


def noncurrent_rule(days: int) -> dict[str, Any]:
    """Our lifecycle rule: noncurrent versions expire `days` after they stop being current."""
    return {
        "ID": RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": days},
    }


def plan_versioning(observed: Sequence[BucketVersioning], *, enable: bool, days: int) -> SetupPlan:
    """Facts per bucket; with `enable`, the actions that version it and merge our lifecycle rule."""
    plan = SetupPlan()
    for bucket in observed:
        if bucket.problem:
            plan.problems.append(bucket.problem)
            continue
        name, on = bucket.bucket, bucket.status == "Enabled"
        if on:
            plan.facts.append(f"bucket {name}: versioning Enabled: unchanged writes are skipped")
        elif not enable:
            status = bucket.status or "never enabled"
            plan.facts.append(
                f"bucket {name}: versioning {status}: every write is a change"
                " (--enable-versioning to skip unchanged writes)"
            )
            continue
        else:
            plan.actions.append(
                Action(
                    "put_bucket_versioning",
                    f"bucket {name}: enable versioning (unchanged writes are then skipped)",
                    {"Bucket": name},
                )
            )
        if enable and bucket.rules is not None:
            _merge_rule(plan, name, bucket.rules, days)
    return plan


def _merge_rule(plan: SetupPlan, bucket: str, rules: Sequence[Mapping[str, Any]], days: int) -> None:
    ours = noncurrent_rule(days)
    theirs = [dict(rule) for rule in rules if rule.get("ID") != RULE_ID]
    if any(dict(rule) == ours for rule in rules):
        plan.facts.append(
            f"bucket {bucket}: lifecycle rule {RULE_ID} expires noncurrent versions after {days} days"
        )
        return
    kept = f"; its {len(theirs)} other rule(s) kept" if theirs else ""
    plan.actions.append(
        Action(
            "put_bucket_lifecycle",
            f"bucket {bucket}: lifecycle rule {RULE_ID}: expire noncurrent versions after {days} days{kept}",
            {"Bucket": bucket, "Rules": [*theirs, ours]},
        )
    )
