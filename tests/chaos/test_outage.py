"""The emulator goes away for 30 s in the middle of a run, then comes back."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from tests.support.chaos import chaos_site
from tests.support.site import running_watcher
from tests.support.waiting import wait_until
from watcher.commands.demo.emulator import environment

pytestmark = pytest.mark.chaos


def _readyz(base_url: str) -> int:
    try:
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=5) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_30_second_outage_heals_by_itself_and_loses_nothing(moto_server: str) -> None:
    with chaos_site(moto_server) as site, environment(site.env):
        # GIVEN a running watcher that is ready and has invalidated a first deploy
        settings = site.settings(http={"listen": "127.0.0.1:0", "unready_after_failing_seconds": 5})
        with running_watcher(settings, requests_per_second=20, request_burst=20) as watcher:
            assert watcher.http is not None
            base = watcher.http.url
            site.publish(f"before/p{i}.html" for i in range(5))
            wait_until(lambda: not site.uncovered() and site.depth() == 0, timeout=30)
            assert _readyz(base) == 200
            # WHEN SQS and CloudFront vanish for 30 s while a second deploy lands
            site.sqs_proxy.set_down(True)
            site.cloudfront.set_down(True)
            down_at = time.monotonic()
            site.publish(f"during/p{i}.html" for i in range(5))
            # THEN /readyz says so while it lasts, /healthz stays up
            wait_until(lambda: _readyz(base) == 503, timeout=25)
            assert watcher.live()
            time.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
            site.sqs_proxy.set_down(False)
            site.cloudfront.set_down(False)
            # AND once it is back the watcher recovers by itself: ready again, nothing lost
            wait_until(lambda: _readyz(base) == 200, timeout=45)
            wait_until(lambda: not site.uncovered() and site.depth() == 0, timeout=60, interval=0.5)
