"""`watcher iam-policy`: least-privilege IAM policy documents, built from the config.

Every Resource names a configured queue, distribution, bucket or rule; nothing
is `*` except what IAM cannot scope.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

from watcher.commands.setup.state import DLQ_SUFFIX, RULE_PREFIX
from watcher.core.config import Settings
from watcher.core.sites import prefixes_by_bucket, queue_address, queue_name

__all__ = ["Account", "kms_key_resource", "print_policy", "setup_policy", "wait_policy", "watcher_policy"]

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


@dataclass(frozen=True, slots=True)
class Account:
    """Where the ARNs live."""

    account_id: str
    region: str
    partition: str = "aws"


def _queue_arn(account: Account, queue_url: str, name: str = "") -> str:
    address = queue_address(queue_url)
    region = address.region if address else account.region
    owner = address.account if address else account.account_id
    name = name or queue_name(queue_url)
    return f"arn:{account.partition}:sqs:{region}:{owner}:{name}"


def _bucket_arns(settings: Settings, partition: str) -> list[str]:
    return sorted({f"arn:{partition}:s3:::{site.bucket}" for site in settings.sites})


def _distribution_arns(settings: Settings, account: Account) -> list[str]:
    ids = sorted({site.distribution_id for site in settings.sites})
    return [f"arn:{account.partition}:cloudfront::{account.account_id}:distribution/{i}" for i in ids]


def kms_key_resource(key: str, account: Account) -> tuple[str, dict[str, Any]]:
    """The Resource (and extra Condition) for kms:Decrypt on a queue's KmsMasterKeyId.

    A key ARN or id names the key itself; an alias cannot be a Resource for
    Decrypt, so the key is matched by its alias instead (kms:ResourceAliases).
    """
    prefix = f"arn:{account.partition}:kms:{account.region}:{account.account_id}:"
    if key.startswith("arn:") and ":key/" in key:
        return key, {}
    if key.startswith("arn:") and ":alias/" in key:
        alias = "alias/" + key.split(":alias/", 1)[1]
        return prefix + "key/*", {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}}
    if key.startswith("alias/"):
        return prefix + "key/*", {"ForAnyValue:StringEquals": {"kms:ResourceAliases": key}}
    return prefix + f"key/{key}", {}


def _event_bus_arn(bus: str, account: Account) -> str:
    if bus.startswith("arn:"):
        return bus
    return f"arn:{account.partition}:events:{account.region}:{account.account_id}:event-bus/{bus}"


def _listing_statements(settings: Settings, account: Account, actions: list[str]) -> list[dict[str, Any]]:
    """`actions` (bucket listings) on each site bucket, limited to the site prefixes."""
    statements = []
    for bucket, kept in prefixes_by_bucket(settings.sites).items():
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Action": actions,
            "Resource": f"arn:{account.partition}:s3:::{bucket}",
        }
        if "" not in kept:
            statement["Condition"] = {"StringLike": {"s3:prefix": [f"{p}*" for p in kept]}}
        statements.append(statement)
    return statements


def wait_policy(settings: Settings, account: Account) -> dict[str, Any]:
    """`watcher wait`, read-only: list the site prefixes (and delete markers), read invalidations."""
    statements: list[dict[str, Any]] = [
        {"Sid": f"ListSiteChanges{index}", **statement}
        for index, statement in enumerate(
            _listing_statements(settings, account, ["s3:ListBucket", "s3:ListBucketVersions"])
        )
    ]
    statements.append(
        {
            "Sid": "ReadBucketVersioning",
            "Effect": "Allow",
            "Action": "s3:GetBucketVersioning",
            "Resource": _bucket_arns(settings, account.partition),
        }
    )
    statements.append(
        {
            "Sid": "ReadSiteInvalidations",
            "Effect": "Allow",
            "Action": ["cloudfront:GetInvalidation", "cloudfront:ListInvalidations"],
            "Resource": _distribution_arns(settings, account),
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def _poll_statements(settings: Settings, account: Account) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for bucket, kept in prefixes_by_bucket(settings.sites).items():
        bucket_arn = f"arn:{account.partition}:s3:::{bucket}"
        listing: dict[str, Any] = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn}
        if "" not in kept:  # the poller lists only under the site prefixes
            listing["Condition"] = {"StringLike": {"s3:prefix": [f"{p}*" for p in kept]}}
        # The poller only lists (ListObjectsV2 carries the ETags): no s3:GetObject.
        statements.append(listing)
    return statements


def watcher_policy(
    settings: Settings, account: Account, *, mode: str, kms_key: str = "", dlq_arn: str = ""
) -> dict[str, Any]:
    """The watcher's own role: consume the queue, invalidate the distributions, read buckets in poll mode.

    `dlq_arn` is the queue's dead-letter queue, whose depth the watcher samples.
    """
    statements: list[dict[str, Any]] = []
    from watcher.commands.iam_roles import assume_site_roles  # noqa: PLC0415 - it builds on this module

    settings, assume = assume_site_roles(settings)  # sites with a role_arn are reached through it
    if mode in ("sqs", "both"):
        queue_arn = _queue_arn(account, settings.sqs.queue_url)
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
    if settings.sites:
        statements.append(
            {
                "Sid": "InvalidateSiteDistributions",
                "Effect": "Allow",
                "Action": CLOUDFRONT_INVALIDATE,
                "Resource": _distribution_arns(settings, account),
            }
        )
    if mode in ("poll", "both"):
        for index, statement in enumerate(_poll_statements(settings, account)):
            statements.append({"Sid": f"PollSiteBuckets{index}", **statement})
    statements += assume
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


def setup_policy(settings: Settings, account: Account, *, queue_name: str = "") -> dict[str, Any]:
    """What the identity running `watcher setup` needs (GetCallerIdentity needs no permission)."""
    queue_arn = _queue_arn(account, settings.sqs.queue_url, queue_name)
    name = queue_arn.rsplit(":", 1)[1]
    region = queue_arn.split(":")[3]
    rule = f"arn:{account.partition}:events:{region}:{account.account_id}:rule/{(RULE_PREFIX + name)[:64]}"
    sqs_actions = ["sqs:CreateQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    s3_actions = ["s3:GetBucketLocation", "s3:GetBucketNotification", "s3:PutBucketNotification"]
    rule_actions = ["events:DescribeRule", "events:ListTargetsByRule", "events:PutRule", "events:PutTargets"]
    statements = [
        # Setup sets attributes (policy, redrive) on its queue only; the DLQ is created as it stays.
        {"Sid": "SetupQueue", "Action": [*sqs_actions, "sqs:SetQueueAttributes"], "Resource": queue_arn},
        {"Sid": "SetupDeadLetterQueue", "Action": sqs_actions, "Resource": queue_arn + DLQ_SUFFIX},
        {
            "Sid": "SetupBucketNotifications",
            "Action": s3_actions,
            "Resource": _bucket_arns(settings, account.partition),
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


def _online_account(settings: Settings) -> tuple[Account, str, str | None]:
    """Account from STS, the queue's KmsMasterKeyId ("" when none) and its DLQ ARN (None: unreadable)."""
    from watcher.aws import ClientFactory  # noqa: PLC0415 - offline use needs no boto3
    from watcher.awserrors import error_code  # noqa: PLC0415

    clients = ClientFactory(region=settings.aws.region)
    identity = clients.sts().get_caller_identity()
    sqs = clients.sqs()
    partition = identity["Arn"].split(":")[1]
    account = Account(identity["Account"], sqs.meta.region_name or settings.aws.region, partition)
    if not settings.sqs.queue_url:
        return account, "", None
    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=settings.sqs.queue_url, AttributeNames=["KmsMasterKeyId", "RedrivePolicy"]
        ).get("Attributes", {})
    except Exception as exc:  # noqa: BLE001 - the policy is still useful; say what was not checked
        print(
            f"note: could not read the queue's KMS key and dead-letter queue ({error_code(exc)}); "
            "add kms:Decrypt if it uses one",
            file=sys.stderr,
        )
        return account, "", None
    key = attributes.get("KmsMasterKeyId", "")
    redrive = attributes.get("RedrivePolicy", "")
    try:
        dlq = str(json.loads(redrive).get("deadLetterTargetArn", "")) if redrive else ""
    except (ValueError, AttributeError):
        dlq = ""
    # The AWS-managed alias/aws/sqs key already lets SQS users of the account decrypt.
    return account, "" if key.endswith("alias/aws/sqs") else key, dlq


