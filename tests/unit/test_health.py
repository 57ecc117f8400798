"""Readiness per dependency: failing too long is unready; a failure nobody repeats expires."""

from __future__ import annotations

from tests.support.clock import FakeClock
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
