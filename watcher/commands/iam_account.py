"""Where the policies' ARNs live: the account (STS, or offline), the queue and its dead-letter queue."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from watcher.arns import DEFAULT_PARTITION, bucket_arn, format_arn, parse_arn, partition_for_region
from watcher.commands.setup.state import DLQ_SUFFIX
from watcher.core.config import Settings
from watcher.core.sites import prefixes_by_bucket, queue_address, queue_name

__all__ = [
    "Account",
    "bucket_arns",
    "dead_letter_arn",
    "distribution_arns",
    "object_arns",
    "object_version_reads",
    "offline_account",
    "online_account",
    "prefix_listing",
    "sqs_arn",
]


@dataclass(frozen=True, slots=True)
class Account:
    """Where the ARNs live."""

    account_id: str
    region: str
    partition: str = DEFAULT_PARTITION


def bucket_arns(settings: Settings, partition: str) -> list[str]:
    """The site buckets' ARNs, sorted, each once."""
    return sorted({bucket_arn(site.bucket, partition) for site in settings.sites})


def object_arns(settings: Settings, partition: str) -> list[str]:
    """The objects under the site prefixes, as ARNs (`bucket/prefix*`), sorted."""
    return sorted(
        f"arn:{partition}:s3:::{bucket}/{prefix}*"
        for bucket, kept in prefixes_by_bucket(settings.sites).items()
        for prefix in kept
    )


def object_version_reads(settings: Settings, partition: str) -> list[dict[str, Any]]:
    """What comparing a write with the version before it needs (README "What counts as a change"):
    ListObjectVersions under the site prefixes, HeadObject with a VersionId on their objects."""
    listings = prefix_listing(settings, partition, "s3:ListBucketVersions")
    return [
        *({"Sid": f"CompareSiteVersions{i}", **statement} for i, statement in enumerate(listings)),
        {
            "Sid": "ReadSiteVersionHeaders",
            "Effect": "Allow",
            "Action": "s3:GetObjectVersion",
            "Resource": object_arns(settings, partition),
        },
    ]


def distribution_arns(settings: Settings, partition: str, account_id: str) -> list[str]:
    """The site distributions' ARNs in `account_id`, sorted by id, each once."""
    ids = sorted({site.distribution_id for site in settings.sites})
    return [
        format_arn("cloudfront", f"distribution/{i}", partition=partition, account=account_id) for i in ids
    ]


def sqs_arn(account: Account, queue_url: str, name: str = "") -> str:
    """The ARN of the queue at `queue_url` (or of queue `name` beside it)."""
    address = queue_address(queue_url)
    region = address.region if address else account.region
    owner = address.account if address else account.account_id
    name = name or queue_name(queue_url)
    return format_arn("sqs", name, partition=account.partition, region=region, account=owner)


def online_account(settings: Settings) -> tuple[Account, str, str | None]:
    """Account from STS, the queue's KmsMasterKeyId ("" when none) and its DLQ ARN (None: unreadable)."""
    from watcher.aws import ClientFactory  # noqa: PLC0415 - offline use needs no boto3
    from watcher.awserrors import error_code  # noqa: PLC0415

    clients = ClientFactory(region=settings.aws.region)
    identity = clients.sts().get_caller_identity()
    sqs = clients.sqs()
    partition = parse_arn(identity["Arn"]).partition
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


def offline_account(settings: Settings, account_id: str) -> Account:
    """The account given on the command line, in [aws] region, AWS_REGION or AWS_DEFAULT_REGION."""
    import boto3  # noqa: PLC0415

    # botocore reads only AWS_DEFAULT_REGION; AWS_REGION is what the docs (and the daemon) honour.
    region = settings.aws.region or os.environ.get("AWS_REGION") or boto3.session.Session().region_name or ""
    address = queue_address(settings.sqs.queue_url)  # a queue URL names its region, where it is AWS's
    return Account(account_id, region, partition_for_region(address.region if address else region))


def dead_letter_arn(settings: Settings, account: Account, found: str | None, dlq_name: str | None) -> str:
    """The DLQ whose depth the watcher samples: the flag, else the RedrivePolicy, else NAME-dlq (noted)."""
    if dlq_name is not None:
        return sqs_arn(account, settings.sqs.queue_url, dlq_name) if dlq_name else ""
    if found is not None:
        return found
    queue = queue_name(settings.sqs.queue_url)
    print(
        f"note: dead-letter queue assumed to be {queue}{DLQ_SUFFIX} (as `watcher setup` makes it); "
        "pass --dlq-name NAME, or --dlq-name '' for none",
        file=sys.stderr,
    )
    return sqs_arn(account, settings.sqs.queue_url, queue + DLQ_SUFFIX)


def prefix_listing(settings: Settings, partition: str, action: str | list[str]) -> list[dict[str, Any]]:
    """`action` (bucket listings) on each site bucket, limited by `s3:prefix` to the site prefixes."""
    statements = []
    for bucket, kept in prefixes_by_bucket(settings.sites).items():
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Action": action,
            "Resource": bucket_arn(bucket, partition),
        }
        if "" not in kept:  # a site at the bucket's root lists everything
            statement["Condition"] = {"StringLike": {"s3:prefix": [f"{p}*" for p in kept]}}
        statements.append(statement)
    return statements
