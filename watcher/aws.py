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
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, DeferredRefreshableCredentials

from watcher.awserrors import count_errors, error_code, is_transient
from watcher.core.config import RECEIVE_READ_MARGIN_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

    from watcher.core.config import SiteSettings

__all__ = [
    "CALL_BUDGET_SECONDS",
    "ClientFactory",
    "SiteClients",
    "cloudfront_call_budget",
    "error_code",
    "is_transient",
]

CALL_BUDGET_SECONDS = 10.0
_CONNECT_CEILING = 2.0
# A CloudFront call may take at most half the shutdown timeout, and never less than this:
# CreateInvalidation answers in well under a second, and a drain must have time to start one.
_CLOUDFRONT_BUDGET_FLOOR = 3.0


def cloudfront_call_budget(shutdown_timeout_seconds: float) -> float:
    """The longest one CloudFront call may take: CALL_BUDGET_SECONDS, or half the shutdown timeout.

    No CreateInvalidation starts in a drain that could not end before its deadline (it could
    be accepted after the messages were released: a duplicate); with a short shutdown timeout
    and the full budget, none could start at all, and a SIGTERM would release a pending deploy
    instead of flushing it.
    """
    return min(CALL_BUDGET_SECONDS, max(_CLOUDFRONT_BUDGET_FLOOR, shutdown_timeout_seconds / 2))


class ClientFactory:
    """Builds the clients the watcher needs from one boto3 session."""

    def __init__(
        self,
        *,
        region: str = "",
        connect_timeout: float = 5,
        read_timeout: float = 30,
        on_error: Callable[[str, str], None] | None = None,
        assume_role_seconds: int = 3600,
        cloudfront_budget: float = CALL_BUDGET_SECONDS,
    ) -> None:
        # botocore reads AWS_DEFAULT_REGION only; the standard chain of the other SDKs
        # (and of ECS/EKS, which inject both) also honours AWS_REGION.
        self._session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
        if on_error is not None:  # `on_error(service, code)` once per failed call of any client made here
            count_errors(self._session.events, on_error)
        self._on_error = on_error
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._assume_role_seconds = assume_role_seconds
        self._cloudfront_budget = min(cloudfront_budget, CALL_BUDGET_SECONDS)
        self._assumed: dict[tuple[str, str], boto3.session.Session] = {}
        self._assumed_lock = threading.Lock()

    def _config(
        self, *, attempts: int, read_timeout: float | None = None, budget: float = CALL_BUDGET_SECONDS
    ) -> Config:
        """Timeouts within the call budget: attempts x (connect + read) <= `budget`."""
        connect = self._connect_seconds(budget)
        if read_timeout is None:
            read_timeout = min(self._read_timeout, budget / attempts - connect)
        return Config(
            connect_timeout=connect,
            read_timeout=read_timeout,
            # total_max_attempts counts the first try; botocore's max_attempts counts only retries.
            retries={"mode": "standard", "total_max_attempts": attempts},
            max_pool_connections=20,
        )

    def _connect_seconds(self, budget: float) -> float:
        return min(self._connect_timeout, _CONNECT_CEILING, budget / 3)

    @property
    def cloudfront_call_seconds(self) -> float:
        """The longest one CloudFront call may take (one attempt: connect + read timeouts)."""
        budget = self._cloudfront_budget
        connect = self._connect_seconds(budget)
        return connect + min(self._read_timeout, budget - connect)  # as _config(attempts=1)

    def cloudfront(self) -> CloudFrontClient:
        """CloudFront without botocore retries: the invalidator owns retrying (same CallerReference)."""
        return self.cloudfront_as("")

    def sqs(self) -> SQSClient:
        """SQS for short calls (delete, visibility, attributes): within the call budget."""
        return self._client("sqs", self._config(attempts=2))  # type: ignore[no-any-return]

    def sqs_receiver(self, *, wait_time_seconds: int = 20) -> SQSClient:
        """SQS for the long poll: one attempt, read timeout = wait time + a small margin."""
        config = self._config(attempts=1, read_timeout=wait_time_seconds + RECEIVE_READ_MARGIN_SECONDS)
        return self._client("sqs", config)  # type: ignore[no-any-return]

    def s3(self) -> S3Client:
        """S3 for poll mode (listing): within the call budget."""
        return self.s3_as("")

    def sts(self) -> STSClient:
        """STS, for the account id (`watcher setup`, `watcher iam-policy`)."""
        return self._client("sts", self._config(attempts=2))  # type: ignore[no-any-return]

    def events(self) -> EventBridgeClient:
        """EventBridge, for `watcher setup`'s fallback rule and the completion events."""
        return self._client("events", self._config(attempts=2))  # type: ignore[no-any-return]

    def _client(self, service: str, config: Config) -> Any:
        return self._session.client(service, config=config)  # type: ignore[call-overload]

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
        return session.client("cloudfront", config=self._config(attempts=1, budget=self._cloudfront_budget))

    def s3_as(self, role_arn: str, external_id: str = "") -> S3Client:
        """`s3()` as `role_arn` (our own identity when empty)."""
        session = self._session_for(role_arn, external_id)
        return session.client("s3", config=self._config(attempts=2))

    def for_sites(self, sites: Sequence[SiteSettings]) -> SiteClients:
        """The CloudFront client of each distribution and the S3 client of each bucket of `sites`.

        A site with a role_arn (another account) gets clients as that role; SQS always stays ours.
        """
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
                if self._on_error is not None:  # the role's calls are counted like ours
                    count_errors(session.events, self._on_error)
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
