"""The CreateInvalidation rate: one process's token bucket, and N replicas sharing one account's."""

from __future__ import annotations

import pytest

from tests.support.clock import FakeClock
from watcher.cloudfront.ratelimit import RateLimiter, burst_for

CLOUDFRONT_RATE = 0.5
CLOUDFRONT_BURST = 5


def test_the_default_rate_keeps_the_burst_of_five() -> None:
    assert burst_for(0.5) == CLOUDFRONT_BURST
    assert burst_for(0.5 / 3) == 1
    assert burst_for(0.001) == 1


# Up to CloudFront's burst: past it, each replica's burst of one adds up to more (README, "Replicas").
@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 5])
def test_replicas_sharing_the_rate_never_exceed_cloudfronts(replicas: int) -> None:
    # GIVEN N replicas, each with 1/N of CloudFront's rate (what the Helm chart renders)
    clock = FakeClock()
    share = CLOUDFRONT_RATE / replicas
    limiters = [RateLimiter(rate=share, burst=burst_for(share), clock=clock) for _ in range(replicas)]
    # AND CloudFront's own bucket for the account
    tokens, updated, throttled, sent = float(CLOUDFRONT_BURST), clock.monotonic(), 0, 0
    # WHEN every replica sends as fast as its limiter lets it, for ten minutes of fake time
    for _ in range(6000):
        for limiter in limiters:
            if limiter.acquire(deadline=clock.monotonic()):  # a slot now, or none: replicas interleave
                now = clock.monotonic()
                tokens = min(float(CLOUDFRONT_BURST), tokens + (now - updated) * CLOUDFRONT_RATE)
                updated = now
                sent += 1
                if tokens >= 1:
                    tokens -= 1
                else:
                    throttled += 1
        clock.advance(0.1)
    # THEN CloudFront never throttles them, and together they still use most of its rate
    assert throttled == 0
    assert sent >= 0.9 * CLOUDFRONT_RATE * 600
