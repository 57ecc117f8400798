"""Faults: a deploy through the real watcher while CloudFront fails 30% of the time.

StrictCloudFront (in front of moto) answers 503, Throttling, lost responses
(the invalidation is created, the answer never arrives) and
TooManyInvalidationsInProgress. S3 and SQS are moto's, unfaulted. Every change
must still be covered, every message deleted, and no lost response may cause a
second invalidation of the same files.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from tests.support.fault_proxy import Request
from tests.support.scripted_cloudfront import ScriptedCloudFront, is_create_invalidation
from tests.support.site import Stack, make_stack, running_watcher, settings_for
from tests.support.waiting import wait_until
from watcher.core.clock import SystemClock

# 30% of CloudFront requests fail: 22.5% as 503/Throttling/lost response from the
# proxy, and 10% of the rest of the CreateInvalidations as a quota refusal
# (0.225 + 0.775 x 0.1 ~= 0.30).
PROXY_FAULT_RATE = 0.225
QUOTA_RATE = 0.1


class ShortNaps(SystemClock):
    """Real time, but no nap longer than 50 ms: backoff retries at once, deadlines stay real."""

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Sleep at most 50 ms."""
        return super().sleep(min(seconds, 0.05), stop)


def _is_cloudfront(request: Request) -> bool:
    return request.service == "cloudfront"


def _deploy_in_bursts(stack: Stack, bursts: int, files: int) -> list[str]:
    keys: list[str] = []
    for burst in range(bursts):
        batch = {f"release{burst}/page{i}.html": f"<p>{burst}.{i}</p>" for i in range(files)}
        stack.deploy(batch)
        keys.extend(batch)
        time.sleep(0.8)  # past the quiet period: each burst is its own flush
    return keys


def _prove_faulted_deploy(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, *, seed: int, bursts: int
) -> None:
    # GIVEN a bucket wired to a queue, and a CloudFront failing ~30% of its requests
    stack = make_stack(moto_server)
    with ScriptedCloudFront(moto_server, seed=seed, quota_rate=QUOTA_RATE, complete_after=1.0) as cloudfront:
        cloudfront.set_fault_rate(
            PROXY_FAULT_RATE, ("503", "throttle", "lost_response"), match=_is_cloudfront
        )
        # A deploy makes few CreateInvalidations: script one of each fault on top of the draw
        for kind in ("lost_response", "503", "throttle"):
            cloudfront.inject(kind, 1, match=is_create_invalidation)
        cloudfront.answer_next("TooManyInvalidationsInProgress")
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        settings = settings_for(stack, invalidation={"quiet_period_seconds": 0.3, "max_delay_seconds": 5})
        with running_watcher(
            settings,
            clock=ShortNaps(),
            requests_per_second=50,
            request_burst=50,
            rng=random.Random(seed),
        ):
            # WHEN a deploy lands in bursts
            keys = _deploy_in_bursts(stack, bursts, files=10)
            # THEN every change is covered and every message deleted
            wait_until(
                lambda: (
                    all(cloudfront.covered(stack.distribution_id, "/" + k) for k in keys)
                    and stack.queue_depth() == 0
                ),
                timeout=60,
            )
        # AND every kind of fault really happened
        for kind in ("lost_response", "503", "throttle"):
            assert cloudfront.count("CreateInvalidation", fault=kind) >= 1, kind
        assert "TooManyInvalidationsInProgress" in cloudfront.refusals
        # AND no file was invalidated twice: each lost response was retried with its CallerReference
        invalidated = Counter(path for inv in cloudfront.invalidations for path in inv.paths)
        assert {path: n for path, n in invalidated.items() if n > 1} == {}
        assert cloudfront.create_calls > len(cloudfront.invalidations)
    assert stack.queue_depth() == 0


def test_a_deploy_survives_30_percent_cloudfront_faults(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _prove_faulted_deploy(moto_server, monkeypatch, seed=11, bursts=3)


@pytest.mark.chaos
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_longer_deploys_survive_30_percent_cloudfront_faults_for_many_seeds(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    _prove_faulted_deploy(moto_server, monkeypatch, seed=seed, bursts=8)
