"""Replicas on one queue: no leader needed, nothing lost, few invalidations, CloudFront's rate shared."""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest

from tests.support.chaos import ChaosSite, chaos_site
from tests.support.cloudfront_proxy import CLOUDFRONT_BURST, CLOUDFRONT_RATE
from tests.support.site import running_watcher
from tests.support.waiting import wait_until
from watcher.commands.demo.emulator import environment

pytestmark = pytest.mark.chaos

DEPLOYS = 5


def _deploy_and_count(site: ChaosSite, replicas: int) -> int:
    with environment(site.env), ExitStack() as stack:
        for _ in range(replicas):
            stack.enter_context(running_watcher(site.settings(), requests_per_second=20, request_burst=20))
        for deploy in range(DEPLOYS):
            site.publish((f"r{deploy}/asset{i}.js" for i in range(20)), per_message=2)
            time.sleep(1.5)
        wait_until(lambda: not site.uncovered() and site.depth() == 0, timeout=60, interval=0.5)
    return len(site.cloudfront.invalidations)


def test_two_replicas_cover_everything_with_at_most_twice_the_invalidations(moto_server: str) -> None:
    # GIVEN the invalidations one replica makes for five deploys
    with chaos_site(moto_server, queue="one-replica") as site:
        single = _deploy_and_count(site, replicas=1)
    # WHEN two replicas consume one queue through the same five deploys
    with chaos_site(moto_server, queue="two-replicas") as site:
        double = _deploy_and_count(site, replicas=2)
        # THEN every change is covered (checked above), and at most twice as many invalidations went out
        assert not site.uncovered()
    assert single >= DEPLOYS
    assert double <= 2 * single, (single, double)


REPLICAS = 3
DEPLOY_FILES = 1000


def test_three_replicas_share_cloudfronts_rate_and_send_one_invalidation_each(moto_server: str) -> None:
    # GIVEN CloudFront's CreateInvalidation rate enforced by the strict stand-in (0.5/s, bursts of 5)
    with chaos_site(moto_server, queue="three-replicas") as site, environment(site.env), ExitStack() as stack:
        site.cloudfront.rate, site.cloudfront.burst = CLOUDFRONT_RATE, CLOUDFRONT_BURST
        site.sqs_proxy.serialize(lambda request: "DeleteMessage" in request.action)  # moto's delete race
        # AND three replicas on one queue, each with a third of the rate (what the Helm chart renders)
        # moto answers a receive far slower than SQS (each scans the whole queue, and several
        # receivers of three replicas run at once): the contract's 20 s long poll gives a
        # receive 23 s to answer, and a quiet period longer than such a stall keeps one batch.
        settings = site.settings(
            watcher={"shutdown_timeout_seconds": 30},
            aws={"read_timeout_seconds": 8, "connect_timeout_seconds": 2},  # no retried call either
            sqs={"visibility_timeout_seconds": 600, "wait_time_seconds": 20},
            invalidation={
                "quiet_period_seconds": 30,
                "max_delay_seconds": 600,
                "requests_per_second": CLOUDFRONT_RATE / REPLICAS,
            },
        )
        # WHEN a 1,000-file deploy lands (one S3 event per file: sent before they start, since
        # moto's SQS may lose a message sent while another is deleted)
        site.publish(f"docs/section{i % 10}/page{i}.html" for i in range(DEPLOY_FILES))
        for _ in range(REPLICAS):
            stack.enter_context(running_watcher(settings))
        # THEN every change is covered and the queue drains
        wait_until(lambda: not site.uncovered() and site.depth() == 0, timeout=700, interval=1)
        # AND each replica sent at most one CreateInvalidation, none of them throttled
        assert site.cloudfront.create_calls <= REPLICAS, site.cloudfront.create_calls
        assert len(site.cloudfront.invalidations) <= REPLICAS
        assert site.cloudfront.throttled == 0
