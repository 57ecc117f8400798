"""The one place that classifies AWS errors, and the one hook that counts them.

Every caller asks `classify(exc)` and gets one of four kinds, the way botocore's
standard retry mode sees them: transient (500/502/503/504, timeouts, connections:
try again soon), throttled (throttling and quota codes, a bare 429: try again,
slower), configuration (no credentials, no region, invalid parameters: no attempt
can succeed until the configuration changes) or permanent (missing resources,
permissions, other 4xx). Callers that must tell a denial, a missing resource or a
stale SQS receipt handle apart ask the predicates `denied`, `missing` and `stale`
rather than matching codes. `Backoff` is the one retry delay (full jitter), slept on
the injected clock.

Counting happens once per failed API call (after botocore's own retries), in a
botocore event hook that `ClientFactory` registers on its session, so no call
site counts errors by hand.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from watcher.core.clock import Clock

__all__ = [
    "AWS_ERRORS",
    "AwsError",
    "Backoff",
    "Kind",
    "classify",
    "classify_code",
    "count_errors",
    "error_code",
    "is_transient",
]

# What an AWS call may raise: botocore's own errors, and socket errors it lets through.
AWS_ERRORS = (ClientError, BotoCoreError, OSError)

# "Slow down", whatever the service calls it: botocore's standard-mode list
# (tests/unit/test_awserrors.py keeps it a subset), plus CloudFront's quota in progress.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "TooManyInvalidationsInProgress",
        "KMS.ThrottlingException",
    }
)
# "Try again later" whatever the HTTP status says.
TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "RequestExpired",
    }
)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})  # botocore's; a 501 is not worth a retry
_THROTTLING_STATUS = 429
# Not allowed: the identity lacks a permission, or its keys are not accepted.
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "UnauthorizedOperation",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "KMS.AccessDeniedException",
    }
)
# The named resource does not exist (bucket, distribution, queue, rule, invalidation).
MISSING_CODES = frozenset(
    {
        "NoSuchBucket",
        "NoSuchDistribution",
        "NoSuchInvalidation",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "ResourceNotFoundException",
    }
)
# An SQS receipt handle that is gone: another replica received the message, or its visibility
# lapsed (SQS answers an expired handle with InvalidParameterValue). Never worth a retry.
STALE_CODES = frozenset({"ReceiptHandleIsInvalid", "MessageNotInflight", "InvalidParameterValue"})

# No attempt can succeed until the configuration changes (botocore retries none of them).
_CONFIGURATION_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    NoRegionError,
    InvalidRegionError,
    ParamValidationError,
    ProfileNotFound,
)
# botocore's transient exceptions, the socket errors it lets through, and a credential
# provider that could not be reached this time (IMDS, the ECS agent).
_TRANSIENT_ERRORS = (
    BotocoreConnectionError,
    HTTPClientError,
    ConnectionError,
    TimeoutError,
    CredentialRetrievalError,
)
_HOOK_ID = "cloudfront-watcher-aws-errors"
# What to do about an error: try again soon, try again slower, fix the configuration, or give up.
Kind = Literal["transient", "throttled", "configuration", "permanent"]


@dataclass(frozen=True, slots=True)
class AwsError:
    """One classified error: its kind, its bounded code and AWS's message."""

    kind: Kind
    code: str
    message: str = ""

    @property
    def retryable(self) -> bool:
        """Worth trying again: transient or throttled."""
        return self.kind in ("transient", "throttled")

    @property
    def denied(self) -> bool:
        """Not allowed (a missing permission, keys not accepted)."""
        return self.code in DENIED_CODES

    @property
    def missing(self) -> bool:
        """The named resource does not exist."""
        return self.code in MISSING_CODES

    @property
    def stale(self) -> bool:
        """An SQS receipt handle that is no longer valid."""
        return self.code in STALE_CODES


def _response_code(response: Mapping[str, Any]) -> str:
    code = response.get("Error", {}).get("Code")
    if code:
        return str(code)[:64]
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return f"HTTP{status}" if status else "ClientError"


def _response_kind(code: str, status: int) -> Kind:
    if code in THROTTLING_CODES:
        return "throttled"
    if code in TRANSIENT_CODES or status in _TRANSIENT_STATUS:
        return "transient"
    if status == _THROTTLING_STATUS:
        return "throttled"  # a 429 whatever its code says (botocore: ThrottlingStatusCodeChecker)
    return "permanent"


def classify(exc: BaseException) -> AwsError:
    """The kind and the code of whatever an AWS call raised."""
    if isinstance(exc, ClientError):
        code = _response_code(exc.response)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = str(exc.response.get("Error", {}).get("Message", "") or "")
        return AwsError(_response_kind(code, status), code, message)
    kind: Kind = "permanent"
    if isinstance(exc, _CONFIGURATION_ERRORS):
        kind = "configuration"
    elif isinstance(exc, _TRANSIENT_ERRORS):
        kind = "transient"
    return AwsError(kind, type(exc).__name__[:64], str(exc))


def classify_code(code: str, status: int = 400) -> AwsError:
    """The same classification for an error code without an exception (a batch call's failed entry)."""
    return AwsError(_response_kind(code, status), code[:64])


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full jitter (AWS architecture blog) between attempts, slept on the injected clock."""

    rng: random.Random
    base: float = 1.0
    ceiling: float = 60.0

    def delay(self, attempt: int, code: str = "") -> float:
        """Seconds before attempt `attempt + 1` (0-based `attempt`) after an error `code`."""
        # Quota errors wait for invalidations to complete (P95 ~25 s): they start higher than throttling.
        base = self.base * (5 if code == "TooManyInvalidationsInProgress" else 1)
        return max(self.base / 2, self.rng.uniform(0, min(self.ceiling, base * (2**attempt))))

    def wait(self, clock: Clock, attempt: int, code: str = "", stop: threading.Event | None = None) -> bool:
        """Sleep the delay on `clock`; True when `stop` was set meanwhile."""
        return clock.sleep(self.delay(attempt, code), stop)


def error_code(exc: BaseException) -> str:
    """A bounded label for an AWS error: the error code, or the exception class name."""
    return classify(exc).code


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: throttling, quotas in progress, 5xx, timeouts, connections."""
    return classify(exc).retryable


def count_errors(events: Any, on_error: Callable[[str, str], None]) -> None:
    """Call `on_error(service, code)` once for each failed API call.

    `events` is a botocore event emitter: a session's (`boto3.Session().events`,
    every client made from it afterwards) or one client's (`client.meta.events`).
    Registering twice on one emitter counts once.
    """

    def after_call(http_response: Any, parsed: Mapping[str, Any], event_name: str, **_: Any) -> None:
        if http_response.status_code >= 300:
            on_error(_service(event_name), _response_code(parsed))

    def after_call_error(exception: BaseException, event_name: str, **_: Any) -> None:
        on_error(_service(event_name), classify(exception).code)

    events.register("after-call", after_call, unique_id=_HOOK_ID + "-response")
    events.register("after-call-error", after_call_error, unique_id=_HOOK_ID + "-exception")


def _service(event_name: str) -> str:
    # "after-call.cloudfront.CreateInvalidation" -> "cloudfront"
    parts = event_name.split(".")
    return parts[1] if len(parts) > 2 else "unknown"