def _offline_account(settings: Settings, account_id: str) -> Account:
    import boto3  # noqa: PLC0415

    # botocore reads only AWS_DEFAULT_REGION; AWS_REGION is what the docs (and the daemon) honour.
    region = settings.aws.region or os.environ.get("AWS_REGION") or boto3.session.Session().region_name or ""
    return Account(account_id, region)


def _dlq_arn(settings: Settings, account: Account, found: str | None, dlq_name: str | None) -> str:
    """The DLQ whose depth the watcher samples: the flag, else the RedrivePolicy, else NAME-dlq (noted)."""
    if dlq_name is not None:
        return _queue_arn(account, settings.sqs.queue_url, dlq_name) if dlq_name else ""
    if found is not None:
        return found
    queue = settings.sqs.queue_url.rstrip("/").rsplit("/", 1)[-1]
    print(
        f"note: dead-letter queue assumed to be {queue}{DLQ_SUFFIX} (as `watcher setup` makes it); "
        "pass --dlq-name NAME, or --dlq-name '' for none",
        file=sys.stderr,
    )
    return _queue_arn(account, settings.sqs.queue_url, queue + DLQ_SUFFIX)


def print_policy(
    settings: Settings,
    *,
    mode: str | None,
    account_id: str | None,
    for_: str,
    queue_name: str = "",
    dlq_name: str | None = None,
) -> int:
    """Print the policy JSON; 0, or 2 with one line when it cannot be built from the config."""
    if account_id is not None and not re.fullmatch(r"\d{12}", account_id):
        print(f"watcher iam-policy: --account-id must be 12 digits (got {account_id!r})", file=sys.stderr)
        return 2
    chosen = mode or ("both" if len(settings.watcher.sources) == 2 else settings.watcher.sources[0])
    needs_queue = for_ == "setup" or (for_ == "watcher" and chosen != "poll")
    if needs_queue and not (settings.sqs.queue_url or queue_name):
        print("watcher iam-policy: [sqs] queue_url is empty (or pass --queue-name NAME)", file=sys.stderr)
        return 2
    if account_id:
        account, kms_key, dlq = _offline_account(settings, account_id), "", None
        if chosen != "poll" and for_ == "watcher":
            print(
                "note: offline: if the queue uses a customer KMS key, add kms:Decrypt on it", file=sys.stderr
            )
    else:
        try:
            account, kms_key, dlq = _online_account(settings)
        except Exception as exc:  # noqa: BLE001 - one line, whatever botocore raised
            print(
                f"watcher iam-policy: cannot get the account id ({exc}); pass --account-id ID",
                file=sys.stderr,
            )
            return 1
    if not account.region:
        print("watcher iam-policy: no AWS region: set [aws] region or AWS_REGION", file=sys.stderr)
        return 2
    document: dict[str, Any] | None
    if for_ == "setup":
        document = setup_policy(settings, account, queue_name=queue_name)
    elif for_ == "wait":
        document = wait_policy(settings, account)
    elif for_ == "site-role":
        from watcher.commands.iam_roles import site_role_document  # noqa: PLC0415 - it builds on this module

        document = site_role_document(settings, account, mode=chosen)
    else:
        dlq_arn = _dlq_arn(settings, account, dlq, dlq_name) if chosen != "poll" else ""
        document = watcher_policy(settings, account, mode=chosen, kms_key=kms_key, dlq_arn=dlq_arn)
    if document is None:
        return 2
    print(json.dumps(document, indent=2))
    return 0
