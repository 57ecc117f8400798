"""CloudFront on a bad day: 30% of its answers are errors, lost, or too slow."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tests.support.aws_wire import Request, Response, aws_error
from tests.support.chaos import chaos_site
from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.site import running_watcher
from tests.support.waiting import wait_until
from watcher.commands.demo.emulator import environment

pytestmark = pytest.mark.chaos


def _creates(request: Request) -> bool:
    return request.action == "CreateInvalidation"


class QuotaPressure(StrictCloudFront):
    """Also refuses 10% of CreateInvalidation calls with TooManyInvalidationsInProgress (nothing applied)."""

    quota_rate = 0.1

    def dispatch(self, request: Request) -> Response:
        """Like StrictCloudFront, with quota errors drawn from their own seeded generator."""
        if _creates(request) and self._quota_random.random() < self.quota_rate:
            return aws_error(
                request, 400, "TooManyInvalidationsInProgress", "Your request contains too many."
            )
        return super().dispatch(request)

    _quota_random = random.Random(11)


def test_every_change_is_covered_once_through_30_percent_cloudfront_faults(moto_server: str) -> None:
    with chaos_site(moto_server, cloudfront_class=QuotaPressure) as site, environment(site.env):
        # GIVEN CloudFront failing 30% of calls: 503, throttling, lost answers, answers slower than
        # the 1 s read timeout (plus quota errors), and one lost and one slow create for certain
        site.cloudfront.slow_seconds = 2.0
        site.cloudfront.set_fault_rate(0.3, kinds=("503", "throttle", "lost_response", "slow"))
        site.cloudfront.inject("lost_response", 1, match=_creates)
        site.cloudfront.inject("slow", 1, match=_creates)
        settings = site.settings(aws={"read_timeout_seconds": 1})
        with running_watcher(settings, requests_per_second=20, request_burst=20) as watcher:
            # WHEN six deploys of ten files land a second apart
            for deploy in range(6):
                site.publish(f"release{deploy}/file{i}.html" for i in range(10))
                wait_until(lambda: True, timeout=1.0)
            # THEN every change gets covered and every message deleted
            wait_until(lambda: not site.uncovered() and site.depth() == 0, timeout=150, interval=0.5)
            retries = watcher.metrics.registry.get_sample_value(
                "cloudfront_watcher_retries_total", {"reason": "ReadTimeoutError"}
            )
        # AND the faults did happen, lost answers included
        assert site.cloudfront.count("CreateInvalidation", fault="lost_response") >= 1
        assert site.cloudfront.count("CreateInvalidation", fault="slow") >= 1
        assert retries
        # AND a retry after a lost or late answer reused its CallerReference: no path went out twice
        sent = Counter(
            path for invalidation in site.cloudfront.invalidations for path in set(invalidation.paths)
        )
        assert {path: n for path, n in sent.items() if n > 1} == {}
