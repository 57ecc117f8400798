"""`watcher iam-policy --for wait`: what a CI job running `watcher wait` needs, read-only."""

from __future__ import annotations

from typing import Any

from watcher.commands.iam_account import bucket_arns, distribution_arns, object_arns, prefix_listing
from watcher.core.config import Settings

__all__ = ["wait_policy"]


def _listing(settings: Settings, partition: str) -> list[dict[str, Any]]:
    """ListObjectsV2 and ListObjectVersions on each site bucket, limited to the site prefixes."""
    listings = prefix_listing(settings, partition, ["s3:ListBucket", "s3:ListBucketVersions"])
    return [{"Sid": f"ListSiteChanges{index}", **statement} for index, statement in enumerate(listings)]


def wait_policy(settings: Settings, *, partition: str, account_id: str) -> dict[str, Any]:
    """List the site prefixes (and delete markers), read the buckets' versioning and the invalidations."""
    buckets = bucket_arns(settings, partition)
    distributions = distribution_arns(settings, partition, account_id)
    statements = [
        *_listing(settings, partition),
        {
            "Sid": "ReadBucketVersioning",
            "Effect": "Allow",
            "Action": "s3:GetBucketVersioning",
            "Resource": buckets,
        },
        {  # is a write after TIME a change of its own? HeadObject of its version and the one before
            "Sid": "ReadSiteVersionHeaders",
            "Effect": "Allow",
            "Action": "s3:GetObjectVersion",
            "Resource": object_arns(settings, partition),
        },
        {
            "Sid": "ReadSiteInvalidations",
            "Effect": "Allow",
            "Action": ["cloudfront:GetInvalidation", "cloudfront:ListInvalidations"],
            "Resource": distributions,
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}
