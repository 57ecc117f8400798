"""Cost strategies end to end: the site index, the cheapest cover, the bill, on moto over HTTP."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from prometheus_client import CollectorRegistry

from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.fault_proxy import FaultProxy
from tests.support.site import (
    WATCHER_BIN,
    config_toml,
    make_stack,
    run_cli,
    running_watcher,
    settings_for,
    watcher_env,
)
from tests.support.waiting import wait_until
from watcher.app import Watcher
from watcher.commands.cost import billable_cost, money, past_free_tier, print_cost
from watcher.commands.demo.emulator import create_distribution
from watcher.core.config import Settings

ASSETS = {f"assets/app-{i:02}.js": f"v{i}" for i in range(12)}
DOCS = {f"docs/p{i:02}.html": f"<p>{i}</p>" for i in range(40)}


@pytest.fixture(autouse=True)
def _endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _metric(watcher: Watcher, name: str, distribution: str) -> float:
    value = watcher.metrics.registry.get_sample_value(name, {"distribution": distribution})
    return value or 0.0


def test_balanced_purges_a_fully_changed_directory_and_keeps_a_few_pages_exact(moto_server: str) -> None:
    # GIVEN a site of 12 assets and 40 docs pages, and a watcher with the balanced strategy
    stack = make_stack(moto_server, bucket="cost-balanced", queue="cost-balanced")
    stack.deploy({**ASSETS, **DOCS})
    stack.sqs.purge_queue(QueueUrl=stack.queue_url)
    settings = settings_for(stack, invalidation={"strategy": "balanced", "max_paths_per_request": 100})
    with running_watcher(settings) as watcher:
        assert watcher.indexer is not None
        index = watcher.indexer.distribution_index(stack.distribution_id)
        wait_until(lambda: index.ready, 30, what="the site index is listed")
        assert len(index) == 52
        # WHEN every asset and 3 of the 40 pages are deployed again
        stack.deploy({**ASSETS, **dict(list(DOCS.items())[:3])})
        wait_until(stack.invalidations, 30, what="an invalidation")
        # THEN one wildcard for the assets (nothing else purged) and the 3 pages exact
        (invalidation,) = stack.invalidations()
        pages = ["/docs/p00.html", "/docs/p01.html", "/docs/p02.html"]
        assert sorted(invalidation["paths"]) == ["/assets/*", *pages]
        # AND the bill is visible: 4 billed paths, no collateral, 4 paths this month
        dist = stack.distribution_id
        assert _metric(watcher, "cloudfront_watcher_billed_paths_total", dist) == 4
        assert _metric(watcher, "cloudfront_watcher_collateral_objects_total", dist) == 0
        wait_until(lambda: _metric(watcher, "cloudfront_watcher_month_billed_paths", dist) == 4, 10)
        # AND the index follows the events: a removed page is dropped, a new one added
        stack.s3.delete_object(Bucket=stack.bucket, Key="docs/p39.html")
        stack.deploy({"docs/new.html": "new"})
        wait_until(lambda: "/docs/new.html" in index and "/docs/p39.html" not in index, 30)
        assert len(index) == 52


def test_the_month_bill_is_rebuilt_from_cloudfront_at_start(moto_server: str) -> None:
    # GIVEN a distribution with two invalidations this month (3 paths), made before the watcher started
    stack = make_stack(moto_server, bucket="cost-bill", queue="cost-bill")
    for ref, paths in (("a", ["/x", "/y"]), ("b", ["/z/*"])):
        stack.cloudfront.create_invalidation(
            DistributionId=stack.distribution_id,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": ref},
        )
    # WHEN the watcher starts
    with running_watcher(settings_for(stack)) as watcher:
        # THEN the month's billed paths are counted from CloudFront
        wait_until(
            lambda: _metric(watcher, "cloudfront_watcher_month_billed_paths", stack.distribution_id) == 3, 15
        )


def test_without_an_index_the_plan_stays_exact(moto_server: str) -> None:
    # GIVEN the default strategy: no site index is kept
    stack = make_stack(moto_server, bucket="cost-exact", queue="cost-exact")
    watcher = Watcher(settings_for(stack), registry=CollectorRegistry(), serve_http=False)
    assert watcher.indexer is None
    assert watcher.invalidator.strategy(stack.distribution_id).name == "exact"


def test_watcher_cost_prints_the_month_per_distribution(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a distribution with one 3-path invalidation this month
    stack = make_stack(moto_server, bucket="cost-cli", queue="cost-cli")
    stack.cloudfront.create_invalidation(
        DistributionId=stack.distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 3, "Items": ["/a", "/b", "/c/*"]}, "CallerReference": "r"},
    )
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(stack)))
    # WHEN `watcher cost` runs
    result = run_cli(["cost", "--config", str(config), "--price", "0.01"], env=watcher_env(moto_server))
    # THEN exit 0: one invalidation, 3 billed paths, 997 free paths left, the shared tier noted
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith(stack.distribution_id))
    assert row.split()[1:3] == ["1", "3"]
    assert "997 of 1000 paths left" in result.stdout
    assert "$0.00" in result.stdout
    assert "other distributions of the account share it" in result.stdout
    # AND a malformed month is a usage error
    bad = run_cli(["cost", "--config", str(config), "--month", "2026-13"], env=watcher_env(moto_server))
    assert bad.returncode == 2
    assert "YYYY-MM" in bad.stderr


def test_watcher_cost_exits_1_and_says_incomplete_when_a_distribution_cannot_be_read(
    moto_server: str, tmp_path: Path
) -> None:
    # GIVEN a readable distribution and one that does not exist (or is not ours to read), on the
    # strict stand-in (moto lists the invalidations of any id as empty)
    stack = make_stack(moto_server, bucket="cost-missing", queue="cost-missing")
    settings = settings_for(stack).model_dump()
    settings["sites"] = [*settings["sites"], {"bucket": "gone", "distribution_id": "EGONE1234567"}]
    config = tmp_path / "config.toml"
    config.write_text(config_toml(Settings.model_validate(settings)))
    # WHEN `watcher cost` runs
    with StrictCloudFront(moto_server) as cloudfront:
        env = watcher_env(moto_server, AWS_ENDPOINT_URL_CLOUDFRONT=cloudfront.url)
        result = run_cli(["cost", "--config", str(config)], env=env)
    # THEN exit 1, and the bill says it is incomplete (the readable one is still shown)
    assert result.returncode == 1
    assert "incomplete" in result.stdout
    assert "incomplete" in result.stderr
    assert any(line.startswith(stack.distribution_id) for line in result.stdout.splitlines())


def test_watcher_cost_says_when_a_month_is_longer_than_the_page_cap(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN 101 invalidations this month on the strict stand-in (ListInvalidations: pages of 100)
    with StrictCloudFront(moto_server) as cloudfront:
        client = boto3.client("cloudfront", endpoint_url=cloudfront.url, region_name="us-east-1")
        dist = create_distribution(client, "cost-long-month")
        for i in range(101):
            batch = {"Paths": {"Quantity": 1, "Items": [f"/p{i}"]}, "CallerReference": f"r{i}"}
            client.create_invalidation(DistributionId=dist, InvalidationBatch=batch)  # type: ignore[arg-type]
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        settings = Settings.model_validate(
            {
                "sqs": {"queue_url": "https://sqs.us-east-1.amazonaws.com/1/q"},
                "sites": [{"bucket": "b", "distribution_id": dist}],
            }
        )
        # WHEN the bill is read with a cap of one page
        code = print_cost(settings, month=None, price=0.005, max_pages=1)
    # THEN it shows what it read, says the month is incomplete, and exits 1
    out = capsys.readouterr().out
    assert code == 1
    row = next(line for line in out.splitlines() if line.startswith(dist))
    assert row.split()[1:3] == ["100", "100"]
    assert "incomplete, more than 100 invalidations" in row


def test_money_rounds_half_a_cent_up_every_time() -> None:
    # GIVEN amounts that end in half a cent (floats print some of them down)
    assert f"{1.005:.2f}" == "1.00"  # what the float rounding did
    # THEN Decimal half-up to the cent, consistently
    assert money(Decimal("1.005")) == "$1.01"
    assert money(Decimal("0.015")) == "$0.02"
    assert money(Decimal("0.025")) == "$0.03"
    assert money(billable_cost(201, 0.005)) == "$1.01"
    assert money(billable_cost(3, 0.005)) == "$0.02"
    # AND a deploy is charged only for its paths past the month's free 1,000
    assert past_free_tier(8, 8) == 0
    assert past_free_tier(300, 1100) == 100
    assert past_free_tier(300, 2000) == 300


def test_explain_deploy_shows_each_strategy_against_a_listing(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a listed site of 12 assets and 40 pages
    stack = make_stack(moto_server, bucket="cost-explain", queue="cost-explain")
    stack.deploy({**ASSETS, **DOCS})
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(stack)))
    deploy = "".join(f"s3://{stack.bucket}/{key}\n" for key in [*ASSETS, *list(DOCS)[:3]])
    # WHEN a deploy of every asset and 3 pages is explained (from stdin)
    result = subprocess.run(
        [WATCHER_BIN, "explain", "--config", str(config), "--deploy", "-"],
        input=deploy,
        env=watcher_env(moto_server),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # THEN exact sends 15 paths; balanced 4 (one wildcard) and frugal too, none purging anything
    assert result.returncode == 0, result.stderr
    assert "exact (configured): 15 billed paths (0 wildcards)" in result.stdout
    assert "balanced: 4 billed paths (1 wildcards) in 1 request(s), 0 unchanged objects" in result.stdout
    assert "      /assets/*" in result.stdout


def test_when_the_site_cannot_be_listed_the_plan_stays_exact(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a balanced watcher whose S3 listing fails (the endpoint resets every connection)
    stack = make_stack(moto_server, bucket="cost-denied", queue="cost-denied")
    stack.deploy(ASSETS)
    stack.sqs.purge_queue(QueueUrl=stack.queue_url)
    with FaultProxy(moto_server) as s3_down:
        s3_down.set_down(True)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_down.url)
        settings = settings_for(stack, invalidation={"strategy": "balanced"})
        with running_watcher(settings) as watcher:
            assert watcher.indexer is not None
            # WHEN every asset is deployed again
            stack.deploy(ASSETS)
            wait_until(stack.invalidations, 30, what="an invalidation")
            # THEN the assets are still invalidated, exactly (no index: today's behaviour)
            (invalidation,) = stack.invalidations()
            assert sorted(invalidation["paths"]) == sorted("/" + key for key in ASSETS)
            assert not watcher.indexer.distribution_index(stack.distribution_id).ready


def test_in_poll_mode_the_poll_listing_feeds_the_index(moto_server: str) -> None:
    # GIVEN a balanced watcher in poll mode (watching every key), after its baseline
    stack = make_stack(moto_server, bucket="cost-poll", queue="cost-poll")
    stack.deploy({**ASSETS, **DOCS})
    settings = settings_for(
        stack,
        watcher={"sources": ["poll"]},
        poll={"interval_seconds": 1, "watch": ["**"]},
        invalidation={"strategy": "balanced"},
    )
    with running_watcher(settings) as watcher:
        assert watcher.indexer is not None
        index = watcher.indexer.distribution_index(stack.distribution_id)
        wait_until(lambda: index.ready and watcher.poll is not None and watcher.poll.took_baseline, 30)
        assert len(index) == 52
        # WHEN every asset changes
        stack.deploy({key: body + "-v2" for key, body in ASSETS.items()})
        wait_until(stack.invalidations, 30, what="an invalidation")
        # THEN one wildcard, counted against the index the poll cycle listed
        (invalidation,) = stack.invalidations()
        assert invalidation["paths"] == ["/assets/*"]
