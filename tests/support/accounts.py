"""Another AWS account on moto: an assumed role's credentials see that role's account."""

from __future__ import annotations

from typing import Any

import boto3

__all__ = ["as_role"]


def as_role(endpoint: str, service: str, role_arn: str, external_id: str = "") -> Any:
    """A client of `service` in `role_arn`'s account, through STS AssumeRole."""
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    extra: Any = {"ExternalId": external_id} if external_id else {}
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="test", **extra)["Credentials"]
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
