"""The queue policy `watcher setup` writes: merged into what is there, compared by meaning."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from watcher.arns import DEFAULT_PARTITION, bucket_arn

__all__ = [
    "EVENTS_SID",
    "S3_SID",
    "blocking_statement",
    "eventbridge_statement",
    "merge_policy",
    "policies_equal",
    "s3_statement",
]

S3_SID = "CloudFrontWatcherS3Notifications"
EVENTS_SID = "CloudFrontWatcherEventBridge"
_OURS = (S3_SID, EVENTS_SID)


def s3_statement(
    queue_arn: str, buckets: Iterable[str], account: str, partition: str = DEFAULT_PARTITION
) -> dict[str, Any]:
    """S3 may send, but only from these buckets of this account (a bucket name can change owners)."""
    condition = {
        "ArnLike": {"aws:SourceArn": sorted(bucket_arn(b, partition) for b in buckets)},
        "StringEquals": {"aws:SourceAccount": account},
    }
    return _may_send(S3_SID, "s3.amazonaws.com", queue_arn, condition)


def eventbridge_statement(queue_arn: str, rule_arn: str) -> dict[str, Any]:
    """EventBridge may send, but only for the watcher's rule."""
    return _may_send(
        EVENTS_SID, "events.amazonaws.com", queue_arn, {"ArnEquals": {"aws:SourceArn": rule_arn}}
    )


def _may_send(sid: str, service: str, queue_arn: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": condition,
    }


def parse_policy(text: str) -> dict[str, Any] | None:
    """The policy document, {} when there is none, None when it is not a JSON object."""
    if not text:
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


def merge_policy(existing: dict[str, Any], ours: list[dict[str, Any]]) -> dict[str, Any]:
    """Other statements kept as they are; ours replaced by Sid."""
    statements = existing.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    kept = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") in _OURS)]
    merged = {key: value for key, value in existing.items() if key != "Statement"}
    merged.setdefault("Version", "2012-10-17")
    merged["Statement"] = kept + ours
    return merged


def _normal(value: Any) -> Any:
    # IAM treats ["x"] and "x" alike and ignores list order: compare what the policy means.
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    if isinstance(value, list):
        items = sorted((_normal(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
        return items[0] if len(items) == 1 else items
    return value


def policies_equal(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Equal in meaning (single-item lists, order)."""
    return bool(_normal(one) == _normal(other))


def _covers_send(actions: Any) -> bool:
    names = [actions] if isinstance(actions, str) else list(actions or [])
    return any(name.lower() in ("*", "sqs:*", "sqs:sendmessage", "sqs:send*") for name in names)


def blocking_statement(policy: dict[str, Any]) -> str | None:
    """The Sid (or index) of a Deny on sqs:SendMessage, which would stop S3 and EventBridge."""
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    for index, statement in enumerate(statements):
        denies = isinstance(statement, dict) and statement.get("Effect") == "Deny"
        if denies and _covers_send(statement.get("Action")):
            return str(statement.get("Sid") or f"#{index}")
    return None
