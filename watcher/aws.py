"""boto3 clients: the standard credential/endpoint chain, explicit timeouts and retries.

Endpoints follow the standard chain, so `AWS_ENDPOINT_URL` and the per-service
`AWS_ENDPOINT_URL_SQS` / `_S3` / `_CLOUDFRONT` reach LocalStack or moto.

Every AWS call has a bounded total time, so a hung endpoint (it accepts the
connection and never answers) costs a known number of seconds, never a stalled
thread. The budget of one call, all attempts included, is `CALL_BUDGET_SECONDS`
(10 s): attempts x (connect timeout + read timeout) <= 10 s, the configured
`[aws]` timeouts being the per-attempt ceilings:

- SQS housekeeping (delete, visibility) and queue depth, S3 listing, STS, EventBridge:
  2 attempts x (connect <= 2 s + read <= 3 s);
- CloudFront: 1 attempt x (connect <= 2 s + read <= 8 s) (the invalidator retries
  with the same CallerReference);
- SQS ReceiveMessage, the long poll: 1 attempt x (connect <= 2 s + read =
  wait time + `RECEIVE_READ_MARGIN_SECONDS`), retried by the receiver with backoff.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from watcher.awserrors import count_errors, error_code, is_transient
from watcher.core.config import RECEIVE_READ_MARGIN_SECONDS

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

__all__ = ["CALL_BUDGET_SECONDS", "ClientFactory", "error_code", "is_transient"]

CALL_BUDGET_SECONDS = 10.0
_CONNECT_CEILING = 2.0


class ClientFactory:
    """Builds the clients the watcher needs from one boto3 session."""

    def __init__(
        self,
        *,
        region: str = "",
        connect_timeout: float = 5,
        read_timeout: float = 30,
        on_error: Callable[[str, str], None] | None = None,
    ) -> None:
        # botocore reads AWS_DEFAULT_REGION only; the standard chain of the other SDKs
        # (and of ECS/EKS, which inject both) also honours AWS_REGION.
        self._session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
        if on_error is not None:  # `on_error(service, code)` once per failed call of any client made here
            count_errors(self._session.events, on_error)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout

    def _config(self, *, attempts: int, read_timeout: float | None = None) -> Config:
        """Timeouts within the call budget: attempts x (connect + read) <= CALL_BUDGET_SECONDS."""
        connect = min(self._connect_timeout, _CONNECT_CEILING)
        if read_timeout is None:
            read_timeout = min(self._read_timeout, CALL_BUDGET_SECONDS / attempts - connect)
        return Config(
            connect_timeout=connect,
            read_timeout=read_timeout,
            # total_max_attempts counts the first try; botocore's max_attempts counts only retries.
            retries={"mode": "standard", "total_max_attempts": attempts},
            max_pool_connections=20,
        )

    def cloudfront(self) -> CloudFrontClient:
        """CloudFront without botocore retries: the invalidator owns retrying (same CallerReference)."""
        return self._client("cloudfront", self._config(attempts=1))  # type: ignore[no-any-return]

    def sqs(self) -> SQSClient:
        """SQS for short calls (delete, visibility, attributes): within the call budget."""
        return self._client("sqs", self._config(attempts=2))  # type: ignore[no-any-return]

    def sqs_receiver(self, *, wait_time_seconds: int = 20) -> SQSClient:
        """SQS for the long poll: one attempt, read timeout = wait time + a small margin."""
        config = self._config(attempts=1, read_timeout=wait_time_seconds + RECEIVE_READ_MARGIN_SECONDS)
        return self._client("sqs", config)  # type: ignore[no-any-return]

    def s3(self) -> S3Client:
        """S3 for poll mode (listing): within the call budget."""
        return self._client("s3", self._config(attempts=2))  # type: ignore[no-any-return]

    def sts(self) -> STSClient:
        """STS, for the account id (`watcher setup`, `watcher iam-policy`)."""
        return self._client("sts", self._config(attempts=2))  # type: ignore[no-any-return]

    def events(self) -> EventBridgeClient:
        """EventBridge, for `watcher setup`'s fallback rule and the completion events."""
        return self._client("events", self._config(attempts=2))  # type: ignore[no-any-return]

    def _client(self, service: str, config: Config) -> Any:
        return self._session.client(service, config=config)  # type: ignore[call-overload]
