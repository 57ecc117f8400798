"""/readyz and CloudFront: a distribution whose CreateInvalidation keeps failing turns the daemon unready."""

from __future__ import annotations

import time

from tests.support.chaos import BUCKET, chaos_site
from tests.support.site import running_watcher
from watcher.commands.demo.emulator import environment

MISSING = "E2MISSINGDIST0"


def test_a_distribution_that_refuses_every_invalidation_makes_readyz_name_it(moto_server: str) -> None:
    # GIVEN two sites on one bucket: the root on a working distribution, "b/" on one that does not exist
    with chaos_site(moto_server) as site, environment(site.env):
        settings = site.settings(
            # Real time (the daemon's loops): a deploy every 0.5 s flushed 0.2 s later keeps the
            # refusals well inside the 2 s window, so the daemon turns unready after ~2 s, not 7.
            http={"listen": "127.0.0.1:0", "unready_after_failing_seconds": 2},
            invalidation={"quiet_period_seconds": 0.2, "max_delay_seconds": 5},
            sites=[
                {"bucket": BUCKET, "distribution_id": site.distribution_id},
                {"bucket": BUCKET, "distribution_id": MISSING, "prefix": "b/"},
            ],
        )
        with running_watcher(settings, requests_per_second=20, request_burst=20) as watcher:
            # WHEN deploys keep coming: every one succeeds on the first distribution and is
            # refused (NoSuchDistribution) on the other, and the probe of the first one succeeds
            deadline = time.monotonic() + 25
            reason = None
            n = 0
            while time.monotonic() < deadline:
                site.publish([f"b/page-{n}.html"])
                n += 1
                time.sleep(0.5)
                reason = watcher.unready_reason()
                if reason is not None:
                    break
            # THEN the daemon turns unready, naming the failing distribution and why
            assert reason is not None, "still ready with every CreateInvalidation refused on one distribution"
            assert MISSING in reason
            assert "NoSuchDistribution" in reason
            # AND the working distribution's invalidations went on
            assert site.cloudfront.invalidations
