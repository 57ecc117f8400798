"""A role per site: the distribution and bucket live in another account (moto: STS AssumeRole)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from tests.support.accounts import as_role
from tests.support.fault_proxy import FaultProxy
from tests.support.iam_calls import WAIT_ACTIONS, RecordingProxy, actions
from tests.support.s3_events import s3_body
from tests.support.site import WATCHER_BIN, config_toml, run_cli, watcher_env
from watcher.aws import ClientFactory
from watcher.commands.demo.emulator import create_distribution, environment
from watcher.core.config import Settings, SiteSettings

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client

THEIR_ACCOUNT = "222222222222"
ROLE = f"arn:aws:iam::{THEIR_ACCOUNT}:role/site-invalidator"
BUCKET = "agency-client-site"


@pytest.fixture
def their_site(moto_server: str) -> tuple[CloudFrontClient, S3Client, str]:
    """GIVEN a bucket and a distribution in another account, reachable through ROLE only."""
    cloudfront: CloudFrontClient = as_role(moto_server, "cloudfront", ROLE, "agency-42")
    s3: S3Client = as_role(moto_server, "s3", ROLE, "agency-42")
    s3.create_bucket(Bucket=BUCKET)
    distribution_id = create_distribution(cloudfront, BUCKET)
    return cloudfront, s3, distribution_id


def _settings(queue_url: str, distribution_id: str, **sections: Any) -> Settings:
    site = {
        "bucket": BUCKET,
        "distribution_id": distribution_id,
        "role_arn": ROLE,
        "external_id": "agency-42",
    }
    data: dict[str, Any] = {
        "watcher": {"log_level": "info", "shutdown_timeout_seconds": 10},
        "http": {"listen": "127.0.0.1:0"},
        "sqs": {"queue_url": queue_url, "wait_time_seconds": 1},
        "invalidation": {"quiet_period_seconds": 0.5, "max_delay_seconds": 5},
        "sites": [site],
        **sections,
    }
    return Settings.model_validate(data)


def _paths(cloudfront: CloudFrontClient, distribution_id: str) -> set[str]:
    listed = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get(
        "Items", []
    )
    return {
        path
        for item in listed
        for path in cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])[
            "Invalidation"
        ]["InvalidationBatch"]["Paths"]["Items"]
    }


def test_a_site_in_another_account_is_invalidated_through_its_role(
    moto_server: str, their_site: tuple[CloudFrontClient, S3Client, str], tmp_path: Path
) -> None:
    cloudfront, _, distribution_id = their_site
    # AND our own queue (SQS stays on the watcher's identity), fed with a deploy's events
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="our-changes")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=s3_body(["index.html", "docs/a.html"], 1, BUCKET))
    # AND the distribution is invisible to our own identity
    ours = boto3.client("cloudfront", endpoint_url=moto_server, region_name="us-east-1")
    assert not ours.list_distributions()["DistributionList"].get("Items")
    config = tmp_path / "config.toml"
    config.write_text(config_toml(_settings(queue_url, distribution_id)))
    # WHEN `watcher run --once` drains the queue
    result = run_cli(["run", "--config", str(config), "--once"], env=watcher_env(moto_server))
    # THEN their distribution got the invalidation, and our queue is empty
    assert result.returncode == 0, result.stderr[-3000:]
    assert _paths(cloudfront, distribution_id) == {"/index.html", "/", "/docs/a.html"}
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"


def _invalidate(cloudfront: CloudFrontClient, distribution_id: str, paths: int) -> None:
    items = [f"/p{i}.html" for i in range(paths)]
    cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": paths, "Items": items}, "CallerReference": f"r{paths}"},
    )


def test_cost_reads_their_distribution_through_the_role_with_a_free_tier_per_account(
    moto_server: str, their_site: tuple[CloudFrontClient, S3Client, str], tmp_path: Path
) -> None:
    cloudfront, _, theirs = their_site
    # AND our own distribution: 1,201 paths this month; theirs: 3 (each account has 1,000 free)
    ours_client = boto3.client("cloudfront", endpoint_url=moto_server, region_name="us-east-1")
    ours = create_distribution(ours_client, "our-own-site")
    _invalidate(ours_client, ours, 1201)
    _invalidate(cloudfront, theirs, 3)
    settings = _settings("https://sqs.us-east-1.amazonaws.com/123456789012/q", theirs).model_dump()
    settings["sites"] = [*settings["sites"], {"bucket": "our-own-site", "distribution_id": ours}]
    config = tmp_path / "config.toml"
    config.write_text(config_toml(Settings.model_validate(settings)))
    # WHEN `watcher cost` runs
    result = run_cli(["cost", "--config", str(config)], env=watcher_env(moto_server))
    # THEN it read their distribution through the role (not 0, not an error)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.strip()}
    assert rows[theirs] == ["1", "3", THEIR_ACCOUNT]
    assert rows[ours] == ["1", "1201", "this", "account"]
    # AND each account has its own free tier: theirs 997 left, ours 201 paths past it ($1.005 -> $1.01)
    assert f"account {THEIR_ACCOUNT}: 3 billed paths; free tier: 997 of 1000 paths left" in result.stdout
    assert "account this account: 1201 billed paths; free tier: 0 of 1000 paths left" in result.stdout
    assert "201 past it: $1.01" in result.stdout
    assert "estimated cost: $1.01" in result.stdout


def test_explain_deploy_lists_their_bucket_through_the_role(
    moto_server: str, their_site: tuple[CloudFrontClient, S3Client, str], tmp_path: Path
) -> None:
    _, s3, distribution_id = their_site
    # AND their bucket holds 5 pages (invisible to our own identity)
    for i in range(5):
        s3.put_object(Bucket=BUCKET, Key=f"p{i}.html", Body=b"x")
    config = tmp_path / "config.toml"
    config.write_text(
        config_toml(_settings("https://sqs.us-east-1.amazonaws.com/123456789012/q", distribution_id))
    )
    # WHEN a deploy of two of them is explained (every call recorded with the role that signed it)
    with RecordingProxy(moto_server) as proxy:
        result = subprocess.run(
            [WATCHER_BIN, "explain", "--config", str(config), "--deploy", "-"],
            input=f"s3://{BUCKET}/p0.html\ns3://{BUCKET}/p1.html\n",
            env=watcher_env(proxy.url),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        listings = [call for call in proxy.calls() if call.api == "ListObjectsV2"]
    # THEN the site was listed, through its role: each strategy's collateral is known
    assert result.returncode == 0, result.stderr
    assert "5 objects listed" in result.stdout
    assert listings
    assert {call.role for call in listings} == {ROLE}


def test_poll_mode_lists_their_bucket_through_the_role(
    moto_server: str, their_site: tuple[CloudFrontClient, S3Client, str], tmp_path: Path
) -> None:
    cloudfront, s3, distribution_id = their_site
    s3.put_object(Bucket=BUCKET, Key="index.html", Body=b"<h1>hi</h1>")
    settings = _settings(
        "",
        distribution_id,
        watcher={"sources": ["poll"], "shutdown_timeout_seconds": 10},
        poll={"invalidate_on_start": True},
    )
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings))
    # WHEN one poll cycle runs
    result = run_cli(["run", "--config", str(config), "--once"], env=watcher_env(moto_server))
    # THEN it listed their bucket (as the role) and invalidated their distribution
    assert result.returncode == 0, result.stderr[-3000:]
    assert _paths(cloudfront, distribution_id) == {"/index.html", "/"}


def test_credentials_are_refreshed_before_they_expire(moto_server: str) -> None:
    # GIVEN STS behind a counting proxy, and a role whose credentials last 15 minutes,
    # i.e. already inside botocore's refresh window (15 min before expiry)
    site = SiteSettings(bucket=BUCKET, distribution_id="E1", role_arn=ROLE, external_id="agency-42")
    with (
        FaultProxy(moto_server) as sts_proxy,
        environment(watcher_env(moto_server, AWS_ENDPOINT_URL_STS=sts_proxy.url)),
    ):
        short = ClientFactory(region="us-east-1", assume_role_seconds=900).client_for_site(site, "cloudfront")
        hourly = ClientFactory(region="us-east-1").client_for_site(site, "cloudfront")
        # WHEN nothing is called yet THEN no role was assumed (no AWS call at start)
        assert sts_proxy.count("AssumeRole") == 0
        # WHEN each client makes two calls
        for client in (short, short):
            client.list_distributions()
        assumed_short = sts_proxy.count("AssumeRole")
        for client in (hourly, hourly):
            client.list_distributions()
    # THEN the short-lived credentials were fetched again before expiring, the hourly ones once
    assert assumed_short == 2
    assert sts_proxy.count("AssumeRole") - assumed_short == 1


def test_iam_policy_lets_us_assume_the_roles_and_says_what_each_role_needs(tmp_path: Path) -> None:
    # GIVEN one site of ours and one in their account, through a role with an external id
    settings = Settings.model_validate(
        {
            "sqs": {"queue_url": "https://sqs.us-east-1.amazonaws.com/111111111111/changes"},
            "aws": {"region": "us-east-1"},
            "sites": [
                {"bucket": "ours", "distribution_id": "EOURS"},
                {
                    "bucket": BUCKET,
                    "distribution_id": "ETHEIRS",
                    "role_arn": ROLE,
                    "external_id": "agency-42",
                },
            ],
        }
    )
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings))
    # WHEN the watcher's policy is printed
    offline = watcher_env("http://127.0.0.1:9")  # --account-id: no AWS call
    ours = run_cli(["iam-policy", "--config", str(config), "--account-id", "111111111111"], env=offline)
    assert ours.returncode == 0, ours.stderr
    statements = {s["Sid"]: s for s in json.loads(ours.stdout)["Statement"]}
    # THEN it may assume the role, and invalidates only its own distribution itself
    assert statements["AssumeSiteRoles"]["Action"] == "sts:AssumeRole"
    assert statements["AssumeSiteRoles"]["Resource"] == [ROLE]
    assert statements["InvalidateSiteDistributions"]["Resource"] == [
        "arn:aws:cloudfront::111111111111:distribution/EOURS"
    ]
    # WHEN the site role's policies are printed
    theirs = run_cli(
        ["iam-policy", "--config", str(config), "--account-id", "111111111111", "--for", "site-role"],
        env=offline,
    )
    assert theirs.returncode == 0, theirs.stderr
    role = json.loads(theirs.stdout)[ROLE]
    # THEN the role may invalidate its distribution, and trusts our account with the external id
    invalidate, *versions = role["PermissionPolicy"]["Statement"]
    assert "cloudfront:CreateInvalidation" in invalidate["Action"]
    # ... and the content check's version reads in their bucket (skip_unchanged)
    assert {s["Sid"] for s in versions} == {"CompareSiteVersions0", "ReadSiteVersionHeaders"}
    assert invalidate["Resource"] == [f"arn:aws:cloudfront::{THEIR_ACCOUNT}:distribution/ETHEIRS"]
    assert "cloudfront:GetDistribution" not in invalidate["Action"]  # the daemon never reads it
    # ... and `setup` / `check --aws` read the distribution through the role with a policy of their own
    (check,) = role["CheckPermissionPolicy"]["Statement"]
    assert (check["Action"], check["Resource"]) == ("cloudfront:GetDistribution", invalidate["Resource"])
    (trust,) = role["TrustPolicy"]["Statement"]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "agency-42"}}


def test_a_site_role_also_grants_the_site_index_listing_and_says_what_watcher_wait_needs(
    tmp_path: Path,
) -> None:
    # GIVEN a site in their account and a cost strategy (a site index, listed through the role)
    settings = Settings.model_validate(
        {
            "sqs": {"queue_url": "https://sqs.us-east-1.amazonaws.com/111111111111/changes"},
            "aws": {"region": "us-east-1"},
            "invalidation": {"strategy": "balanced"},
            "sites": [{"bucket": BUCKET, "prefix": "www/", "distribution_id": "ETHEIRS", "role_arn": ROLE}],
        }
    )
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings))
    # WHEN the site role's policies are printed
    theirs = run_cli(
        ["iam-policy", "--config", str(config), "--account-id", "111111111111", "--for", "site-role"],
        env=watcher_env("http://127.0.0.1:9"),
    )
    assert theirs.returncode == 0, theirs.stderr
    role = json.loads(theirs.stdout)[ROLE]
    # THEN the daemon's permission policy lets the index list the site prefix, and nothing else of S3
    daemon = {s["Sid"]: s for s in role["PermissionPolicy"]["Statement"]}
    assert set(daemon) == {
        "InvalidateSiteDistributions",
        "IndexSiteBuckets0",
        "CompareSiteVersions0",  # the content check (skip_unchanged)
        "ReadSiteVersionHeaders",
    }
    assert daemon["IndexSiteBuckets0"]["Action"] == "s3:ListBucket"
    assert daemon["IndexSiteBuckets0"]["Resource"] == f"arn:aws:s3:::{BUCKET}"
    # ... and `watcher wait`'s reads through the role are a policy of their own, read-only
    waiting = role["WaitPermissionPolicy"]["Statement"]
    assert actions(waiting) == WAIT_ACTIONS
    assert all(THEIR_ACCOUNT in str(s["Resource"]) or BUCKET in str(s["Resource"]) for s in waiting)
