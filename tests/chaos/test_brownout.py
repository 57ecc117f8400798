"""Brownouts: a dependency that accepts connections and never answers never stalls the daemon."""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.chaos import ChaosSite, chaos_site
from tests.support.fault_proxy import FaultProxy
from tests.support.site import WATCHER_BIN, aws_clients, config_toml, running_watcher, watcher_env
from tests.support.waiting import free_port, wait_until
from watcher.commands.demo.emulator import environment

pytestmark = pytest.mark.chaos

HANG_SECONDS = 150.0
QUIET_SECONDS = 2.0


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - loopback
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def _visible(site: ChaosSite) -> int:
    attributes = aws_clients(site.endpoint)[1].get_queue_attributes(
        QueueUrl=site.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@pytest.mark.timeout(300)
def test_a_150_second_sqs_hang_with_30_messages_held(moto_server: str) -> None:
    with chaos_site(moto_server) as site, environment(site.env):
        # GIVEN a running watcher holding 30 messages (a long visibility: they stay ours)
        settings = site.settings(
            sqs={"visibility_timeout_seconds": 600},
            invalidation={"quiet_period_seconds": QUIET_SECONDS, "max_delay_seconds": 30},
            http={"listen": "127.0.0.1:0", "unready_after_failing_seconds": 10},
        )
        with running_watcher(settings, requests_per_second=20, request_burst=20) as watcher:
            assert watcher.http is not None
            assert watcher.sqs is not None
            base = watcher.http.url
            # (deletes refused until the hang: on a loaded machine the first messages could be
            # covered and deleted before the last arrive, and 30 would never be held at once)
            site.sqs_proxy.set_fault_rate(1.0, kinds=("503",), match=lambda r: "DeleteMessage" in r.action)
            site.publish(f"hang/p{i}.html" for i in range(30))
            wait_until(lambda: watcher.sqs is not None and watcher.sqs.held == 30, timeout=30)
            # WHEN SQS hangs (accepts, never answers) for 150 s
            site.sqs_proxy.set_fault_rate(0.0)
            site.sqs_proxy.set_hanging(True)
            hung_at = time.monotonic()
            invalidated_after = None
            unready_reason = ""
            while time.monotonic() - hung_at < HANG_SECONDS:
                # THEN /healthz never says 503 ...
                status, _ = _get(f"{base}/healthz")
                assert status == 200, f"/healthz {status} after {time.monotonic() - hung_at:.0f} s of hang"
                if invalidated_after is None and not site.uncovered():
                    invalidated_after = time.monotonic() - hung_at
                ready, body = _get(f"{base}/readyz")
                if ready == 503:
                    unready_reason = body
                time.sleep(0.5)
            # ... the changes already received were invalidated on time (CloudFront answers) ...
            assert invalidated_after is not None
            assert invalidated_after <= QUIET_SECONDS + 5
            # ... and /readyz said why
            assert unready_reason.startswith("sqs: failing for"), unready_reason
            assert site.depth() == 30  # nothing deleted while SQS hung, nothing lost
            # AND once SQS answers again, every message is deleted within 30 s
            site.sqs_proxy.set_hanging(False)
            answered_at = time.monotonic()
            wait_until(lambda: site.depth() == 0, timeout=30, interval=0.5)
            assert time.monotonic() - answered_at <= 30
            wait_until(lambda: _get(f"{base}/readyz")[0] == 200, timeout=45)
        assert not site.uncovered()


def _start_daemon(
    site: ChaosSite, tmp_path: Path, *, extra_env: dict[str, str], **sections: dict[str, object]
) -> subprocess.Popen[bytes]:
    config = tmp_path / "config.toml"
    config.write_text(config_toml(site.settings(**sections)))
    return subprocess.Popen(
        [WATCHER_BIN, "run", "--config", str(config)],
        env=watcher_env(site.endpoint, **site.env, **extra_env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _sigterm_and_time_exit(process: subprocess.Popen[bytes], timeout: float) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout + 20)
    elapsed = time.monotonic() - started
    assert code == 0
    return elapsed


SHUTDOWN = 10.0


def test_sigterm_during_a_cloudfront_hang_exits_within_the_shutdown_timeout(
    moto_server: str, tmp_path: Path
) -> None:
    with chaos_site(moto_server) as site:
        # GIVEN a daemon whose CloudFront hangs, holding a deploy it cannot invalidate
        site.cloudfront.set_hanging(True)
        port = free_port()
        process = _start_daemon(
            site,
            tmp_path,
            extra_env={},
            watcher={"shutdown_timeout_seconds": SHUTDOWN},
            http={"listen": f"127.0.0.1:{port}", "unready_after_failing_seconds": 3},
        )
        try:
            site.publish(f"cf/p{i}.html" for i in range(5))
            wait_until(lambda: site.cloudfront.count("CreateInvalidation", fault="hang") >= 1, timeout=30)
            # (readiness reports it once CloudFront has failed for long enough)
            wait_until(
                lambda: _get(f"http://127.0.0.1:{port}/readyz")[1].startswith("cloudfront:"), timeout=30
            )
            assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
            # WHEN it is told to stop
            elapsed = _sigterm_and_time_exit(process, SHUTDOWN)
        finally:
            if process.poll() is None:
                process.kill()
        # THEN it exits 0 within the shutdown timeout, and the held messages are back for another replica
        assert elapsed <= SHUTDOWN
        assert _visible(site) == 5


def test_sigterm_during_an_s3_listing_hang_does_not_wait_for_the_poller(
    moto_server: str, tmp_path: Path
) -> None:
    with chaos_site(moto_server) as site, FaultProxy(moto_server) as s3_proxy:
        # GIVEN a daemon with SQS and poll sources, whose S3 listing hangs
        s3_proxy.set_hanging(True)
        process = _start_daemon(
            site,
            tmp_path,
            extra_env={"AWS_ENDPOINT_URL_S3": s3_proxy.url},
            watcher={"sources": ["sqs", "poll"], "shutdown_timeout_seconds": SHUTDOWN},
        )
        try:
            wait_until(lambda: any(r.fault == "hang" for r in s3_proxy.requests), timeout=30)
            # WHEN it is told to stop while a poll cycle waits on S3
            elapsed = _sigterm_and_time_exit(process, SHUTDOWN)
        finally:
            if process.poll() is None:
                process.kill()
        # THEN the drain did not wait for the poller
        assert elapsed <= SHUTDOWN


def test_a_dry_run_never_extends_a_settled_message(moto_server: str) -> None:
    with chaos_site(moto_server) as site, environment(site.env):
        # GIVEN a dry run beside production, with the shortest visibility timeout
        settings = site.settings(watcher={"dry_run": True}, sqs={"visibility_timeout_seconds": 10})
        with running_watcher(settings) as watcher:
            site.publish(f"dry/p{i}.html" for i in range(5))
            # WHEN it has (not) invalidated them, and their visibility runs out
            wait_until(
                lambda: watcher.metrics.registry.get_sample_value(
                    "cloudfront_watcher_invalidations_total",
                    {"distribution": site.distribution_id, "outcome": "dry_run"},
                ),
                timeout=20,
            )
            time.sleep(12)
            # THEN no settled message was ever extended, none deleted: they went back to the queue
            assert site.sqs_proxy.count("ChangeMessageVisibilityBatch") == 0
            assert site.sqs_proxy.count("DeleteMessageBatch") == 0
            assert site.depth() == 5
