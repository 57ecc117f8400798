"""`watcher iam-policy`: least-privilege IAM policy documents, built from the config.

Every Resource names a configured queue, distribution, bucket or rule; nothing
is `*` except what IAM cannot scope.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

from watcher.commands.setup.state import DLQ_SUFFIX, RULE_PREFIX, minimal_prefixes
from watcher.core.config import Settings

__all__ = [
    "Account",
    "kms_key_resource",
    "print_policy",
    "setup_policy",
    "site_role_policies",
    "watcher_policy",
]

_AWS_QUEUE_URL = re.compile(
    r"^https://sqs\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/(?P<account>\d{12})/"
)
SQS_CONSUME = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
]
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
    match = _AWS_QUEUE_URL.match(queue_url)
    region = match.group("region") if match else account.region
    owner = match.group("account") if match else account.account_id
    name = name or queue_url.rstrip("/").rsplit("/", 1)[-1]
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


def _poll_statements(settings: Settings, account: Account) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    prefixes: dict[str, list[str]] = {}
    for site in settings.sites:
        prefixes.setdefault(site.bucket, []).append(site.prefix)
    for bucket, found in sorted(prefixes.items()):
        kept = minimal_prefixes(found)
        bucket_arn = f"arn:{account.partition}:s3:::{bucket}"
        listing: dict[str, Any] = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn}
        if "" not in kept:  # the poller lists only under the site prefixes
            listing["Condition"] = {"StringLike": {"s3:prefix": [f"{p}*" for p in kept]}}
        # HeadObject is authorised by s3:GetObject; scoped to the site prefixes.
        objects = [f"{bucket_arn}/{p}*" for p in kept]
        statements += [listing, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": objects}]
    return statements


def watcher_policy(settings: Settings, account: Account, *, mode: str, kms_key: str = "") -> dict[str, Any]:
    """The watcher's own role: consume the queue, invalidate the distributions, read buckets in poll mode."""
    statements: list[dict[str, Any]] = []
    # Sites with a role_arn are reached through that role (see site_role_policies), not as us.
    roles = sorted({site.role_arn for site in settings.sites if site.role_arn})
    settings = settings.model_copy(update={"sites": tuple(s for s in settings.sites if not s.role_arn)})
    if mode in ("sqs", "both"):
        queue_arn = _queue_arn(account, settings.sqs.queue_url)
        statements.append(
            {"Sid": "ConsumeSiteChangeQueue", "Effect": "Allow", "Action": SQS_CONSUME, "Resource": queue_arn}
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
    if roles:
        statements.append(
            {"Sid": "AssumeSiteRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": roles}
        )
    return {"Version": "2012-10-17", "Statement": statements}


def setup_policy(settings: Settings, account: Account, *, queue_name: str = "") -> dict[str, Any]:
    """What the identity running `watcher setup` needs (GetCallerIdentity needs no permission)."""
    queue_arn = _queue_arn(account, settings.sqs.queue_url, queue_name)
    name = queue_arn.rsplit(":", 1)[1]
    region = queue_arn.split(":")[3]
    rule = f"arn:{account.partition}:events:{region}:{account.account_id}:rule/{(RULE_PREFIX + name)[:64]}"
    sqs_actions = ["sqs:CreateQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SetQueueAttributes"]
    s3_actions = ["s3:GetBucketLocation", "s3:GetBucketNotification", "s3:PutBucketNotification"]
    rule_actions = ["events:DescribeRule", "events:ListTargetsByRule", "events:PutRule", "events:PutTargets"]
    statements = [
        {"Sid": "SetupQueues", "Action": sqs_actions, "Resource": [queue_arn, queue_arn + DLQ_SUFFIX]},
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


def _online_account(settings: Settings) -> tuple[Account, str]:
    """Account from STS, and the queue's KmsMasterKeyId ("" when none or unreadable)."""
    from watcher.aws import ClientFactory, error_code  # noqa: PLC0415 - offline use needs no boto3

    clients = ClientFactory(region=settings.aws.region)
    identity = clients.sts().get_caller_identity()
    sqs = clients.sqs()
    partition = identity["Arn"].split(":")[1]
    account = Account(identity["Account"], sqs.meta.region_name or settings.aws.region, partition)
    if not settings.sqs.queue_url:
        return account, ""
    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=settings.sqs.queue_url, AttributeNames=["KmsMasterKeyId"]
        )
    except Exception as exc:  # noqa: BLE001 - the policy is still useful; say what was not checked
        print(
            f"note: could not read the queue's KMS key ({error_code(exc)}); add kms:Decrypt if it uses one",
            file=sys.stderr,
        )
        return account, ""
    key = attributes.get("Attributes", {}).get("KmsMasterKeyId", "")
    # The AWS-managed alias/aws/sqs key already lets SQS users of the account decrypt.
    return account, "" if key.endswith("alias/aws/sqs") else key


def _offline_account(settings: Settings, account_id: str) -> Account:
    import boto3  # noqa: PLC0415

    region = settings.aws.region or boto3.session.Session().region_name or ""
    return Account(account_id, region)


def print_policy(
    settings: Settings, *, mode: str | None, account_id: str | None, for_: str, queue_name: str = ""
) -> int:
    """Print the policy JSON; 0, or 2 with one line when it cannot be built from the config."""
    if account_id is not None and not re.fullmatch(r"\d{12}", account_id):
        print(f"watcher iam-policy: --account-id must be 12 digits (got {account_id!r})", file=sys.stderr)
        return 2
    chosen = mode or ("both" if len(settings.watcher.sources) == 2 else settings.watcher.sources[0])
    if (chosen != "poll" or for_ == "setup") and not (settings.sqs.queue_url or queue_name):
        print("watcher iam-policy: [sqs] queue_url is empty (or pass --queue-name NAME)", file=sys.stderr)
        return 2
    if account_id:
        account, kms_key = _offline_account(settings, account_id), ""
        if chosen != "poll" and for_ == "watcher":
            print(
                "note: offline: if the queue uses a customer KMS key, add kms:Decrypt on it", file=sys.stderr
            )
    else:
        try:
            account, kms_key = _online_account(settings)
        except Exception as exc:  # noqa: BLE001 - one line, whatever botocore raised
            print(
                f"watcher iam-policy: cannot get the account id ({exc}); pass --account-id ID",
                file=sys.stderr,
            )
            return 1
    if not account.region:
        print("watcher iam-policy: no AWS region: set [aws] region or AWS_REGION", file=sys.stderr)
        return 2
    if for_ == "setup":
        document = setup_policy(settings, account, queue_name=queue_name)
    elif for_ == "site-role":
        if not any(site.role_arn for site in settings.sites):
            print("watcher iam-policy: --for site-role: no [[sites]] entry names a role_arn", file=sys.stderr)
            return 2
        document = site_role_policies(settings, account, mode=chosen)
        print(
            "note: each role's trust policy names the watcher's account; narrow it to the watcher's role ARN",
            file=sys.stderr,
        )
    else:
        document = watcher_policy(settings, account, mode=chosen, kms_key=kms_key)
    print(json.dumps(document, indent=2))
    return 0


# -- a role per site (distributions and buckets in another account) -------------------


def site_role_policies(settings: Settings, account: Account, *, mode: str) -> dict[str, Any]:
    """For each `role_arn` of the sites: the permission policy it needs and the trust policy
    that lets the watcher (in `account`) assume it, with the site's external id as a condition."""
    roles: dict[tuple[str, str], list[Any]] = {}
    for site in settings.sites:
        if site.role_arn:
            roles.setdefault((site.role_arn, site.external_id), []).append(site)
    documents: dict[str, Any] = {}
    for (role_arn, external_id), sites in sorted(roles.items()):
        owner = Account(role_arn.split(":")[4], account.region, role_arn.split(":")[1])
        theirs = settings.model_copy(update={"sites": tuple(sites)})
        statements: list[dict[str, Any]] = [
            {
                "Sid": "InvalidateSiteDistributions",
                "Effect": "Allow",
                # GetDistribution: for `watcher check --aws`.
                "Action": [*CLOUDFRONT_INVALIDATE, "cloudfront:GetDistribution"],
                "Resource": _distribution_arns(theirs, owner),
            }
        ]
        if mode in ("poll", "both"):
            for index, statement in enumerate(_poll_statements(theirs, owner)):
                statements.append({"Sid": f"PollSiteBuckets{index}", **statement})
        trust: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{account.partition}:iam::{account.account_id}:root"},
            "Action": "sts:AssumeRole",
        }
        if external_id:
            trust["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
        documents[role_arn] = {
            "PermissionPolicy": {"Version": "2012-10-17", "Statement": statements},
            "TrustPolicy": {"Version": "2012-10-17", "Statement": [trust]},
        }
    return documents
