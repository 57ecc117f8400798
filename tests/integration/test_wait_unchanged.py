"""`watcher wait` in a versioned bucket: an unchanged write needs no invalidation of its own.

A write after TIME whose content (bytes and cached headers) equals the version before it
is dated by that version instead: if that one is older than TIME, nothing is needed; if
it is itself a change after TIME, its own invalidation still counts (README "What counts
as a change").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.site import config_toml, settings_for
from tests.support.versioned import VersionedSite, versioned_site
from watcher.cli import main


@dataclass
class Waiting:
    site: VersionedSite
    config: Path
    cloudfront_url: str
    since: str

    def invalidate(self, *paths: str) -> None:
        client = boto3.client("cloudfront", endpoint_url=self.cloudfront_url, region_name="us-east-1")
        client.create_invalidation(
            DistributionId=self.site.stack.distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": list(paths)},
                "CallerReference": f"t-{time.time_ns()}",
            },
        )

    def wait(self, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        args = [
            "wait",
            "--config",
            str(self.config),
            "--since",
            self.since,
            "--interval",
            "1",
            "--timeout",
            "2",
            "--clock-skew",  # the first deploy is 1 s before TIME: outside the window, by design here
            "0",
        ]
        code = main(args)
        return code, capsys.readouterr().out


@pytest.fixture
def waiting(moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Waiting]:
    """GIVEN a versioned site with index.html and a.html deployed before TIME."""
    site = versioned_site(moto_server)
    site.put("index.html", "<h1>Home</h1>", announce=False, ContentType="text/html")
    site.put("a.html", "<p>a</p>", announce=False, ContentType="text/html")
    time.sleep(1.1)  # S3 keeps whole seconds: TIME must be a later second than the first deploy
    since = datetime.now(UTC).isoformat()
    with StrictCloudFront(moto_server, complete_after=0) as cloudfront:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        config = tmp_path / "config.toml"
        config.write_text(config_toml(settings_for(site.stack)))
        yield Waiting(site, config, cloudfront.url, since)


def test_a_re_upload_of_identical_files_needs_no_invalidation(
    waiting: Waiting, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN after TIME a CI sync re-uploads both files unchanged
    waiting.site.put("index.html", "<h1>Home</h1>", announce=False, ContentType="text/html")
    waiting.site.put("a.html", "<p>a</p>", announce=False, ContentType="text/html")
    # THEN wait has nothing to wait for
    code, out = waiting.wait(capsys)
    assert code == 0, out


def test_only_the_edited_file_is_waited_for(waiting: Waiting, capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN after TIME index.html is re-uploaded unchanged and a.html edited
    waiting.site.put("index.html", "<h1>Home</h1>", announce=False, ContentType="text/html")
    waiting.site.put("a.html", "<p>a, edited</p>", announce=False, ContentType="text/html")
    # THEN wait names /a.html only, and is satisfied by its invalidation
    code, out = waiting.wait(capsys)
    assert code == 1
    assert "/a.html" in out
    assert "/index.html" not in out
    waiting.invalidate("/a.html")
    code, out = waiting.wait(capsys)
    assert code == 0, out


def test_an_identical_write_after_a_change_after_time_still_needs_that_change_covered(
    waiting: Waiting, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN after TIME a.html is edited, then the edited bytes are uploaded once more
    waiting.site.put("a.html", "<p>a, edited</p>", announce=False, ContentType="text/html")
    waiting.site.put("a.html", "<p>a, edited</p>", announce=False, ContentType="text/html")
    # THEN the edit still needs its invalidation
    code, out = waiting.wait(capsys)
    assert code == 1
    assert "/a.html" in out
