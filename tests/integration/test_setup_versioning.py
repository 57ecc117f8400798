"""`watcher setup --enable-versioning`: versioned buckets, a noncurrent-version rule merged in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.site import aws_clients
from watcher.cli import main
from watcher.commands.demo.emulator import create_distribution
from watcher.commands.setup.versioning import RULE_ID

THEIRS: Any = {
    "ID": "expire-logs",
    "Status": "Enabled",
    "Filter": {"Prefix": "logs/"},
    "Expiration": {"Days": 30},
}


@pytest.fixture
def config(moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """GIVEN an unversioned site bucket with a lifecycle rule of its own, and a config naming it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    s3, _, cloudfront = aws_clients(moto_server)
    s3.create_bucket(Bucket="site-bucket")
    distribution = create_distribution(cloudfront, "site-bucket")
    s3.put_bucket_lifecycle_configuration(Bucket="site-bucket", LifecycleConfiguration={"Rules": [THEIRS]})
    path = tmp_path / "config.toml"
    path.write_text(f'[[sites]]\nbucket = "site-bucket"\ndistribution_id = "{distribution}"\n')
    return path


def _setup(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["setup", "--config", str(config), "--queue-name", "site-changes", *args])
    out, err = capsys.readouterr()
    return code, out + err


def test_setup_says_versioning_is_off_and_changes_nothing_without_the_option(
    config: Path, capsys: pytest.CaptureFixture[str], moto_server: str
) -> None:
    code, out = _setup(config, capsys, "--apply")
    assert code == 0, out
    assert "bucket site-bucket: versioning never enabled: every write is a change (--enable-versioning" in out
    s3, _, _ = aws_clients(moto_server)
    assert "Status" not in s3.get_bucket_versioning(Bucket="site-bucket")


def test_enable_versioning_is_planned_first_then_applied_keeping_the_bucket_s_own_rules(
    config: Path, capsys: pytest.CaptureFixture[str], moto_server: str
) -> None:
    s3, _, _ = aws_clients(moto_server)
    # WHEN setup runs with --enable-versioning, without --apply
    code, out = _setup(config, capsys, "--enable-versioning", "--noncurrent-days", "3")
    # THEN the plan shows both changes, and nothing changed yet
    assert code == 0, out
    assert "+ bucket site-bucket: enable versioning" in out
    assert f"+ bucket site-bucket: lifecycle rule {RULE_ID}: expire noncurrent versions after 3 days" in out
    assert "its 1 other rule(s) kept" in out
    assert "Status" not in s3.get_bucket_versioning(Bucket="site-bucket")
    # WHEN applied
    code, out = _setup(config, capsys, "--enable-versioning", "--noncurrent-days", "3", "--apply")
    assert code == 0, out
    # THEN the bucket is versioned, and its rules are its own plus ours
    assert s3.get_bucket_versioning(Bucket="site-bucket")["Status"] == "Enabled"
    rules = {
        rule["ID"]: rule for rule in s3.get_bucket_lifecycle_configuration(Bucket="site-bucket")["Rules"]
    }
    assert set(rules) == {"expire-logs", RULE_ID}
    assert rules[RULE_ID]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 3
    assert rules["expire-logs"]["Expiration"] == {"Days": 30}
    # AND a second run changes nothing about versioning
    code, out = _setup(config, capsys, "--enable-versioning", "--noncurrent-days", "3")
    assert "versioning Enabled: unchanged writes are skipped" in out
    assert f"= bucket site-bucket: lifecycle rule {RULE_ID} expires noncurrent versions after 3 days" in out
    assert "enable versioning" not in out


def test_noncurrent_days_out_of_range_is_a_usage_error(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _setup(config, capsys, "--enable-versioning", "--noncurrent-days", "0")
    assert code == 2
    assert "--noncurrent-days must be 1 to 3650" in out
