"""`watcher wait`: a CI job learns when its deploy is live, through the strict CloudFront stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.site import config_toml, make_stack, run_cli, running_watcher, settings_for, watcher_env
from tests.support.wait_site import Deploy, deploy_site
from watcher.cli import main
from watcher.commands.demo.emulator import create_distribution


@pytest.fixture
def deploy(moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deploy]:
    with deploy_site(moto_server, tmp_path, monkeypatch) as site:
        yield site


def _wait(capsys: pytest.CaptureFixture[str], config: Path, since: str, *extra: str) -> tuple[int, str, str]:
    code = main(["wait", "--config", str(config), "--since", since, "--interval", "1", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _now() -> str:
    return datetime.now(UTC).isoformat()


def test_wait_returns_only_after_the_covering_invalidation_completes(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the watcher running, and CloudFront keeping invalidations InProgress for 2 s (two looks of wait)
    stack = make_stack(moto_server)
    with StrictCloudFront(moto_server, complete_after=2) as cloudfront:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        # quiet 1.5 s: the flush is after the end of the second of the writes (or it would not count)
        settings = settings_for(stack, invalidation={"quiet_period_seconds": 1.5})
        config = tmp_path / "config.toml"
        config.write_text(config_toml(settings))
        with running_watcher(settings):
            # WHEN a CI job records the start, deploys, and waits with a 1 s interval
            since = _now()
            stack.deploy({"index.html": "<h1>v2</h1>", "docs/a b.html": "doc"})
            code = main(["wait", "--config", str(config), "--since", since, "--interval", "1"])
            returned = time.monotonic()
        out = capsys.readouterr().out
    # THEN it succeeded, not before CloudFront said Completed and within one interval after
    assert code == 0, out
    [invalidation] = cloudfront.invalidations
    assert {"/index.html", "/", "/docs/a%20b.html"} <= set(invalidation.paths)
    completed_at = invalidation.started_at + cloudfront.complete_after
    late = returned - completed_at
    print(f"wait returned {late:.2f} s after Completed (interval 1 s)")
    assert late >= 0
    assert late <= 1 + 1.5  # one interval, plus the calls of one look on a busy machine
    assert "live: 3 paths" in out


def test_a_partly_invalidated_deploy_times_out_naming_the_missing_paths(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a deploy of three files of which only one was invalidated
    since = _now()
    deploy.stack.deploy({"a.html": "a", "b.html": "b", "c/index.html": "c"})
    deploy.invalidate_later(["/a.html"])
    # WHEN a CI job waits for 2 s
    code, out, _ = _wait(capsys, deploy.config, since, "--timeout", "2")
    # THEN it exits 1 naming the missing paths, not the invalidated one
    assert code == 1
    assert "3 path(s) not yet covered" in out
    dist = deploy.stack.distribution_id
    pending = [line.split()[1] for line in out.splitlines() if line.startswith(f"  {dist} /")]
    assert sorted(pending) == ["/b.html", "/c/", "/c/index.html"]


def test_deletes_from_keys_from_must_be_invalidated_too(
    deploy: Deploy, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an unversioned bucket where a deploy deleted old.html (no listing shows it)
    since = _now()
    keys = tmp_path / "deleted.txt"
    keys.write_text(f"# deleted by the sync\ns3://{deploy.stack.bucket}/old.html\n\n")
    # WHEN nothing invalidated it yet
    code, out, _ = _wait(capsys, deploy.config, since, "--keys-from", str(keys), "--timeout", "1")
    # THEN the delete is pending
    assert code == 1
    assert "/old.html" in out
    # AND once an invalidation made while wait waits covers it (a wildcard), wait succeeds,
    # reading keys from stdin too (a delete leaves no date in an unversioned bucket: wait's start dates it)
    deploy.cloudfront.on_list(lambda n: n == 2 and deploy.add(["/o*"]))
    monkeypatch.setattr("sys.stdin", keys.open())
    code, out, _ = _wait(capsys, deploy.config, since, "--keys-from", "-", "--timeout", "10")
    assert code == 0, out


def test_delete_markers_of_a_versioned_bucket_count_as_changes(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a versioned bucket where old.html existed and is now deleted
    s3 = deploy.stack.s3
    bucket = deploy.stack.bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="old.html", Body=b"old")
    deploy.invalidate(["/old.html"])
    since = (datetime.now(UTC) + timedelta(seconds=1.1)).isoformat()
    time.sleep(1.2)  # S3 and CloudFront keep whole seconds: the delete must be a later second
    s3.delete_object(Bucket=bucket, Key="old.html")
    # WHEN waiting without an invalidation after the delete
    code, out, _ = _wait(capsys, deploy.config, since, "--timeout", "1")
    # THEN the delete marker is pending (the earlier invalidation does not count)
    assert code == 1
    assert "/old.html" in out
    # AND once invalidated, wait succeeds
    deploy.invalidate(["/old.html"])
    code, out, _ = _wait(capsys, deploy.config, since, "--timeout", "10")
    assert code == 0, out


def test_a_prefix_site_on_a_second_distribution_needs_both(
    deploy: Deploy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN one bucket: the root site on one distribution, blog/ as its own site on another
    stack = deploy.stack
    blog_distribution = create_distribution(stack.cloudfront, stack.bucket)
    sites = [
        {"bucket": stack.bucket, "distribution_id": stack.distribution_id},
        {"bucket": stack.bucket, "distribution_id": blog_distribution, "prefix": "blog/"},
    ]
    settings = settings_for(stack, sites=sites)  # type: ignore[arg-type]  # sites is a list, not a table
    config = tmp_path / "two.toml"
    config.write_text(config_toml(settings))
    since = str(int(time.time()))  # epoch seconds
    stack.deploy({"blog/post.html": "p"})
    # WHEN only the root distribution got an invalidation
    deploy.invalidate_later(["/blog/post.html"])
    code, out, _ = _wait(capsys, config, since, "--timeout", "1")
    # THEN the blog distribution's path is pending
    assert code == 1
    assert f"{blog_distribution} /post.html" in out
    assert f"{stack.distribution_id} /blog/post.html" not in out
    # AND a wildcard on the blog distribution completes it
    deploy.invalidate(["/*"], blog_distribution)
    code, out, _ = _wait(capsys, config, since, "--timeout", "10")
    assert code == 0, out
    assert "2 distribution(s)" in out


def test_nothing_changed_is_live_at_once(deploy: Deploy, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _wait(capsys, deploy.config, _now(), "--timeout", "5")
    assert code == 0
    assert "nothing to wait for" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "not a time"),
        (["--since", "2026-11-29T10:00:00"], "add a time zone"),
        (["--since", "NOW", "--keys-from", "KEYS"], "no configured site serves s3://other-bucket/x.html"),
        (["--since", "NOW", "--config", "/nonexistent/config.toml"], "config file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    deploy: Deploy,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("s3://other-bucket/x.html\n")
    filled = [_now() if a == "NOW" else str(keys) if a == "KEYS" else a for a in args]
    if "--config" not in filled:
        filled = ["--config", str(deploy.config), *filled]
    code = main(["wait", *filled])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert message in err
    assert deploy.cloudfront.count("ListInvalidations") == 0


def test_cloudfront_errors_while_waiting_are_retried_at_the_next_interval(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an invalidated deploy, and CloudFront failing the first listings and the first describe
    since = _now()
    deploy.stack.deploy({"a.html": "a"})
    deploy.invalidate_later(["/a.html"])
    deploy.cloudfront.inject("503", 2, match=lambda r: r.action == "ListInvalidations")
    deploy.cloudfront.inject("throttle", 1, match=lambda r: r.action == "GetInvalidation")
    # WHEN a CI job waits
    code, out, _ = _wait(capsys, deploy.config, since, "--timeout", "20")
    # THEN the errors only cost intervals: it succeeds, having asked again
    assert code == 0, out
    assert deploy.cloudfront.count("ListInvalidations", fault="503") == 2
    assert deploy.cloudfront.count("GetInvalidation") == 2  # the throttled one, then one that answered


def test_the_console_script_exits_2_with_one_line_for_a_missing_config(moto_server: str) -> None:
    # GIVEN no config file WHEN the installed `watcher wait` runs THEN one line and exit 2
    result = run_cli(
        ["wait", "--config", "/nonexistent/config.toml", "--since", "1700000000"],
        env=watcher_env(moto_server),
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "config file not found" in result.stderr
