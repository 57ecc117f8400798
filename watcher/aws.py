"""boto3 clients: the standard credential/endpoint chain, explicit timeouts and retries.

Endpoints follow the standard chain, so `AWS_ENDPOINT_URL` and the per-service
`AWS_ENDPOINT_URL_SQS` / `_S3` / `_CLOUDFRONT` reach LocalStack or moto.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

__all__ = ["ClientFactory", "error_code", "is_transient"]

# Codes that mean "try again later" whatever the service.
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "RequestLimitExceeded",
        "TooManyInvalidationsInProgress",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "RequestExpired",
        "PriorRequestNotComplete",
        "KMS.ThrottlingException",
    }
)
_CONNECTION_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    ConnectTimeoutError,
)


def error_code(exc: BaseException) -> str:
    """A bounded label for an AWS error: the error code, or the exception class name."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        if code:
            return str(code)[:64]
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"HTTP{status}" if status else "ClientError"
    return type(exc).__name__[:64]


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: throttling, quotas in progress, 5xx, timeouts, connections."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in TRANSIENT_CODES or int(status or 0) >= 500
    return isinstance(exc, (*_CONNECTION_ERRORS, BotoCoreError, ConnectionError, TimeoutError))


class ClientFactory:
    """Builds the clients the watcher needs from one boto3 session."""

    def __init__(
        self,
        *,
        region: str = "",
        connect_timeout: float = 5,
        read_timeout: float = 30,
    ) -> None:
        # botocore reads AWS_DEFAULT_REGION only; the standard chain of the other SDKs
        # (and of ECS/EKS, which inject both) also honours AWS_REGION.
        self._session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout

    def _config(self, *, max_attempts: int, read_timeout: float | None = None) -> Config:
        return Config(
            connect_timeout=self._connect_timeout,
            read_timeout=read_timeout if read_timeout is not None else self._read_timeout,
            # total_max_attempts counts the first try; botocore's max_attempts counts only retries.
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            max_pool_connections=20,
        )

    def cloudfront(self) -> CloudFrontClient:
        """CloudFront without botocore retries: the invalidator owns retrying (same CallerReference)."""
        client: Any = self._session.client("cloudfront", config=self._config(max_attempts=1))
        return client  # type: ignore[no-any-return]

    def sqs(self, *, wait_time_seconds: int = 20) -> SQSClient:
        """SQS, with a read timeout longer than the long poll."""
        config = self._config(max_attempts=3, read_timeout=max(self._read_timeout, wait_time_seconds + 10))
        client: Any = self._session.client("sqs", config=config)
        return client  # type: ignore[no-any-return]

    def s3(self) -> S3Client:
        """S3 for poll mode."""
        client: Any = self._session.client("s3", config=self._config(max_attempts=3))
        return client  # type: ignore[no-any-return]

    def sts(self) -> STSClient:
        """STS, for the account id (`watcher setup`, `watcher iam-policy`)."""
        client: Any = self._session.client("sts", config=self._config(max_attempts=3))
        return client  # type: ignore[no-any-return]

    def events(self) -> EventBridgeClient:
        """EventBridge, for `watcher setup`'s fallback rule and the completion events."""
        client: Any = self._session.client("events", config=self._config(max_attempts=3))
        return client  # type: ignore[no-any-return]
