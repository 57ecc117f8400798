"""Least-privilege IAM policy documents for the watcher and for setup, built from the config
(the `watcher iam-policy` command itself is iam_policy.py).

Every Resource names a configured queue, distribution, bucket or rule; nothing
is `*` except what IAM cannot scope.
"""

from __future__ import annotations

from typing import Any

from watcher.arns import format_arn, is_arn, parse_arn
from watcher.commands.iam_account import (
    Account,
    bucket_arns,
    distribution_arns,
    object_version_reads,
    prefix_listing,
    sqs_arn,
)
from watcher.commands.setup.state import DLQ_SUFFIX, RULE_PREFIX
from watcher.core.config import Settings
from watcher.core.strategy import configured_weight

__all__ = [
    "Account",
    "kms_key_resource",
    "setup_policy",
    "site_listing_statements",
    "watcher_policy",
]

SQS_CONSUME = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
]
# The queue-depth sampler finds the dead-letter queue by name and reads its depth.
SQS_DLQ_DEPTH = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
CLOUDFRONT_INVALIDATE = [
    "cloudfront:CreateInvalidation",
    "cloudfront:GetInvalidation",
    "cloudfront:ListInvalidations",
]


def _distribution_arns(settings: Settings, account: Account) -> list[str]:
    return distribution_arns(settings, account.partition, account.account_id)


def kms_key_resource(key: str, account: Account) -> tuple[str, dict[str, Any]]:
    """The Resource (and extra Condition) for kms:Decrypt on a queue's KmsMasterKeyId.

    A key ARN or id names the key itself; an alias cannot be a Resource for
    Decrypt, so the key is matched by its alias instead (kms:ResourceAliases).
    """

    def in_account(resource: str) -> str:
        return format_arn(
            "kms", resource, partition=account.partition, region=account.region, account=account.account_id
        )

    if is_arn(key):
        resource = parse_arn(key).resource
        if resource.startswith("key/"):
            return key, {}
        if resource.startswith("alias/"):
            return in_account("key/*"), {"ForAnyValue:StringEquals": {"kms:ResourceAliases": resource}}
    if key.startswith("alias/"):
        return in_account("key/*"), {"ForAnyValue:StringEquals": {"kms:ResourceAliases": key}}
    return in_account(f"key/{key}"), {}


def _event_bus_arn(bus: str, account: Account) -> str:
    if is_arn(bus):
        return bus
    return format_arn(
        "events",
        f"event-bus/{bus}",
        partition=account.partition,
        region=account.region,
        account=account.account_id,
    )


def _poll_statements(settings: Settings, account: Account) -> list[dict[str, Any]]:
    # The poller only lists, under the site prefixes (ListObjectsV2 carries the ETags): no s3:GetObject.
    return prefix_listing(settings, account.partition, "s3:ListBucket")


def site_listing_statements(settings: Settings, account: Account, *, mode: str) -> list[dict[str, Any]]:
    """The daemon's S3 reads: the poller's listings, or (SQS mode) the site index's with a cost strategy;
    and with `skip_unchanged`, the content check's version reads (README "What counts as a change")."""
    compares = settings.invalidation.skip_unchanged  # SQS writes, and poll's re-uploads (poll_content.py)
    versions = object_version_reads(settings, account.partition) if compares else []
    if mode in ("poll", "both"):
        sid = "PollSiteBuckets"
    elif configured_weight(settings.invalidation) is not None:
        sid = "IndexSiteBuckets"  # a cost strategy keeps a site index: the same listing, nothing else
    else:
        return versions
    return [{"Sid": f"{sid}{i}", **s} for i, s in enumerate(_poll_statements(settings, account))] + versions


def watcher_policy(
    settings: Settings, account: Account, *, mode: str, kms_key: str = "", dlq_arn: str = ""
) -> dict[str, Any]:
    """The watcher's own role: consume the queue, invalidate the distributions, read buckets in poll mode.

    `dlq_arn` is the queue's dead-letter queue, whose depth the watcher samples.
    """
    statements: list[dict[str, Any]] = []
    if mode in ("sqs", "both"):
        queue_arn = sqs_arn(account, settings.sqs.queue_url)
        statements.append(
            {"Sid": "ConsumeSiteChangeQueue", "Effect": "Allow", "Action": SQS_CONSUME, "Resource": queue_arn}
        )
        if dlq_arn:
            statements.append(
                {
                    "Sid": "ReadDeadLetterQueueDepth",
                    "Effect": "Allow",
                    "Action": SQS_DLQ_DEPTH,
                    "Resource": dlq_arn,
                }
            )
        if kms_key:
            resource, condition = kms_key_resource(kms_key, account)
            via = {"StringEquals": {"kms:ViaService": f"sqs.{account.region}.amazonaws.com"}}
            statements.append(
                {
                    "Sid": "DecryptSiteChangeQueue",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": resource,
                    "Condition": via | condition,
                }
            )
    statements.append(
        {
            "Sid": "InvalidateSiteDistributions",
            "Effect": "Allow",
            "Action": CLOUDFRONT_INVALIDATE,
            "Resource": _distribution_arns(settings, account),
        }
    )
    statements.extend(site_listing_statements(settings, account, mode=mode))
    if settings.notify.eventbridge_bus:
        statements.append(
            {
                "Sid": "PublishCompletionEvents",
                "Effect": "Allow",
                "Action": "events:PutEvents",
                "Resource": _event_bus_arn(settings.notify.eventbridge_bus, account),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def setup_policy(
    settings: Settings, account: Account, *, queue_name: str = "", versioning: bool = False
) -> dict[str, Any]:
    """What the identity running `watcher setup` needs (GetCallerIdentity needs no permission);
    `versioning`: and `setup --enable-versioning` (versioning, the lifecycle rule merged in)."""
    queue_arn = sqs_arn(account, settings.sqs.queue_url, queue_name)
    queue = parse_arn(queue_arn)
    rule = format_arn(
        "events",
        f"rule/{(RULE_PREFIX + queue.resource)[:64]}",
        partition=account.partition,
        region=queue.region,
        account=account.account_id,
    )
    sqs_actions = ["sqs:CreateQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    s3_actions = [
        "s3:GetBucketLocation",
        "s3:GetBucketNotification",
        "s3:PutBucketNotification",
        "s3:GetBucketVersioning",  # the plan says whether unchanged writes can be skipped
    ]
    if versioning:
        s3_actions += [
            "s3:PutBucketVersioning",
            "s3:GetLifecycleConfiguration",
            "s3:PutLifecycleConfiguration",
        ]
    rule_actions = ["events:DescribeRule", "events:ListTargetsByRule", "events:PutRule", "events:PutTargets"]
    statements = [
        # Setup sets attributes (policy, redrive) on its queue only; the DLQ is created as it stays.
        {"Sid": "SetupQueue", "Action": [*sqs_actions, "sqs:SetQueueAttributes"], "Resource": queue_arn},
        {"Sid": "SetupDeadLetterQueue", "Action": sqs_actions, "Resource": queue_arn + DLQ_SUFFIX},
        {
            "Sid": "SetupBucketNotifications",
            "Action": s3_actions,
            "Resource": bucket_arns(settings, account.partition),
        },
        {"Sid": "SetupEventBridgeRule", "Action": rule_actions, "Resource": rule},
        {
            "Sid": "SetupCheckDistributions",
            "Action": "cloudfront:GetDistribution",
            "Resource": _distribution_arns(settings, account),
        },
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": s.pop("Sid"), "Effect": "Allow", **s} for s in statements],
    }
