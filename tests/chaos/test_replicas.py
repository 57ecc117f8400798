"""Two replicas on one queue: no leader needed, nothing lost, at most twice the invalidations."""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest

from tests.support.chaos import ChaosSite, chaos_site
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
