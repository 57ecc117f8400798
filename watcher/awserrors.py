"""The one place that classifies AWS errors, and the one hook that counts them.

Every caller asks `classify(exc)`: transient (5xx, timeouts, connections: try
again soon), throttled (throttling and quotas: try again, slower) or permanent
(missing resources, permissions, bad input: retrying does not help), with the
bounded error code used in logs and in `aws_errors_total{service,code}`.

Counting happens once per failed API call (after botocore's own retries), in a
botocore event hook that `ClientFactory` registers on its session, so no call
site counts errors by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

__all__ = ["AWS_ERRORS", "AwsError", "Kind", "classify", "count_errors", "error_code", "is_transient"]

# What an AWS call may raise: botocore's own errors, and socket errors it lets through.
AWS_ERRORS = (ClientError, BotoCoreError, OSError)

# "Slow down", whatever the service calls it (quotas in progress included).
THROTTLING_CODES = frozenset(
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
        "KMS.ThrottlingException",
    }
)
# "Try again later" whatever the HTTP status says.
TRANSIENT_CODES = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "RequestExpired",
        "PriorRequestNotComplete",
    }
)
_RETRYABLE_EXCEPTIONS = (BotoCoreError, ConnectionError, TimeoutError)
_HOOK_ID = "cloudfront-watcher-aws-errors"
# What to do about an error: try again soon, try again slower, or give up.
Kind = Literal["transient", "throttled", "permanent"]


@dataclass(frozen=True, slots=True)
class AwsError:
    """One classified error: its kind, its bounded code and AWS's message."""

    kind: Kind
    code: str
    message: str = ""

    @property
    def retryable(self) -> bool:
        """Worth trying again: transient or throttled."""
        return self.kind != "permanent"


def _response_code(response: Mapping[str, Any]) -> str:
    code = response.get("Error", {}).get("Code")
    if code:
        return str(code)[:64]
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return f"HTTP{status}" if status else "ClientError"


def _response_kind(code: str, status: int) -> Kind:
    if code in THROTTLING_CODES:
        return "throttled"
    if code in TRANSIENT_CODES or status >= 500:
        return "transient"
    return "permanent"


def classify(exc: BaseException) -> AwsError:
    """The kind and the code of whatever an AWS call raised."""
    if isinstance(exc, ClientError):
        code = _response_code(exc.response)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = str(exc.response.get("Error", {}).get("Message", "") or "")
        return AwsError(_response_kind(code, status), code, message)
    kind: Kind = "transient" if isinstance(exc, _RETRYABLE_EXCEPTIONS) else "permanent"
    return AwsError(kind, type(exc).__name__[:64], str(exc))


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
