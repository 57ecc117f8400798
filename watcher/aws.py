"""boto3 clients: the standard credential/endpoint chain, explicit timeouts and retries.

Endpoints follow the standard chain, so `AWS_ENDPOINT_URL` and the per-service
`AWS_ENDPOINT_URL_SQS` / `_S3` / `_CLOUDFRONT` reach LocalStack or moto.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, DeferredRefreshableCredentials
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

    from watcher.core.config import SiteSettings

__all__ = ["ClientFactory", "SiteClients", "error_code", "is_transient"]

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
        assume_role_seconds: int = 3600,
    ) -> None:
        # botocore reads AWS_DEFAULT_REGION only; the standard chain of the other SDKs
        # (and of ECS/EKS, which inject both) also honours AWS_REGION.
        self._session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._assume_role_seconds = assume_role_seconds
        self._assumed: dict[tuple[str, str], boto3.session.Session] = {}
        self._assumed_lock = threading.Lock()

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
        return self.cloudfront_as("")

    def sqs(self, *, wait_time_seconds: int = 20) -> SQSClient:
        """SQS, with a read timeout longer than the long poll."""
        config = self._config(max_attempts=3, read_timeout=max(self._read_timeout, wait_time_seconds + 10))
        client: Any = self._session.client("sqs", config=config)
        return client  # type: ignore[no-any-return]

    def s3(self) -> S3Client:
        """S3 for poll mode."""
        return self.s3_as("")

    def sts(self) -> STSClient:
        """STS, for the account id (`watcher setup`, `watcher iam-policy`)."""
        client: Any = self._session.client("sts", config=self._config(max_attempts=3))
        return client  # type: ignore[no-any-return]

    def events(self) -> EventBridgeClient:
        """EventBridge, for `watcher setup`'s fallback rule."""
        client: Any = self._session.client("events", config=self._config(max_attempts=3))
        return client  # type: ignore[no-any-return]

    # -- a role per site (another account's distribution and bucket) -----------------

    @overload
    def client_for_site(self, site: SiteSettings, service: Literal["cloudfront"]) -> CloudFrontClient: ...
    @overload
    def client_for_site(self, site: SiteSettings, service: Literal["s3"]) -> S3Client: ...
    def client_for_site(
        self, site: SiteSettings, service: Literal["cloudfront", "s3"]
    ) -> CloudFrontClient | S3Client:
        """The client that talks to a site's distribution or bucket: as its `role_arn`, else as us.

        Clients of one role share one session, whose credentials AssumeRole fetches at
        first use and refreshes before they expire. SQS never goes through here.
        """
        if service == "cloudfront":
            return self.cloudfront_as(site.role_arn, site.external_id)
        return self.s3_as(site.role_arn, site.external_id)

    def cloudfront_as(self, role_arn: str, external_id: str = "") -> CloudFrontClient:
        """`cloudfront()` as `role_arn` (our own identity when empty)."""
        session = self._session_for(role_arn, external_id)
        client: Any = session.client("cloudfront", config=self._config(max_attempts=1))
        return client  # type: ignore[no-any-return]

    def s3_as(self, role_arn: str, external_id: str = "") -> S3Client:
        """`s3()` as `role_arn` (our own identity when empty)."""
        session = self._session_for(role_arn, external_id)
        client: Any = session.client("s3", config=self._config(max_attempts=3))
        return client  # type: ignore[no-any-return]

    def for_sites(self, sites: Sequence[SiteSettings]) -> SiteClients:
        """The CloudFront client of each distribution and the S3 client of each bucket of `sites`."""
        return SiteClients(self, sites)

    def _session_for(self, role_arn: str, external_id: str) -> boto3.session.Session:
        if not role_arn:
            return self._session
        with self._assumed_lock:
            session = self._assumed.get((role_arn, external_id))
            if session is None:
                session = _assumed_role_session(
                    self.sts(), role_arn, external_id, self._session.region_name, self._assume_role_seconds
                )
                self._assumed[(role_arn, external_id)] = session
            return session


class SiteClients:
    """Per distribution / per bucket clients: a site's role where it names one, else the watcher's own.

    A bucket shared by sites with different roles is read as the first of them that names one.
    """

    def __init__(self, factory: ClientFactory, sites: Sequence[SiteSettings]) -> None:
        self._factory = factory
        self._roles = {(s.role_arn, s.external_id) for s in sites if s.role_arn}
        self._distribution_roles = {
            s.distribution_id: (s.role_arn, s.external_id) for s in sites if s.role_arn
        }
        self._bucket_roles: dict[str, tuple[str, str]] = {}
        for site in sites:
            if site.role_arn:
                self._bucket_roles.setdefault(site.bucket, (site.role_arn, site.external_id))
        self._cloudfront: dict[tuple[str, str], CloudFrontClient] = {}
        self._s3: dict[tuple[str, str], S3Client] = {}
        self._lock = threading.Lock()

    @property
    def roles(self) -> frozenset[str]:
        """The role ARNs the sites name (for `iam-policy`)."""
        return frozenset(role for role, _ in self._roles)

    def cloudfront(self, distribution_id: str) -> CloudFrontClient:
        """The client for `distribution_id` (one client per role, built on first use)."""
        role = self._distribution_roles.get(distribution_id, ("", ""))
        with self._lock:
            if role not in self._cloudfront:
                self._cloudfront[role] = self._factory.cloudfront_as(*role)
            return self._cloudfront[role]

    def s3(self, bucket: str) -> S3Client:
        """The client that lists `bucket`."""
        role = self._bucket_roles.get(bucket, ("", ""))
        with self._lock:
            if role not in self._s3:
                self._s3[role] = self._factory.s3_as(*role)
            return self._s3[role]


def _assumed_role_session(
    sts: STSClient, role_arn: str, external_id: str, region: str | None, seconds: int
) -> boto3.session.Session:
    """A session whose credentials are `role_arn`'s, fetched lazily and refreshed before expiry."""

    def fetch() -> dict[str, str]:
        arguments: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": "cloudfront-watcher",
            # botocore refreshes 15 min (advisory) / 10 min (mandatory) before expiry.
            "DurationSeconds": seconds,
        }
        if external_id:
            arguments["ExternalId"] = external_id
        credentials = sts.assume_role(**arguments)["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    core = botocore.session.get_session()
    # The only credential provider of this session: botocore's own assume-role profiles build
    # the same DeferredRefreshableCredentials (no call before the first use, refreshed ahead).
    core.register_component("credential_provider", CredentialResolver([_AssumedRole(fetch)]))
    return boto3.session.Session(botocore_session=core, region_name=region)


class _AssumedRole(CredentialProvider):
    METHOD = "sts-assume-role"

    def __init__(self, fetch: Callable[[], dict[str, str]]) -> None:
        super().__init__()
        self._fetch = fetch

    def load(self) -> DeferredRefreshableCredentials:
        return DeferredRefreshableCredentials(refresh_using=self._fetch, method=self.METHOD)
