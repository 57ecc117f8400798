"""`watcher wait` is never wrong: the cases of issue 23, each through the command line.

moto serves S3; the strict CloudFront stand-in serves invalidations with CloudFront's
millisecond CreateTime and InProgress -> Completed. Where moto is not S3 (it dates a
multipart object at its completion) the test makes it S3 and says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.wait_site import Deploy, date_multipart_at_initiation, deploy_site
from watcher.cli import main


@pytest.fixture
def deploy(moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deploy]:
    with deploy_site(moto_server, tmp_path, monkeypatch) as site:
        yield site


def _wait(capsys: pytest.CaptureFixture[str], config: Path, since: datetime, *extra: str) -> tuple[int, str]:
    code = main(["wait", "--config", str(config), "--since", since.isoformat(), "--interval", "1", *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _pending(out: str, distribution_id: str) -> list[str]:
    return sorted(line.split()[1] for line in out.splitlines() if line.startswith(f"  {distribution_id} /"))


def _now() -> datetime:
    return datetime.now(UTC)


def _last_modified(deploy: Deploy, key: str) -> datetime:
    return deploy.stack.s3.head_object(Bucket=deploy.stack.bucket, Key=key)["LastModified"]


# -- 2. deletes are dated by what S3 knows of them ------------------------------------


def test_an_unversioned_delete_needs_an_invalidation_made_after_wait_started(
    deploy: Deploy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an unversioned bucket whose deploy deleted old.html (nothing to list: S3 keeps no trace)
    since = _now() - timedelta(seconds=30)
    keys = tmp_path / "deleted.txt"
    keys.write_text(f"s3://{deploy.stack.bucket}/old.html\n")
    # AND a wildcard made before wait started (another deploy's, or a flush in the middle of the sync)
    deploy.add(["/*"], create_time=_now() - timedelta(seconds=10))
    # WHEN wait runs
    code, out = _wait(capsys, deploy.config, since, "--keys-from", str(keys), "--timeout", "2")
    # THEN the delete is pending: it may have happened after that wildcard
    assert code == 1, out
    assert _pending(out, deploy.stack.distribution_id) == ["/old.html"]
    # AND an invalidation made while wait waits covers it
    deploy.cloudfront.on_list(lambda n: n == 2 and deploy.add(["/old.html"]))
    code, out = _wait(capsys, deploy.config, since, "--keys-from", str(keys), "--timeout", "10")
    assert code == 0, out


def test_a_versioned_delete_is_dated_by_its_delete_marker(
    deploy: Deploy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a versioned bucket where old.html was deleted by the deploy
    s3, bucket = deploy.stack.s3, deploy.stack.bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="old.html", Body=b"old")
    since = _now() - timedelta(seconds=30)
    s3.delete_object(Bucket=bucket, Key="old.html")
    marker = s3.list_object_versions(Bucket=bucket, Prefix="old.html")["DeleteMarkers"][0]["LastModified"]
    keys = tmp_path / "deleted.txt"
    keys.write_text(f"s3://{bucket}/old.html\n")
    # AND an invalidation created (by CloudFront's clock) 2 s before the delete marker
    deploy.add(["/old.html"], create_time=marker - timedelta(seconds=2))
    code, out = _wait(capsys, deploy.config, since, "--keys-from", str(keys), "--timeout", "2")
    # THEN it does not count
    assert code == 1, out
    assert _pending(out, deploy.stack.distribution_id) == ["/old.html"]
    # AND one created after the marker's second does, although wait started after it
    deploy.add(["/old.html"], create_time=marker + timedelta(seconds=1))
    code, out = _wait(capsys, deploy.config, since, "--keys-from", str(keys), "--timeout", "5")
    assert code == 0, out


# -- 3. the end-of-second rule -------------------------------------------------------


def test_an_invalidation_in_the_second_of_the_write_does_not_count(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a write that S3 dates to the second S (LastModified has no fraction)
    since = _now() - timedelta(seconds=30)
    deploy.stack.deploy({"a.html": "a"})
    second = _last_modified(deploy, "a.html")
    # AND a Completed invalidation created at S + 0.6 s: maybe 0.4 s before the write
    deploy.add(["/a.html"], create_time=second + timedelta(seconds=0.6))
    # WHEN wait runs THEN it does not count
    code, out = _wait(capsys, deploy.config, since, "--timeout", "2")
    assert code == 1, out
    assert _pending(out, deploy.stack.distribution_id) == ["/a.html"]
    # AND one created at S + 1 s, after the end of that second, does
    deploy.add(["/a.html"], create_time=second + timedelta(seconds=1))
    code, out = _wait(capsys, deploy.config, since, "--timeout", "5")
    assert code == 0, out


# -- 4. a runner clock ahead of S3's -------------------------------------------------


def test_a_runner_clock_ahead_of_s3_still_sees_the_write(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a write, and a CI runner whose clock is 20 s ahead: its --since is 20 s after the write
    deploy.stack.deploy({"a.html": "a", "b.html": "b"})
    since = _now() + timedelta(seconds=20)
    deploy.add(["/b.html"], create_time=_last_modified(deploy, "b.html") + timedelta(seconds=1))
    # WHEN wait runs with the default --clock-skew (120 s)
    code, out = _wait(capsys, deploy.config, since, "--timeout", "2")
    # THEN the write is pending, b.html (already covered) costs nothing, and the output says why
    assert code == 1, out
    assert _pending(out, deploy.stack.distribution_id) == ["/a.html"]
    assert "--clock-skew 120" in out
    # AND --clock-skew 0 takes TIME as it is
    code, out = _wait(capsys, deploy.config, since, "--timeout", "2", "--clock-skew", "0")
    assert code == 0, out
    assert "nothing to wait for" in out


# -- 5. what changes while wait waits ------------------------------------------------


def test_a_write_during_the_wait_is_waited_for(deploy: Deploy, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a deploy of a.html, invalidated and Completed
    since = _now() - timedelta(seconds=5)
    deploy.stack.deploy({"a.html": "a"})
    deploy.add(["/a.html"], create_time=_last_modified(deploy, "a.html") + timedelta(seconds=1))
    # AND b.html written while wait looks at CloudFront (after it listed the site)

    def write_b(number: int) -> None:
        if number == 1:
            deploy.stack.deploy({"b.html": "b"})

    deploy.cloudfront.on_list(write_b)
    # WHEN wait runs THEN it lists again before saying live, and waits for b.html
    code, out = _wait(capsys, deploy.config, since, "--timeout", "3")
    assert code == 1, out
    assert _pending(out, deploy.stack.distribution_id) == ["/b.html"]


@pytest.mark.parametrize("rollback", ["delete the newest version", "remove the delete marker"])
def test_a_rollback_during_the_wait_is_waited_for(
    deploy: Deploy, capsys: pytest.CaptureFixture[str], rollback: str
) -> None:
    # GIVEN a versioned bucket: a.html v1 long ago (outside the window: --clock-skew 0)
    s3, bucket = deploy.stack.s3, deploy.stack.bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="a.html", Body=b"v1")
    since = _last_modified(deploy, "a.html") + timedelta(seconds=1)
    time.sleep(max(0.0, (since - _now()).total_seconds()))  # S3 dates to the second: a later one
    # AND the deploy (v2, or a delete), invalidated and Completed
    if rollback == "delete the newest version":
        change = s3.put_object(Bucket=bucket, Key="a.html", Body=b"v2")["VersionId"]
    else:
        change = s3.delete_object(Bucket=bucket, Key="a.html")["VersionId"]
    versions = s3.list_object_versions(Bucket=bucket, Prefix="a.html")
    changed = next(
        v for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []) if v["IsLatest"]
    )
    covered_at = changed["LastModified"] + timedelta(seconds=1)
    deploy.add(["/a.html"], create_time=covered_at)

    # AND the deploy rolled back while wait looks at CloudFront (after that invalidation): v1 is back
    def roll_back(number: int) -> None:
        if number == 1:
            time.sleep(max(0.0, (covered_at - _now()).total_seconds() + 0.2))
            s3.delete_object(Bucket=bucket, Key="a.html", VersionId=change)

    deploy.cloudfront.on_list(roll_back)
    # WHEN wait runs THEN the rollback is a change to cover
    code, out = _wait(capsys, deploy.config, since, "--timeout", "3", "--clock-skew", "0")
    assert code == 1, out
    assert _pending(out, deploy.stack.distribution_id) == ["/a.html"]


# -- 6. multipart uploads ------------------------------------------------------------


def test_an_invalidation_made_during_a_multipart_upload_does_not_count(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a 10 s multipart upload of video.mp4 (S3 dates it at its initiation: see the helper)
    s3, bucket = deploy.stack.s3, deploy.stack.bucket
    since = _now() - timedelta(seconds=60)
    initiated = _now() - timedelta(seconds=10)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="video.mp4")["UploadId"]
    parts: list[Any] = [
        {"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="video.mp4", UploadId=upload,
                                                  PartNumber=n, Body=body)["ETag"]}
        for n, body in ((1, b"v" * 5 * 1024 * 1024), (2, b"end"))
    ]  # fmt: skip
    s3.complete_multipart_upload(
        Bucket=bucket, Key="video.mp4", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    date_multipart_at_initiation(bucket, "video.mp4", initiated)
    # AND an invalidation created 5 s into the upload (after its LastModified, before its completion)
    deploy.add(["/video.mp4"], create_time=initiated + timedelta(seconds=5))
    # WHEN wait runs THEN it does not count: the old bytes may have been cached again after it
    code, out = _wait(capsys, deploy.config, since, "--timeout", "2")
    assert code == 1, out
    assert _pending(out, deploy.stack.distribution_id) == ["/video.mp4"]


# -- 7. paging and refreshing ListInvalidations ---------------------------------------


def test_a_covering_invalidation_behind_a_throttled_describe_on_page_2_is_found(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a.html covered by a Completed invalidation, then 150 newer unrelated ones
    since = _now() - timedelta(seconds=60)
    deploy.stack.deploy({"a.html": "a"})
    covering = deploy.add(["/a.html"], create_time=_now() + timedelta(seconds=1))
    for n in range(150):
        deploy.add([f"/other/{n}.html"], create_time=_now() + timedelta(seconds=2, milliseconds=n))
    # AND CloudFront throttles the describe of the covering one, on page 2, three times
    deploy.cloudfront.inject("throttle", 3, match=lambda r: r.path.endswith(covering.id))
    # WHEN wait runs THEN it finds it (page 2 again, or a retry): live, within the timeout
    code, out = _wait(capsys, deploy.config, since, "--timeout", "40")  # 151 describes on a busy machine
    assert code == 0, out


def test_an_in_progress_invalidation_pushed_past_the_first_page_is_refreshed(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with deploy_site(moto_server, tmp_path, monkeypatch, complete_after=3600) as deploy:
        # GIVEN a.html covered by an invalidation InProgress
        since = _now() - timedelta(seconds=60)
        deploy.stack.deploy({"a.html": "a"})
        covering = deploy.add(["/a.html"], create_time=_now() + timedelta(seconds=1))
        cloudfront = deploy.cloudfront

        # AND, between looks, 60 then 60 more unrelated invalidations, and then it completes
        def between_looks(number: int) -> None:
            if number in (2, 3):
                for n in range(60):
                    deploy.add([f"/other/{number}/{n}"], create_time=_now() + timedelta(seconds=2))
            if number == 3:
                cloudfront.complete(covering.id)

        cloudfront.on_list(between_looks)
        # WHEN wait runs THEN it sees it Completed although it is on page 2 by then
        code, out = _wait(capsys, deploy.config, since, "--timeout", "30")
        assert code == 0, out
        # AND a look costs one ListInvalidations, GetInvalidation only for new or awaited ones
        assert cloudfront.count("GetInvalidation") <= 1 + 120 + 4


# -- 8. what the site does not serve -------------------------------------------------


def test_a_deleted_key_the_site_excludes_owes_nothing(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a site that excludes drafts/, and a sync log deleting a draft
    with deploy_site(moto_server, tmp_path, monkeypatch, site={"exclude": ["drafts/**"]}) as deploy:
        keys = tmp_path / "deleted.txt"
        keys.write_text(f"s3://{deploy.stack.bucket}/drafts/x.html\n")
        # WHEN wait runs THEN that key needs no invalidation: nothing to wait for
        code, out = _wait(capsys, deploy.config, _now(), "--keys-from", str(keys), "--timeout", "2")
    assert code == 0, out
    assert "nothing to wait for" in out
