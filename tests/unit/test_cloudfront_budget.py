"""How long one CloudFront call may take, from the shutdown timeout (issue 22, item 9)."""

from __future__ import annotations

import pytest

from watcher.aws import CALL_BUDGET_SECONDS, ClientFactory, cloudfront_call_budget


@pytest.mark.parametrize(
    ("shutdown_timeout", "budget"), [(25, CALL_BUDGET_SECONDS), (10, 5.0), (5, 3.0), (3, 3.0)]
)
def test_a_cloudfront_call_takes_at_most_half_the_shutdown_timeout(
    shutdown_timeout: float, budget: float
) -> None:
    # GIVEN a shutdown timeout, WHEN the daemon bounds its CloudFront calls
    # THEN one call may take half of it (so a drain can start one and see it end), at most the
    # usual budget and at least 3 s
    assert cloudfront_call_budget(shutdown_timeout) == budget


def test_the_clients_timeouts_keep_within_the_cloudfront_budget() -> None:
    # GIVEN a 10 s shutdown timeout and the default [aws] timeouts (5 s connect, 30 s read)
    factory = ClientFactory(region="us-east-1", cloudfront_budget=cloudfront_call_budget(10))
    # WHEN a CloudFront client is made, THEN its connect + read timeouts fit the 5 s budget
    config = factory.cloudfront().meta.config
    assert _seconds(config, "connect_timeout") + _seconds(config, "read_timeout") <= 5.0
    assert factory.cloudfront_call_seconds <= 5.0
    # AND the other clients keep the usual budget
    sqs = factory.sqs().meta.config
    assert 2 * (_seconds(sqs, "connect_timeout") + _seconds(sqs, "read_timeout")) <= CALL_BUDGET_SECONDS


def _seconds(config: object, name: str) -> float:
    """A timeout of a botocore Config (its attributes are set from keywords: the stubs omit them)."""
    value = getattr(config, name)
    assert isinstance(value, int | float)
    return float(value)
