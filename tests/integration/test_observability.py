"""Metrics, probes and logs an on-call engineer can trust, over real HTTP against moto's server."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from tests.support.fault_proxy import FaultProxy, Request
from tests.support.scrape import CONTRACT_METRICS, get, samples, value
from tests.support.site import (
    WATCHER_BIN,
    config_toml,
    make_stack,
    running_watcher,
    settings_for,
    watcher_env,
)
from tests.support.waiting import free_port, wait_until

SITE = {
    "index.html": "<h1>home</h1>",
    "docs/index.html": "<h1>docs</h1>",
    "assets/app.js": "v2",
}
M = "cloudfront_watcher_"
# Configuring the notification sends an s3:TestEvent: one message more than the files.
MESSAGES = len(SITE) + 1


def test_metrics_after_a_deploy_match_what_cloudfront_recorded(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a running watcher on a bucket wired to a queue and a distribution
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    stack = make_stack(moto_server)
    with running_watcher(settings_for(stack)) as watcher:
        assert watcher.http is not None
        metrics_url = f"{watcher.http.url}/metrics"
        # WHEN a 3-file deploy lands and the queue is drained
        stack.deploy(SITE)
        wait_until(
            lambda: value(get(metrics_url).body, f"{M}sqs_messages_total", outcome="deleted") == MESSAGES,
            what="every message deleted",
        )
        text = get(metrics_url).body
        openmetrics = get(metrics_url, accept="application/openmetrics-text; version=1.0.0")
    # THEN the counters match what the emulator recorded
    invalidations = stack.invalidations()
    dist = stack.distribution_id
    assert value(text, f"{M}invalidations_total", distribution=dist, outcome="created") == len(invalidations)
    assert value(text, f"{M}invalidation_paths_total", distribution=dist) == sum(
        len(i["paths"]) for i in invalidations
    )
    assert value(text, f"{M}events_total", source="sqs", outcome="accepted") == len(SITE)
    assert value(text, f"{M}sqs_messages_total", outcome="received") == MESSAGES
    assert value(text, f"{M}events_total", source="sqs", outcome="ignored") == 1  # the test event
    # AND the histograms have observations, the timestamps are set
    assert value(text, f"{M}event_to_invalidation_seconds_count") == len(SITE)
    assert value(text, f"{M}invalidation_request_seconds_count") >= len(invalidations)
    assert value(text, f"{M}last_invalidation_timestamp_seconds", distribution=dist) > 0
    assert value(text, f"{M}last_event_timestamp_seconds") > 0
    # AND OpenMetrics is served when asked for, and parses
    assert openmetrics.content_type.startswith("application/openmetrics-text")
    assert openmetrics.body.endswith("# EOF\n")
    names = {family.name for family in parse_openmetrics(openmetrics.body)}  # type: ignore[no-untyped-call]
    assert f"{M}invalidations" in names


def test_readiness_follows_aws_and_liveness_ignores_the_outage(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN AWS reached through a proxy that is down, and a 1 s failure window
    stack = make_stack(moto_server)
    with FaultProxy(moto_server) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        proxy.set_down(True)
        settings = settings_for(stack, http={"listen": "127.0.0.1:0", "unready_after_failing_seconds": 1})
        with running_watcher(settings) as watcher:
            assert watcher.http is not None
            base = watcher.http.url

            def ready() -> int:
                assert get(f"{base}/healthz").status == 200  # alive in every phase
                return get(f"{base}/readyz").status

            # THEN not ready before one successful AWS call, with a one-line reason
            wait_until(lambda: "no successful AWS call yet" in get(f"{base}/readyz").body, what="reason")
            assert ready() == 503
            # WHEN AWS comes up THEN ready
            proxy.set_down(False)
            wait_until(lambda: ready() == 200, what="ready")
            # WHEN AWS is down longer than the window THEN unready, still alive
            proxy.set_down(True)
            wait_until(lambda: ready() == 503, what="unready during the outage")
            assert "failing for" in get(f"{base}/readyz").body
            # WHEN AWS returns THEN ready again
            proxy.set_down(False)
            wait_until(lambda: ready() == 200, timeout=40, what="ready after the outage")


def test_logs_tell_each_decision_with_its_context(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a site that excludes drafts, and CloudFront throttling the first CreateInvalidation
    stack = make_stack(moto_server)
    with FaultProxy(moto_server) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)

        def create_invalidation(request: Request) -> bool:
            return request.action.endswith("CreateInvalidation")

        proxy.inject("throttle", match=create_invalidation)
        site = {"bucket": stack.bucket, "distribution_id": stack.distribution_id, "exclude": ["drafts/**"]}
        with capture_logs() as logs, running_watcher(settings_for(stack, sites=cast(Any, [site]))) as watcher:
            # WHEN a deploy with a draft lands
            stack.deploy({**SITE, "drafts/wip.html": "soon"})
            wait_until(
                lambda: (
                    watcher.metrics.registry.get_sample_value(
                        f"{M}sqs_messages_total", {"outcome": "deleted"}
                    )
                    == MESSAGES + 1
                ),
                what="every message deleted",
            )
    # THEN each decision is one line with its bound context
    by_event: dict[str, list[dict[str, Any]]] = {}
    for entry in logs:
        by_event.setdefault(str(entry["event"]), []).append(dict(entry))
    queue, dist = stack.queue_url, stack.distribution_id
    assert all(e["queue"] == queue and int(e["count"]) >= 1 for e in by_event["messages received"])
    (ignored,) = by_event["change ignored"]
    assert ignored["key"] == "drafts/wip.html"
    assert ignored["reasons"]
    assert ignored["change"]
    flushed = by_event["batch flushed"]
    assert all(e["distribution"] == dist and e["batch"] and "wildcards" in e for e in flushed)
    (retry,) = by_event["retrying CreateInvalidation"]
    assert retry["reason"] == "Throttling"
    assert retry["attempt"] == 1
    assert retry["delay"] > 0
    assert retry["distribution"] == dist
    (created,) = by_event["invalidation created"]
    assert created["distribution"] == dist
    assert created["batch"] == flushed[-1]["batch"]
    assert str(created["caller_reference"]).startswith("cfw-")
    assert created["invalidation_id"]
    assert created["paths"] == 5  # /index.html, /, /docs/index.html, /docs/, /assets/app.js
    deleted = sum(int(e["count"]) for e in by_event["messages deleted"])
    assert deleted == MESSAGES + 1
    assert all(e["queue"] == queue for e in by_event["messages deleted"])


def test_a_running_daemon_exports_every_contract_metric_with_its_labels(
    moto_server: str, tmp_path: Path
) -> None:
    # GIVEN `watcher run` as a subprocess, before any event
    stack = make_stack(moto_server)
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(stack, http={"listen": f"127.0.0.1:{port}"})))
    daemon = subprocess.Popen(
        [WATCHER_BIN, "run", "--config", str(config)],
        env=watcher_env(moto_server),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"

        def scraped() -> bool:
            try:
                return get(url).status == 200
            except OSError:
                return False

        wait_until(scraped, what="/metrics up")
        text = get(url).body
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, stderr[-2000:]
    # THEN every contract name is there with its documented labels, even at 0
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for name, labels in CONTRACT_METRICS.items():
        assert name in families, f"{name} missing"
        assert families[name].samples, f"{name} has no series"
        for sample in families[name].samples:
            if name == f"{M}build_info":  # the contract's `version`, plus python_version and revision
                assert set(sample.labels) == {*labels, "python_version", "revision"}, sample.labels
                continue
            assert set(sample.labels) - {"le"} == set(labels), (name, sample.labels)
    dist = stack.distribution_id
    assert value(text, f"{M}invalidations_total", distribution=dist, outcome="created") == 0
    assert value(text, f"{M}invalidations_in_progress", distribution=dist) == 0
    assert any(s.name == f"{M}event_to_invalidation_seconds_bucket" for s in samples(text))
