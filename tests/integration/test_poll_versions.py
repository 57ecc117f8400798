"""Poll mode in a versioned bucket: a re-upload with the committed ETag is compared, not assumed.

moto keeps LastModified to the second, as S3 lists it: a re-upload must land in a later
second for the poller to see it at all, hence the short sleeps.
"""

from __future__ import annotations

import time

import pytest

from tests.support.poll_site import PollSite, make_poll_site, poll_settings
from tests.support.site import running_watcher
from tests.support.waiting import wait_until
from watcher.app import Watcher

HOME = "<h1>Home</h1>"


@pytest.fixture(autouse=True)
def _endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)


def _versioned_site(endpoint: str) -> PollSite:
    """GIVEN a versioned bucket whose index.html was deployed with a Cache-Control."""
    site = make_poll_site(endpoint, files={})
    site.s3.put_bucket_versioning(Bucket=site.bucket, VersioningConfiguration={"Status": "Enabled"})
    site.s3.put_object(Bucket=site.bucket, Key="index.html", Body=HOME.encode(), CacheControl="max-age=60")
    return site


def _unchanged(watcher: Watcher) -> float:
    labels = {"source": "poll", "outcome": "unchanged"}
    return watcher.metrics.registry.get_sample_value("cloudfront_watcher_events_total", labels) or 0.0


def _baseline(watcher: Watcher) -> None:
    poll = watcher.poll
    assert poll is not None
    wait_until(lambda: poll.last_cycle is not None and poll.last_cycle.outcome == "baseline")
    time.sleep(1.1)  # the re-upload below must be listed with a later LastModified


def test_a_re_upload_of_the_same_bytes_and_headers_is_not_invalidated(moto_server: str) -> None:
    site = _versioned_site(moto_server)
    with running_watcher(poll_settings(site)) as watcher:
        _baseline(watcher)
        assert watcher.poll is not None
        # WHEN index.html is uploaded again unchanged (a new version, the same ETag)
        site.s3.put_object(
            Bucket=site.bucket, Key="index.html", Body=HOME.encode(), CacheControl="max-age=60"
        )
        # THEN the cycle compares it with the committed version: no change, and it is committed
        assert watcher.poll.run_cycle().changes == 0
        assert _unchanged(watcher) == 1
        assert watcher.poll.run_cycle().changes == 0
        assert site.paths() == []


def test_a_re_upload_with_a_new_cache_control_is_invalidated(moto_server: str) -> None:
    site = _versioned_site(moto_server)
    with running_watcher(poll_settings(site)) as watcher:
        _baseline(watcher)
        assert watcher.poll is not None
        # WHEN the same bytes are uploaded with another Cache-Control (the ETag stays)
        site.s3.put_object(Bucket=site.bucket, Key="index.html", Body=HOME.encode(), CacheControl="no-cache")
        # THEN it is a change
        assert watcher.poll.run_cycle().changes == 1
        wait_until(lambda: watcher.poll is not None and watcher.poll.pending == 0)
        assert site.paths() == [{"/index.html", "/"}]
        assert _unchanged(watcher) == 0


def test_in_an_unversioned_bucket_a_re_upload_stays_a_change(moto_server: str) -> None:
    # GIVEN an unversioned bucket: nothing to compare the headers of the old upload with
    site = make_poll_site(moto_server, files={"index.html": HOME})
    with running_watcher(poll_settings(site)) as watcher:
        _baseline(watcher)
        assert watcher.poll is not None
        site.put("index.html", HOME)
        assert watcher.poll.run_cycle().changes == 1
