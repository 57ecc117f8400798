"""The CI recipe, done for real: `aws s3 sync` of a fresh checkout into a versioned bucket.

A fresh checkout gives every file a new mtime, so the aws CLI re-uploads all of them
and S3 announces a write for each. The watcher must invalidate only what changed.

Emulator note: moto's S3 notifications lack `versionId`, which real S3 puts in every
record of a versioned bucket. So the bucket has no notification here: after each CI
step the test reads the bucket's versions and publishes, for each new version, the
record real S3 would have sent (tests/support/versioned.py), oldest first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.site import running_watcher, settings_for, watcher_env
from tests.support.versioned import VersionedSite, Written, versioned_site
from tests.support.waiting import wait_until
from watcher.app import Watcher
from watcher.commands.demo.emulator import DEMO_SITE

AWS_CLI = str(Path(sys.executable).with_name("aws"))


def _aws(site: VersionedSite, *args: str) -> None:
    ran = subprocess.run(
        [AWS_CLI, "s3", *args, "--only-show-errors"],
        env=watcher_env(site.stack.endpoint),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr


def _checkout(root: Path, files: dict[str, str]) -> Path:
    """A fresh checkout of the site: every file written now, so every mtime is new."""
    stamp = time.time() + 2  # later than any earlier checkout, to the second the CLI compares
    for key, body in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        os.utime(path, (stamp, stamp))
    return root


def _announce_new_versions(site: VersionedSite, known: set[str]) -> int:
    """Publish S3's record for each version not seen yet (oldest first); returns how many."""
    versions = site.s3.list_object_versions(Bucket=site.stack.bucket)["Versions"]
    new = sorted((v for v in versions if v["VersionId"] not in known), key=lambda v: v["LastModified"])
    for version in new:
        known.add(version["VersionId"])
        site.announce(
            "ObjectCreated:Put", Written(version["Key"], version["VersionId"], version["ETag"].strip('"'))
        )
    return len(new)


def _settled(site: VersionedSite, watcher: Watcher, writes: int) -> None:
    def count(outcome: str) -> float:
        labels = {"source": "sqs", "outcome": outcome}
        return watcher.metrics.registry.get_sample_value("cloudfront_watcher_events_total", labels) or 0.0

    wait_until(
        lambda: (
            count("unchanged") + count("accepted") >= writes
            and site.stack.queue_depth() == 0
            and not watcher.pipeline.busy
        ),
        timeout=60,
        what=f"{writes} writes settled",
    )


@pytest.fixture
def site(moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> VersionedSite:
    """GIVEN the demo site synced once into a versioned bucket (before the watcher runs)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    site = versioned_site(moto_server)
    _aws(site, "sync", str(_checkout(tmp_path / "first", DEMO_SITE)), f"s3://{site.stack.bucket}/")
    return site


def test_a_ci_sync_of_an_unchanged_checkout_invalidates_nothing(site: VersionedSite, tmp_path: Path) -> None:
    known = {v["VersionId"] for v in site.s3.list_object_versions(Bucket=site.stack.bucket)["Versions"]}
    with running_watcher(settings_for(site.stack)) as watcher:
        # WHEN CI syncs a fresh checkout of the same site: the CLI re-uploads every file
        _aws(site, "sync", str(_checkout(tmp_path / "ci", DEMO_SITE)), f"s3://{site.stack.bucket}/")
        writes = _announce_new_versions(site, known)
        assert writes == len(DEMO_SITE)
        _settled(site, watcher, writes)
    # THEN no invalidation at all
    assert site.stack.invalidations() == []


def test_a_ci_sync_with_two_edits_and_one_header_change_invalidates_exactly_those(
    site: VersionedSite, tmp_path: Path
) -> None:
    known = {v["VersionId"] for v in site.s3.list_object_versions(Bucket=site.stack.bucket)["Versions"]}
    edited = {**DEMO_SITE, "about/index.html": "<h1>About us</h1>", "assets/app.js": "console.log('v3')"}
    with running_watcher(settings_for(site.stack, invalidation={"quiet_period_seconds": 2})) as watcher:
        # WHEN CI syncs a fresh checkout with two files edited (every file re-uploaded) ...
        _aws(site, "sync", str(_checkout(tmp_path / "ci", edited)), f"s3://{site.stack.bucket}/")
        # ... and a later step re-uploads the stylesheet with a new Cache-Control
        css = str(tmp_path / "ci" / "assets" / "style.css")
        _aws(site, "cp", css, f"s3://{site.stack.bucket}/assets/style.css", "--cache-control", "max-age=600")
        writes = _announce_new_versions(site, known)
        assert writes == len(DEMO_SITE) + 1
        _settled(site, watcher, writes)
    # THEN exactly those paths (and the edited index's directory path) are invalidated
    paths = {path for invalidation in site.stack.invalidations() for path in invalidation["paths"]}
    assert paths == {"/about/index.html", "/about/", "/assets/app.js", "/assets/style.css"}
