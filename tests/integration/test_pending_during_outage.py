"""A batch that CloudFront keeps refusing is still pending: the stale-site alert can see it."""

from __future__ import annotations

import json

from tests.support.chaos import chaos_site
from tests.support.site import running_watcher
from tests.support.waiting import wait_until
from watcher.commands.demo.emulator import environment


def test_pending_paths_counts_a_flush_that_is_retrying(moto_server: str) -> None:
    with chaos_site(moto_server) as site, environment(site.env):
        # GIVEN CloudFront answering 503 to every call
        site.cloudfront.set_fault_rate(1.0, kinds=("503",))
        with running_watcher(site.settings()) as watcher:

            def pending() -> float | None:
                return watcher.metrics.registry.get_sample_value(
                    "cloudfront_watcher_pending_paths", {"distribution": site.distribution_id}
                )

            # WHEN a deploy is received and its flush retries
            site.publish(["docs/index.html"])
            wait_until(lambda: site.cloudfront.count("CreateInvalidation") >= 2, 30, what="retries")
            # THEN its paths count as pending all along, until CloudFront recovers
            assert pending() == 2  # /docs/index.html and /docs/
            site.cloudfront.clear_faults()
            wait_until(lambda: not site.uncovered(), 60, interval=0.2, what="the change covered")
            wait_until(lambda: pending() == 0, 10, what="nothing pending")


def test_status_shows_the_same_pending_work_as_the_metric_while_a_batch_retries(moto_server: str) -> None:
    with chaos_site(moto_server) as site, environment(site.env):
        # GIVEN CloudFront answering 503 to every call
        site.cloudfront.set_fault_rate(1.0, kinds=("503",))
        with running_watcher(site.settings()) as watcher:
            # WHEN two pages are deployed and their flush retries
            site.publish(["docs/index.html", "blog/index.html"], per_message=2)
            wait_until(lambda: site.cloudfront.count("CreateInvalidation") >= 2, 30, what="retries")
            # THEN /status and the pending_paths metric say the same: 4 paths pending, since the deploy
            status = watcher.followup.status("application/json")
            shown = json.loads(status[1])["distributions"][site.distribution_id]
            metric = watcher.metrics.registry.get_sample_value(
                "cloudfront_watcher_pending_paths", {"distribution": site.distribution_id}
            )
            assert shown["pending_paths"] == metric == 4
            assert shown["oldest_pending_seconds"] is not None
