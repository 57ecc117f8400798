"""ARNs in one place: parsed with botocore's ArnParser, partitions from botocore's region data.

Every command and source that names or reads an ARN goes through here, so no one
splits on ":" by hand and no policy assumes the `aws` partition: a region of China
is `aws-cn`, of GovCloud `aws-us-gov`, as botocore's endpoint data says.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError
from botocore.utils import ArnParser, InvalidArnException

__all__ = ["Arn", "bucket_arn", "format_arn", "is_arn", "parse_arn", "partition_for_region"]

DEFAULT_PARTITION = "aws"


@dataclass(frozen=True, slots=True)
class Arn:
    """arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE (region and account may be empty)."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(value: str) -> Arn:
    """The parts of an ARN; ValueError when `value` is not one."""
    try:
        parts = ArnParser().parse_arn(value)
    except InvalidArnException as exc:
        raise ValueError(f"not an ARN: {value!r}") from exc
    return Arn(parts["partition"], parts["service"], parts["region"], parts["account"], parts["resource"])


def is_arn(value: str) -> bool:
    """True when `value` parses as an ARN."""
    try:
        parse_arn(value)
    except ValueError:
        return False
    return True


def format_arn(service: str, resource: str, *, partition: str, region: str = "", account: str = "") -> str:
    """An ARN from its parts (`region` and `account` empty where the service has none, as S3)."""
    return str(Arn(partition, service, region, account, resource))


def bucket_arn(bucket: str, partition: str) -> str:
    """An S3 bucket's ARN (S3 bucket ARNs name neither region nor account)."""
    return format_arn("s3", bucket, partition=partition)


@functools.lru_cache(maxsize=32)
def partition_for_region(region: str) -> str:
    """The partition of `region` per botocore's endpoint data ("aws" when the region is unknown or "")."""
    if not region:
        return DEFAULT_PARTITION
    import botocore.session  # noqa: PLC0415 - the endpoint data loads only when a region is asked about

    try:
        return str(botocore.session.get_session().get_partition_for_region(region))
    except (BotoCoreError, ValueError, KeyError):
        return DEFAULT_PARTITION
