"""Readiness per dependency: failing too long is unready; a failure nobody repeats expires."""

from __future__ import annotations

from tests.support.clock import FakeClock
from watcher.cloudfront.readiness import CloudFrontHealth
from watcher.sources.health import SourceHealth


def test_a_dependency_called_now_and_then_is_ready_again_once_its_failures_stop() -> None:
    # GIVEN CloudFront's health (ready until failing), with 120 s to unready
    clock = FakeClock()
    health = SourceHealth("cloudfront", clock=clock, unready_after=120, needs_first_success=False)
    # WHEN CreateInvalidation keeps failing for two minutes
    for _ in range(5):
        health.failure("CreateInvalidation failed: AccessDenied")
        clock.advance(30)
    # THEN it is unready, with the reason
    assert (health.unready_reason() or "").startswith("cloudfront: failing for 150s")
    # WHEN no call fails any more (no deploy, so no call at all) for as long
    clock.advance(120)
    # THEN nothing says it still fails: ready
    assert health.unready_reason() is None


def test_a_source_failing_all_along_stays_unready() -> None:
    # GIVEN SQS failing at every receive
    clock = FakeClock()
    health = SourceHealth("sqs", clock=clock, unready_after=120)
    health.success()
    for _ in range(20):
        health.failure("ReceiveMessage failed: ServiceUnavailable")
        clock.advance(10)
    # THEN unready, until a call succeeds
    assert health.unready_reason() is not None
    health.success()
    assert health.unready_reason() is None


def test_cloudfront_readiness_is_per_distribution_and_a_probe_clears_only_an_outage() -> None:
    # GIVEN CloudFront's readiness, 120 s to unready
    clock = FakeClock()
    health = CloudFrontHealth(clock=clock, unready_after=120)
    # WHEN E1 is refused (AccessDenied) and E2 throttled for 150 s, while E3 succeeds all along
    for _ in range(6):
        health.record("E1", "CreateInvalidation failed: AccessDenied", outage=False)
        health.record("E2", "CreateInvalidation failed: Throttling", outage=True)
        health.record("E3", None)
        clock.advance(30)
    # THEN unready, naming the distribution that has failed longest, and why
    assert (health.unready_reason() or "").startswith("cloudfront: distribution E1: failing for 180s")
    assert "AccessDenied" in (health.unready_reason() or "")
    # WHEN the probe reads both successfully
    assert health.probe_targets() == ["E2"]  # a refusal is never probed away
    health.probed("E1", None)
    health.probed("E2", None)
    # THEN E2's outage is over, E1's refusal is not: only its own CreateInvalidation can clear it
    assert health.probe_targets() == []
    assert "distribution E1" in (health.unready_reason() or "")
    health.record("E1", None)
    assert health.unready_reason() is None
