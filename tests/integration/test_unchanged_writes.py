"""What counts as a change, end to end: a running watcher, a versioned bucket on moto.

moto's S3 notifications lack `versionId` (real S3 sends it in every record of a
versioned bucket), so these buckets have no notification: tests/support/versioned.py
publishes each write's record as S3 would, with the version id S3 gave the write.
The unversioned case uses moto's own notifications, which are faithful there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.support.site import config_toml, make_stack, running_watcher, settings_for
from tests.support.versioned import VersionedSite, Written, versioned_site
from tests.support.waiting import wait_until
from watcher.app import Watcher
from watcher.cli import main

HOME = "<h1>Home</h1>"


def _events(watcher: Watcher, outcome: str) -> float:
    value = watcher.metrics.registry.get_sample_value(
        "cloudfront_watcher_events_total", {"source": "sqs", "outcome": outcome}
    )
    return value or 0.0


def _paths(site: VersionedSite) -> list[set[str]]:
    return [set(invalidation["paths"]) for invalidation in site.stack.invalidations()]


@contextmanager
def _watching(site: VersionedSite) -> Iterator[Watcher]:
    with running_watcher(settings_for(site.stack)) as watcher:
        yield watcher


def _drained(site: VersionedSite, watcher: Watcher, settled: int) -> None:
    """Wait until `settled` writes were compared or invalidated and the queue is empty."""
    wait_until(
        lambda: (
            _events(watcher, "unchanged") + _events(watcher, "accepted") >= settled
            and site.stack.queue_depth() == 0
            and not watcher.pipeline.busy
        ),
        timeout=30,
        what=f"{settled} changes settled and the queue empty",
    )


@pytest.fixture(autouse=True)
def _endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)


@pytest.fixture
def site(moto_server: str) -> VersionedSite:
    """GIVEN a versioned bucket whose index.html is already deployed (before the watcher runs)."""
    site = versioned_site(moto_server)
    site.put("index.html", HOME, announce=False, ContentType="text/html", CacheControl="max-age=60")
    return site


def test_an_identical_re_upload_is_acknowledged_without_an_invalidation(site: VersionedSite) -> None:
    with _watching(site) as watcher:
        # WHEN index.html is uploaded again, same bytes, same headers (a CI sync of a fresh checkout)
        site.put("index.html", HOME, ContentType="text/html", CacheControl="max-age=60")
        _drained(site, watcher, settled=1)
        # THEN no invalidation, the write is counted unchanged, and its message is deleted
        assert _paths(site) == []
        assert _events(watcher, "unchanged") == 1
        assert _events(watcher, "accepted") == 0
        assert watcher.followup.status("")[1].count(b'"unchanged_writes":1') == 1


def test_new_bytes_are_invalidated(site: VersionedSite) -> None:
    with _watching(site) as watcher:
        # WHEN index.html gets new content
        site.put("index.html", "<h1>Home, edited</h1>", ContentType="text/html", CacheControl="max-age=60")
        _drained(site, watcher, settled=1)
        # THEN it is invalidated (with its directory path)
        assert _paths(site) == [{"/index.html", "/"}]
        assert _events(watcher, "unchanged") == 0


def test_same_bytes_with_a_new_cache_control_are_invalidated(site: VersionedSite) -> None:
    with _watching(site) as watcher:
        # WHEN the same bytes are uploaded with another Cache-Control (CloudFront caches the header)
        site.put("index.html", HOME, ContentType="text/html", CacheControl="max-age=3600")
        _drained(site, watcher, settled=1)
        # THEN it is a change
        assert _paths(site) == [{"/index.html", "/"}]


def test_same_bytes_with_new_user_metadata_are_invalidated(site: VersionedSite) -> None:
    with _watching(site) as watcher:
        site.put(
            "index.html", HOME, ContentType="text/html", CacheControl="max-age=60", Metadata={"build": "42"}
        )
        _drained(site, watcher, settled=1)
        assert _paths(site) == [{"/index.html", "/"}]


def test_a_delete_then_an_identical_re_create_is_invalidated(site: VersionedSite) -> None:
    with _watching(site) as watcher:
        # WHEN index.html is deleted, then re-created with the very same bytes and headers
        site.delete("index.html")
        site.put("index.html", HOME, ContentType="text/html", CacheControl="max-age=60")
        _drained(site, watcher, settled=2)
        # THEN both are changes (the edge may have cached the 404 of the delete marker)
        assert set().union(*_paths(site)) == {"/index.html", "/"}
        assert _events(watcher, "unchanged") == 0
        assert _events(watcher, "accepted") == 2


def test_a_noncurrent_version_expired_by_lifecycle_is_not_invalidated(site: VersionedSite) -> None:
    # GIVEN a second, current version of index.html
    site.put("index.html", "<h1>v2</h1>", announce=False, ContentType="text/html")
    first = site.s3.list_object_versions(Bucket=site.stack.bucket, Prefix="index.html")["Versions"][-1]
    with _watching(site) as watcher:
        # WHEN the lifecycle rule expires the first (noncurrent) version
        site.expire(Written("index.html", first["VersionId"], ""))
        wait_until(lambda: _events(watcher, "ignored") == 1 and site.stack.queue_depth() == 0, timeout=30)
        # THEN nothing served changed: no invalidation
        assert _paths(site) == []


def test_versions_delivered_in_reverse_order_invalidate_the_one_that_changed(site: VersionedSite) -> None:
    # GIVEN v2 (new bytes) then v3 (the same as v2) were written
    v2 = site.put("index.html", "<h1>v2</h1>", announce=False, ContentType="text/html")
    v3 = site.put("index.html", "<h1>v2</h1>", announce=False, ContentType="text/html")
    with _watching(site) as watcher:
        # WHEN their events arrive in reverse order
        site.announce("ObjectCreated:Put", v3)
        site.announce("ObjectCreated:Put", v2)
        _drained(site, watcher, settled=2)
        # THEN v3 is unchanged (same as v2) and v2 is a change (not v1): the path is invalidated
        assert set().union(*_paths(site)) == {"/index.html", "/"}
        assert (_events(watcher, "unchanged"), _events(watcher, "accepted")) == (1, 1)


def test_in_an_unversioned_bucket_every_write_is_a_change(moto_server: str) -> None:
    # GIVEN an unversioned bucket wired to the queue by moto's own notifications (no versionId there)
    stack = make_stack(moto_server)
    stack.deploy({"index.html": HOME})
    with running_watcher(settings_for(stack)) as watcher:
        wait_until(lambda: len(stack.invalidations()) == 1, timeout=30, what="the first deploy")
        # WHEN the very same bytes are uploaded again
        stack.deploy({"index.html": HOME})
        # THEN it is invalidated again: without versions there is nothing to compare with
        wait_until(lambda: len(stack.invalidations()) == 2, timeout=30, what="the re-upload invalidated")
        assert _events(watcher, "unchanged") == 0


def test_explain_deploy_shows_the_unchanged_writes_and_leaves_them_out_of_the_plan(
    site: VersionedSite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a deploy that re-uploaded index.html unchanged and wrote a new a.html
    site.put("index.html", HOME, announce=False, ContentType="text/html", CacheControl="max-age=60")
    site.put("a.html", "<p>a</p>", announce=False)
    deploy = tmp_path / "deploy.txt"
    deploy.write_text(f"s3://{site.stack.bucket}/index.html\ns3://{site.stack.bucket}/a.html\n")
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(site.stack)))
    # WHEN explain --deploy runs
    assert main(["explain", "--config", str(config), "--deploy", str(deploy)]) == 0
    out = capsys.readouterr().out
    # THEN it names the unchanged write, and the plans cover a.html only
    assert (
        f"1 write(s) unchanged (same content as the version before them): s3://{site.stack.bucket}/index.html"
        in out
    )
    assert "1 changed objects, 1 paths" in out
    assert "      /a.html" in out
    assert "      /index.html" not in out


def test_a_dry_run_logs_which_writes_are_unchanged(site: VersionedSite) -> None:
    # GIVEN a dry run beside production
    with (
        capture_logs() as logs,
        running_watcher(settings_for(site.stack, watcher={"dry_run": True})) as watcher,
    ):
        # WHEN index.html is re-uploaded unchanged and a.html written
        site.put("index.html", HOME, ContentType="text/html", CacheControl="max-age=60")
        site.put("a.html", "<p>a</p>")
        wait_until(
            lambda: (
                _events(watcher, "unchanged") + _events(watcher, "accepted") >= 2
                and not watcher.pipeline.busy
            ),
            timeout=30,
        )
    # THEN its flush log names the unchanged write, and nothing was invalidated
    (line,) = [log for log in logs if log["event"] == "unchanged writes acknowledged without an invalidation"]
    assert (line["unchanged"], line["keys"]) == (1, ["index.html"])
    assert _paths(site) == []
