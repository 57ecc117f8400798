"""SQS on a bad day: failed and slow receives and deletes, and deletes that fail after the invalidation."""

from __future__ import annotations

import time

import pytest

from tests.support.aws_wire import Request
from tests.support.chaos import chaos_site
from tests.support.site import running_watcher
from tests.support.waiting import wait_until
from watcher.commands.demo.emulator import environment

pytestmark = pytest.mark.chaos


def _acks(request: Request) -> bool:
    return request.action.endswith(("DeleteMessageBatch", "ChangeMessageVisibilityBatch"))


def test_receive_and_delete_faults_lose_no_message(moto_server: str) -> None:
    with chaos_site(moto_server) as site, environment(site.env):
        # GIVEN SQS failing 30% of calls (5xx, resets, lost answers), one delete slower than the timeout
        site.sqs_proxy.set_fault_rate(0.3, kinds=("503", "500", "reset", "lost_response"))
        site.sqs_proxy.slow_seconds = 12.0
        site.sqs_proxy.inject("slow", 1, match=lambda r: r.action.endswith("DeleteMessageBatch"))
        settings = site.settings()
        with running_watcher(settings, requests_per_second=20, request_burst=20) as watcher:
            # WHEN three deploys of 20 files land
            for deploy in range(3):
                site.publish((f"v{deploy}/page{i}.html" for i in range(20)), per_message=2)
                time.sleep(1.0)
            # THEN every change is covered and the queue empties
            wait_until(lambda: not site.uncovered() and site.depth() == 0, timeout=150, interval=0.5)
            errors = watcher.metrics.registry.get_sample_value(
                "cloudfront_watcher_aws_errors_total", {"service": "sqs", "code": "ServiceUnavailable"}
            )
        assert site.sqs_proxy.count("ReceiveMessage", fault="503") + site.sqs_proxy.count(
            "ReceiveMessage", fault="500"
        )
        assert site.sqs_proxy.count("DeleteMessageBatch", fault="slow") == 1
        assert errors is None or errors >= 0  # botocore absorbs most; what surfaces is counted, never fatal


def test_a_delete_that_fails_after_the_invalidation_brings_the_message_back_harmlessly(
    moto_server: str,
) -> None:
    with chaos_site(moto_server) as site, environment(site.env):
        # GIVEN a 10 s visibility timeout, and deletes (and visibility extensions) failing for a while
        settings = site.settings(sqs={"visibility_timeout_seconds": 10})
        with running_watcher(settings, requests_per_second=20, request_burst=20) as watcher:
            site.sqs_proxy.set_fault_rate(1.0, kinds=("503",), match=_acks)
            # WHEN a deploy is invalidated but its messages cannot be deleted before they become visible again
            site.publish(f"docs/p{i}.html" for i in range(5))
            wait_until(lambda: not site.uncovered(), timeout=30)
            first_creates = site.cloudfront.create_calls
            time.sleep(12.0)
            site.sqs_proxy.clear_faults()
            # THEN the messages come back, are covered again (a harmless duplicate), and are deleted
            wait_until(lambda: site.depth() == 0, timeout=60, interval=0.5)
            redelivered = watcher.metrics.registry.get_sample_value(
                "cloudfront_watcher_sqs_messages_total", {"outcome": "redelivered"}
            )
        assert redelivered is not None
        assert redelivered >= 1
        assert site.cloudfront.create_calls > first_creates
        assert not site.uncovered()
