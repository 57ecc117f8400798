"""From what exists to what `watcher setup` would change: pure, so every decision is unit-tested."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from watcher.commands.setup.overlap import KeyFilter, NotificationEntry, entries_of, first_overlap
from watcher.commands.setup.queue_policy import (
    blocking_statement,
    eventbridge_statement,
    merge_policy,
    parse_policy,
    policies_equal,
    s3_statement,
)
from watcher.commands.setup.state import Observed, QueueState, Target
from watcher.core.sites import is_fifo

__all__ = ["WATCHED_EVENTS", "Action", "SetupPlan", "event_pattern", "plan_setup"]

WATCHED_EVENTS = ("s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*")
ENTRY_ID = "cloudfront-watcher"
MAX_RECEIVE_COUNT = 5
DLQ_RETENTION_SECONDS = 1_209_600  # 14 days, SQS's maximum: time to look at what failed
AWS_MANAGED_SQS_KEY = "alias/aws/sqs"


@dataclass(frozen=True, slots=True)
class Action:
    """One change to make. `kind` picks the AWS call; `params` are its arguments."""

    kind: str  # create_queue | set_queue_attributes | put_rule | put_targets | put_bucket_notification
    summary: str
    params: Mapping[str, Any]


@dataclass(slots=True)
class SetupPlan:
    """What exists (facts), what would change (actions), and what blocks (problems)."""

    facts: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def event_pattern(buckets: tuple[str, ...]) -> dict[str, Any]:
    """The EventBridge rule pattern for S3 changes to these buckets."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        "detail": {"bucket": {"name": sorted(buckets)}},
    }


def plan_setup(target: Target, observed: Observed) -> SetupPlan:
    """Every action needed to wire the site buckets to the queue, in the order to apply them."""
    plan = SetupPlan(problems=list(observed.problems))
    _check_queue(plan, target, observed.queue)
    notification_actions: list[Action] = []
    via_eventbridge: list[str] = []
    for bucket in observed.buckets:
        if bucket.region is not None and bucket.region != target.region:
            plan.problems.append(
                f"bucket {bucket.name} is in {bucket.region} but the queue is in {target.region}: "
                "S3 notifications need a queue in the bucket's region (run setup with that region)"
            )
            continue
        if bucket.notification is None:
            continue  # discovery already said why
        action, eventbridge = _plan_bucket(plan, target, bucket.name, bucket.notification)
        if eventbridge:
            via_eventbridge.append(bucket.name)
        if action:
            notification_actions.append(action)
    direct = [b for b in target.buckets if b not in via_eventbridge]
    _plan_queues(plan, target, observed, direct, bool(via_eventbridge))
    if via_eventbridge:
        _plan_rule(plan, target, observed, tuple(via_eventbridge))
    plan.actions.extend(notification_actions)  # last: S3 validates that the queue policy lets it send
    return plan


def _check_queue(plan: SetupPlan, target: Target, queue: QueueState) -> None:
    if not queue.exists:
        plan.facts.append(f"queue {target.queue_name}: does not exist yet")
        return
    plan.facts.append(f"queue {target.queue_name}: exists ({queue.url})")
    attributes = queue.attributes
    if is_fifo(attributes=attributes):
        plan.problems.append(f"queue {target.queue_name} is FIFO: S3 notifications need a standard queue")
    key = attributes.get("KmsMasterKeyId", "")
    if key == AWS_MANAGED_SQS_KEY or key.endswith(":" + AWS_MANAGED_SQS_KEY):
        plan.problems.append(
            f"queue {target.queue_name} is encrypted with the AWS-managed key {AWS_MANAGED_SQS_KEY}, "
            "which S3 cannot use: switch it to SSE-SQS (SqsManagedSseEnabled=true) "
            "or to a customer managed key whose key policy grants s3.amazonaws.com "
            "kms:GenerateDataKey and kms:Decrypt"
        )
    elif key:
        plan.facts.append(
            f"queue {target.queue_name} uses KMS key {key}: its key policy must grant s3.amazonaws.com "
            "(and events.amazonaws.com) kms:GenerateDataKey and kms:Decrypt; "
            "setup does not change key policies"
        )
    policy = parse_policy(attributes.get("Policy", ""))
    if policy is None:
        plan.problems.append(f"queue {target.queue_name}: its policy is not a JSON object; fix or remove it")
    elif (sid := blocking_statement(policy)) is not None:
        plan.problems.append(
            f"queue {target.queue_name}: its policy denies sqs:SendMessage (statement {sid}), which would "
            "stop S3 notifications; remove that statement or except s3.amazonaws.com from it"
        )


def _wanted_entries(target: Target, bucket: str) -> list[NotificationEntry]:
    return [
        NotificationEntry(
            kind="queue",
            destination=target.queue_arn,
            events=WATCHED_EVENTS,
            key_filter=KeyFilter(prefix=prefix),
            entry_id=ENTRY_ID + (f"-{prefix.rstrip('/')}" if prefix else ""),
        )
        for prefix in target.bucket_prefixes[bucket]
    ]


def _api_entry(entry: NotificationEntry) -> dict[str, Any]:
    item: dict[str, Any] = {"Id": entry.entry_id, "QueueArn": entry.destination, "Events": list(entry.events)}
    if entry.key_filter.prefix:
        item["Filter"] = {"Key": {"FilterRules": [{"Name": "prefix", "Value": entry.key_filter.prefix}]}}
    return item


def _shape(entries: list[NotificationEntry]) -> set[tuple[frozenset[str], KeyFilter]]:
    return {(frozenset(e.events), e.key_filter) for e in entries}


