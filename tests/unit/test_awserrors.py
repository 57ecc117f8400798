"""The error vocabulary agrees with botocore's standard retry mode, and says denied, missing and stale."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from tests.support.clock import FakeClock
from watcher.awserrors import THROTTLING_CODES, TRANSIENT_CODES, Backoff, classify, classify_code


def _error(code: str, status: int) -> ClientError:
    response = {"Error": {"Code": code, "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "AnyOperation")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "exc",
    [
        NoCredentialsError(),
        PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
        NoRegionError(),
        ParamValidationError(report="Invalid length for parameter Id"),
    ],
)
def test_credentials_region_and_parameter_errors_are_configuration_never_retried(exc: Exception) -> None:
    # GIVEN an error that no number of attempts can fix WHEN it is classified
    error = classify(exc)
    # THEN it is a configuration error, and not retryable (botocore does not retry it either)
    assert error.kind == "configuration"
    assert not error.retryable


def test_a_429_without_a_code_is_throttling() -> None:
    # GIVEN a 429 whose body names no error code (botocore: ThrottlingStatusCodeChecker)
    error = classify(_error("", 429))
    # THEN it is throttling: try again, slower
    assert error.kind == "throttled"
    assert error.retryable


def test_the_codes_cover_botocores_standard_retry_mode() -> None:
    # GIVEN botocore's own lists WHEN compared with ours THEN every one of theirs is one of ours
    throttled, transient = vars(ThrottledRetryableChecker), vars(TransientRetryableChecker)
    assert set(throttled["_THROTTLED_ERROR_CODES"]) <= THROTTLING_CODES
    assert set(transient["_TRANSIENT_ERROR_CODES"]) - THROTTLING_CODES <= TRANSIENT_CODES
    for status in transient["_TRANSIENT_STATUS_CODES"]:
        assert classify(_error("", status)).kind == "transient"
    assert classify(ReadTimeoutError(endpoint_url="http://x")).kind == "transient"


def test_a_501_is_not_retried_as_botocore_does_not() -> None:
    assert classify(_error("NotImplemented", 501)).kind == "permanent"


@pytest.mark.parametrize(
    ("code", "status", "denied", "missing", "stale"),
    [
        ("AccessDenied", 403, True, False, False),
        ("AccessDeniedException", 400, True, False, False),
        ("AuthorizationError", 403, True, False, False),
        ("AllAccessDisabled", 403, True, False, False),
        ("InvalidAccessKeyId", 403, True, False, False),
        ("SignatureDoesNotMatch", 403, True, False, False),
        ("NoSuchBucket", 404, False, True, False),
        ("NoSuchDistribution", 404, False, True, False),
        ("AWS.SimpleQueueService.NonExistentQueue", 400, False, True, False),
        ("QueueDoesNotExist", 400, False, True, False),
        ("ResourceNotFoundException", 400, False, True, False),
        ("ReceiptHandleIsInvalid", 400, False, False, True),
        ("MessageNotInflight", 400, False, False, True),
        ("Throttling", 400, False, False, False),
    ],
)
def test_denied_missing_and_stale_are_asked_of_the_one_classifier(
    code: str, status: int, denied: bool, missing: bool, stale: bool
) -> None:
    # GIVEN an AWS error WHEN classified THEN its predicates say what callers used to match by code
    error = classify(_error(code, status))
    assert (error.denied, error.missing, error.stale) == (denied, missing, stale)
    if denied or missing or stale:
        assert not error.retryable


def test_a_stale_receipt_handle_is_known_by_its_per_entry_code_too() -> None:
    # GIVEN a per-entry failure code of a batch call (no exception) THEN the same predicate answers
    assert classify_code("ReceiptHandleIsInvalid").stale
    assert not classify_code("InternalError").stale


def test_one_backoff_full_jitter_waits_on_the_injected_clock() -> None:
    # GIVEN the one backoff on a fake clock
    clock = FakeClock()
    backoff = Backoff(random.Random(3), base=1.0, ceiling=8.0)
    # WHEN it waits after five failed attempts
    for attempt in range(5):
        assert backoff.wait(clock, attempt, "Throttling") is False
    # THEN the naps were on that clock (no real time), within base/2 .. min(ceiling, base * 2**attempt)
    assert len(clock.sleeps) == 5
    for attempt, nap in enumerate(clock.sleeps):
        assert 0.5 <= nap <= min(8.0, 2**attempt)
