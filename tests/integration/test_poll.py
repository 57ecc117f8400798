"""Poll mode against moto's server: cycles are run directly, so no test waits an interval."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from tests.support.clock import FakeClock
from tests.support.fault_proxy import FaultProxy, Request
from tests.support.poll_site import make_poll_site, poll_settings, run_once
from tests.support.site import config_toml, run_cli, running_watcher, watcher_env
from tests.support.waiting import wait_until
from watcher.awserrors import count_errors
from watcher.core.model import Change
from watcher.ops.metrics import Metrics
from watcher.sources.poll import PollSource


@pytest.fixture(autouse=True)
def _endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher's clients follow the standard chain: point it at the emulator."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)


def _listing(request: Request) -> bool:
    return request.action == "ListObjectsV2"


def test_an_overwritten_index_html_is_invalidated_once_and_quiet_cycles_send_nothing(
    moto_server: str,
) -> None:
    # GIVEN a deployed site and a running poller whose first cycle took the baseline
    site = make_poll_site(moto_server)
    with running_watcher(poll_settings(site)) as watcher:
        poll = watcher.poll
        assert poll is not None
        wait_until(lambda: poll.last_cycle is not None)
        assert poll.last_cycle is not None
        assert poll.last_cycle.outcome == "baseline"
        # WHEN index.html is overwritten with new content and the next cycle runs
        site.put("index.html", "<h1>Home, v2</h1>")
        assert poll.run_cycle().changes == 1
        # THEN one invalidation covers /index.html and /
        wait_until(lambda: poll.pending == 0)
        assert site.paths() == [{"/index.html", "/"}]
        # AND three quiet cycles invalidate nothing more
        assert [poll.run_cycle().changes for _ in range(3)] == [0, 0, 0]
        assert len(site.paths()) == 1


def test_poll_cycles_are_a_job_of_the_daemons_one_scheduler(moto_server: str) -> None:
    # GIVEN a running poller whose first cycle (at start) took the baseline; the next is an hour away
    site = make_poll_site(moto_server)
    with running_watcher(poll_settings(site, interval_seconds=3600)) as watcher:
        poll = watcher.poll
        assert poll is not None
        wait_until(lambda: poll.last_cycle is not None)
        # WHEN index.html is overwritten and the daemon's scheduler is asked for its poll job now
        site.put("index.html", "<h1>Home, v2</h1>")
        watcher.periodic.run_now("poll")
        # THEN that cycle, run by the scheduler that runs every other periodic job, invalidates it
        wait_until(lambda: site.paths() == [{"/index.html", "/"}], timeout=10, what="the invalidation")


def test_a_deleted_page_is_invalidated_by_the_next_run(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a saved baseline
    site = make_poll_site(moto_server)
    settings = poll_settings(site, state_file=str(tmp_path / "state.json"))
    code, first = run_once(settings)
    assert code == 0
    assert first.poll is not None
    assert first.poll.took_baseline
    assert site.paths() == []
    # WHEN about/index.html is deleted and `watcher run --once` runs
    site.s3.delete_object(Bucket=site.bucket, Key="about/index.html")
    code, _ = run_once(settings)
    # THEN its page and directory are invalidated
    assert code == 0
    assert site.paths() == [{"/about/index.html", "/about/"}]


def test_a_crash_between_detection_and_invalidation_is_invalidated_by_the_next_run(
    moto_server: str, tmp_path: Path
) -> None:
    # GIVEN a saved baseline, and then a new index.html
    site = make_poll_site(moto_server)
    settings = poll_settings(site, state_file=str(tmp_path / "state.json"))
    assert run_once(settings)[0] == 0
    site.put("index.html", "<h1>Home, v2</h1>")
    # WHEN a poller detects the change and dies before any invalidation
    detected: list[Change] = []
    doomed = PollSource(
        boto3.client("s3", endpoint_url=moto_server),
        settings.poll,
        settings.sites,
        clock=FakeClock(),
        metrics=Metrics(CollectorRegistry()),
        on_change=detected.append,
    )
    assert doomed.run_cycle().changes == 1
    doomed.housekeeping()  # whatever it saved before dying, it saved
    assert [change.key for change in detected] == ["index.html"]
    # THEN the next run invalidates it, and the run after has nothing left to do
    code, _ = run_once(settings)
    assert code == 0
    assert site.paths() == [{"/index.html", "/"}]
    code, third = run_once(settings)
    assert code == 0
    assert third.poll is not None
    assert third.poll.last_cycle is not None
    assert third.poll.last_cycle.changes == 0
    assert len(site.paths()) == 1


def test_on_change_site_invalidates_the_whole_site_with_one_wildcard(
    moto_server: str, tmp_path: Path
) -> None:
    # GIVEN a site under a prefix, polled with on_change = "site", and a saved baseline
    site = make_poll_site(moto_server, {"www/index.html": "v1", "www/docs/index.html": "v1"})
    settings = poll_settings(site, prefix="www/", on_change="site", state_file=str(tmp_path / "s.json"))
    assert run_once(settings)[0] == 0
    # WHEN both index pages change
    site.put("www/index.html", "v2")
    site.put("www/docs/index.html", "v2")
    code, _ = run_once(settings)
    # THEN one invalidation of the site's whole URL space (URLs do not carry the prefix)
    assert code == 0
    assert site.paths() == [{"/*"}]


def test_a_site_of_2500_objects_costs_three_list_calls_a_cycle(moto_server: str) -> None:
    # GIVEN a site of 2,500 objects, seeded in the emulator's backend (2,500 PUTs over
    # HTTP take ~30 s in moto); the poller's own calls go over HTTP through a proxy
    site = make_poll_site(moto_server, {})
    from moto.s3.models import s3_backends  # noqa: PLC0415 - the server runs in this process

    backend = s3_backends["123456789012"]["global"]
    for i in range(2499):
        backend.put_object(site.bucket, f"assets/{i // 100}/file{i}.js", b"x")
    backend.put_object(site.bucket, "index.html", b"<h1>Home</h1>")
    with FaultProxy(moto_server) as proxy:
        metrics = Metrics(CollectorRegistry())
        poll = PollSource(
            boto3.client("s3", endpoint_url=proxy.url),
            poll_settings(site).poll,
            poll_settings(site).sites,
            clock=FakeClock(),
            metrics=metrics,
            on_change=lambda change: None,
        )
        # WHEN one cycle runs
        result = poll.run_cycle()
        # THEN it made exactly ceil(2,500 / 1,000) = 3 List calls and nothing else
        assert proxy.count("ListObjectsV2") == 3
        assert len(proxy.requests) == 3
    assert result.list_calls == 3
    assert result.watched_keys == 1
    assert metrics.registry.get_sample_value("cloudfront_watcher_poll_list_calls_total") == 3


def test_s3_throttling_skips_cycles_with_backoff_and_counts_them(moto_server: str) -> None:
    # GIVEN a poller behind a proxy that throttles the next two listings (no botocore retries)
    site = make_poll_site(moto_server)
    with FaultProxy(moto_server) as proxy:
        proxy.inject("throttle", count=2, match=_listing)
        no_retries = Config(retries={"total_max_attempts": 1, "mode": "standard"})
        metrics = Metrics(CollectorRegistry())
        settings = poll_settings(site, interval_seconds=60)
        s3 = boto3.client("s3", endpoint_url=proxy.url, config=no_retries)
        count_errors(s3.meta.events, metrics.count_aws_error)  # what ClientFactory does for the daemon
        poll = PollSource(
            s3,
            settings.poll,
            settings.sites,
            clock=FakeClock(),
            metrics=metrics,
            on_change=lambda change: None,
        )
        # WHEN four cycles come due
        outcomes = [poll.run_cycle().outcome for _ in range(4)]
    # THEN two fail, the next is skipped (backoff), the fourth succeeds; all counted
    assert outcomes == ["failed", "failed", "skipped", "baseline"]
    sample = metrics.registry.get_sample_value
    assert sample("cloudfront_watcher_poll_cycles_total", {"outcome": "failed"}) == 2
    assert sample("cloudfront_watcher_poll_cycles_total", {"outcome": "skipped"}) == 1
    assert sample("cloudfront_watcher_aws_errors_total", {"service": "s3", "code": "SlowDown"}) == 2
    assert poll.health.unready_reason() is None


def test_a_missing_bucket_is_a_clear_reason_on_readyz(moto_server: str) -> None:
    # GIVEN a config whose site names a bucket that does not exist
    site = make_poll_site(moto_server)
    settings = poll_settings(site).model_copy(
        update={"sites": (poll_settings(site).sites[0].model_copy(update={"bucket": "no-such-bucket"}),)}
    )
    # WHEN the watcher runs its first cycle
    with running_watcher(settings) as watcher:
        assert watcher.poll is not None
        assert watcher.http is not None
        wait_until(lambda: watcher.poll is not None and watcher.poll.last_cycle is not None)
        # THEN /readyz answers 503 and names the bucket and the error
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"{watcher.http.url}/readyz", timeout=5)  # noqa: S310 - loopback
    assert answer.value.code == 503
    reason = answer.value.read().decode()
    assert "s3://no-such-bucket/" in reason
    assert "NoSuchBucket" in reason


def test_run_once_without_saved_state_says_it_took_a_baseline(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a poll-only config file with a state_file that does not exist yet
    site = make_poll_site(moto_server)
    config = tmp_path / "config.toml"
    config.write_text(config_toml(poll_settings(site, state_file=str(tmp_path / "state.json"))))
    # WHEN `watcher run --once` runs
    result = run_cli(["run", "--config", str(config), "--once"], env=watcher_env(moto_server))
    # THEN it exits 0, says the cycle was a baseline, invalidated nothing and saved the state
    assert result.returncode == 0, result.stderr[-3000:]
    assert "took a baseline" in result.stdout
    assert site.paths() == []
    assert (tmp_path / "state.json").exists()


def test_dry_run_invalidates_nothing_and_commits_nothing(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a saved baseline, and then a new index.html
    site = make_poll_site(moto_server)
    state_file = tmp_path / "state.json"
    settings = poll_settings(site, state_file=str(state_file))
    assert run_once(settings)[0] == 0
    saved = state_file.read_text()
    site.put("index.html", "<h1>Home, v2</h1>")
    # WHEN a dry run sees the change
    dry = settings.model_copy(update={"watcher": settings.watcher.model_copy(update={"dry_run": True})})
    code, watcher = run_once(dry)
    # THEN nothing is invalidated and the state file is as it was
    assert code == 0
    assert watcher.poll is not None
    assert watcher.poll.last_cycle is not None
    assert watcher.poll.last_cycle.changes == 1
    assert site.paths() == []
    assert state_file.read_text() == saved
    # AND the next real run still invalidates the change
    assert run_once(settings)[0] == 0
    assert site.paths() == [{"/index.html", "/"}]


def test_a_state_file_of_the_wrong_shape_starts_a_baseline_with_a_warning(
    moto_server: str, tmp_path: Path
) -> None:
    # GIVEN a state file that is valid JSON of the wrong shape (it crashed the start before)
    site = make_poll_site(moto_server)
    state_file = tmp_path / "state.json"
    state_file.write_text('{"version": 1, "scopes": [], "objects": []}')
    # WHEN `run --once` starts on it
    with capture_logs() as logs:
        code, watcher = run_once(poll_settings(site, state_file=str(state_file)))
    # THEN no crash: a warning names the file, the cycle is a baseline, the file is rewritten
    assert code == 0
    assert watcher.poll is not None
    assert watcher.poll.took_baseline
    (warning,) = [log for log in logs if log["event"] == "poll state"]
    assert warning["log_level"] == "warning"
    assert "new baseline" in warning["detail"]
    assert json.loads(state_file.read_text())["scopes"]  # the baseline is saved
    assert site.paths() == []  # and nothing was invalidated