def _plan_bucket(
    plan: SetupPlan, target: Target, bucket: str, current: Mapping[str, Any]
) -> tuple[Action | None, bool]:
    """The notification change of one bucket (or None), and whether it goes the EventBridge way."""
    entries = entries_of(current)
    ours = [e for e in entries if e.kind == "queue" and e.destination == target.queue_arn]
    others = [e for e in entries if e not in ours]
    wanted = _wanted_entries(target, bucket)
    configuration = {k: v for k, v in current.items() if k != "ResponseMetadata"}
    queue_items = [
        item
        for item in configuration.get("QueueConfigurations") or []
        if item.get("QueueArn") != target.queue_arn
    ]
    kept = f"; keeps {len(others)} other entr{'y' if len(others) == 1 else 'ies'}" if others else ""
    clash = first_overlap(wanted, others)
    if clash is not None:
        plan.facts.append(
            f"bucket {bucket}: {', '.join(clash[1].events)} already go to {clash[1].describe()}; "
            "S3 forbids overlapping entries, so its changes reach the queue through EventBridge "
            f"(rule {target.rule_name})"
        )
        if "EventBridgeConfiguration" in configuration and not ours:
            return None, True
        configuration["QueueConfigurations"] = queue_items
        configuration["EventBridgeConfiguration"] = {}
        summary = f"bucket {bucket}: enable EventBridge delivery{kept}"
        return Action(
            "put_bucket_notification", summary, {"Bucket": bucket, "Configuration": configuration}
        ), True
    if _shape(ours) == _shape(wanted):
        plan.facts.append(f"bucket {bucket}: notification to the queue is in place{kept}")
        return None, False
    configuration["QueueConfigurations"] = queue_items + [_api_entry(e) for e in wanted]
    prefixes = ", ".join(repr(p) for p in target.bucket_prefixes[bucket])
    summary = (
        f"bucket {bucket}: notify {target.queue_name} of ObjectCreated, ObjectRemoved, LifecycleExpiration "
        f"(prefix {prefixes}){kept}"
    )
    return Action(
        "put_bucket_notification", summary, {"Bucket": bucket, "Configuration": configuration}
    ), False


def _plan_queues(
    plan: SetupPlan, target: Target, observed: Observed, direct: list[str], eventbridge: bool
) -> None:
    attributes = observed.queue.attributes if observed.queue.exists else {}
    statements = [s3_statement(target.queue_arn, direct, target.account, target.partition)] if direct else []
    if eventbridge:
        statements.append(eventbridge_statement(target.queue_arn, target.rule_arn))
    existing_policy = parse_policy(attributes.get("Policy", "")) or {}
    policy = merge_policy(existing_policy, statements)
    wanted: dict[str, str] = {}
    if not policies_equal(existing_policy, policy):
        wanted["Policy"] = json.dumps(policy, sort_keys=True)
    if attributes.get("RedrivePolicy"):
        plan.facts.append(
            f"queue {target.queue_name}: has a redrive policy ({attributes['RedrivePolicy']}); kept"
        )
    else:
        _plan_dlq(plan, target, observed.dlq)
        redrive = {
            "deadLetterTargetArn": target.sqs_arn(target.dlq_name),
            "maxReceiveCount": MAX_RECEIVE_COUNT,
        }
        wanted["RedrivePolicy"] = json.dumps(redrive)
    if not observed.queue.exists:
        wanted |= {
            "VisibilityTimeout": str(target.visibility_timeout_seconds),
            "ReceiveMessageWaitTimeSeconds": "20",
            "SqsManagedSseEnabled": "true",
        }
        summary = f"create queue {target.queue_name} (SSE-SQS, dead-letter queue {target.dlq_name}, policy)"
        plan.actions.append(
            Action("create_queue", summary, {"QueueName": target.queue_name, "Attributes": wanted})
        )
    elif wanted:
        summary = f"queue {target.queue_name}: set {', '.join(sorted(wanted))}"
        plan.actions.append(
            Action("set_queue_attributes", summary, {"QueueName": target.queue_name, "Attributes": wanted})
        )


def _plan_dlq(plan: SetupPlan, target: Target, dlq: QueueState) -> None:
    if dlq.exists:
        plan.facts.append(f"dead-letter queue {target.dlq_name}: exists")
        return
    attributes = {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS), "SqsManagedSseEnabled": "true"}
    summary = f"create dead-letter queue {target.dlq_name} (14 days retention)"
    plan.actions.append(
        Action("create_queue", summary, {"QueueName": target.dlq_name, "Attributes": attributes})
    )


def _plan_rule(plan: SetupPlan, target: Target, observed: Observed, buckets: tuple[str, ...]) -> None:
    pattern = event_pattern(buckets)
    rule = observed.rule
    current = parse_policy(rule.event_pattern) if rule.exists else None
    if rule.exists and current == pattern and rule.state == "ENABLED":
        plan.facts.append(f"EventBridge rule {target.rule_name}: in place")
    else:
        verb = "update" if rule.exists else "create"
        plan.actions.append(
            Action(
                "put_rule",
                f"{verb} EventBridge rule {target.rule_name} "
                f"(aws.s3 Object Created/Deleted of {', '.join(buckets)})",
                {"Name": target.rule_name, "EventPattern": json.dumps(pattern), "State": "ENABLED"},
            )
        )
    if target.queue_arn not in rule.target_arns:
        plan.actions.append(
            Action(
                "put_targets",
                f"EventBridge rule {target.rule_name}: target queue {target.queue_name}",
                {
                    "Rule": target.rule_name,
                    "Targets": [{"Id": "cloudfront-watcher", "Arn": target.queue_arn}],
                },
            )
        )
