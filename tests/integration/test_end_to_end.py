"""The watcher, end to end, against moto's server over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from tests.support.site import (
    WATCHER_BIN,
    config_toml,
    make_stack,
    run_cli,
    settings_for,
    watcher_env,
)
from tests.support.visibility import ReceiptRecorder
from tests.support.waiting import wait_until

DEPLOY_40 = {
    **{f"page{i}/index.html": f"<h1>{i}</h1>" for i in range(10)},
    **{f"assets/js/app{i}.js": f"v{i}" for i in range(15)},
    **{f"assets/css/s{i}.css": f"c{i}" for i in range(14)},
    "index.html": "<h1>home</h1>",
}


def _all_paths(invalidations: list[dict[str, object]]) -> set[str]:
    return {p for inv in invalidations for p in inv["paths"]}  # type: ignore[attr-defined]


def test_a_40_file_deploy_becomes_one_invalidation_and_the_queue_empties(
    moto_server: str, tmp_path: Path
) -> None:
    # GIVEN a bucket wired to a queue and a distribution
    stack = make_stack(moto_server)
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(stack, invalidation={"max_paths_per_request": 100})))
    # WHEN a deploy of 40 files lands and `watcher run --once` drains the queue
    stack.deploy(DEPLOY_40)
    result = run_cli(["run", "--config", str(config), "--once"], env=watcher_env(moto_server))
    # THEN exactly one invalidation covers every file, and the queue is empty
    assert result.returncode == 0, result.stderr[-3000:]
    invalidations = stack.invalidations()
    assert len(invalidations) == 1
    paths = set(invalidations[0]["paths"])
    expected = {"/" + key for key in DEPLOY_40} | {"/"} | {f"/page{i}/" for i in range(10)}
    assert paths == expected
    assert stack.queue_depth() == 0


def test_a_deploy_too_big_for_the_budget_is_collapsed_into_wildcards(
    moto_server: str, tmp_path: Path
) -> None:
    # GIVEN a path budget of 20
    stack = make_stack(moto_server)
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(stack, invalidation={"max_paths_per_request": 20})))
    # WHEN the 40-file deploy lands
    stack.deploy(DEPLOY_40)
    result = run_cli(["run", "--config", str(config), "--once"], env=watcher_env(moto_server))
    # THEN one invalidation within the budget collapses the asset directories into wildcards
    assert result.returncode == 0, result.stderr[-3000:]
    (invalidation,) = stack.invalidations()
    paths = set(invalidation["paths"])
    assert len(paths) <= 20
    assert "/assets/*" in paths or {"/assets/js/*", "/assets/css/*"} <= paths
    assert {"/index.html", "/"} <= paths
    assert "/*" not in paths


def test_deletes_and_foreign_and_garbage_messages_never_stop_the_queue(
    moto_server: str, tmp_path: Path
) -> None:
    # GIVEN a deployed site, then garbage and an S3 test event on the queue
    stack = make_stack(moto_server)
    stack.deploy({"old.html": "x"})
    stack.s3.delete_object(Bucket=stack.bucket, Key="old.html")
    for body in ("not json", json.dumps({"Records": "nope"}), json.dumps({"Event": "s3:TestEvent"})):
        stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(stack)))
    # WHEN the watcher drains the queue
    result = run_cli(["run", "--config", str(config), "--once"], env=watcher_env(moto_server))
    # THEN the delete is invalidated, the garbage is deleted (on_poison=delete), the queue is empty
    assert result.returncode == 0, result.stderr[-3000:]
    assert "/old.html" in _all_paths(stack.invalidations())
    assert stack.queue_depth() == 0
    assert "message rejected" in result.stderr


def test_dry_run_sends_nothing_and_acknowledges_nothing(moto_server: str, tmp_path: Path) -> None:
    stack = make_stack(moto_server)
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(stack)))
    stack.deploy({"a.html": "a", "b.html": "b"})
    result = run_cli(["run", "--config", str(config), "--once", "--dry-run"], env=watcher_env(moto_server))
    assert result.returncode == 0, result.stderr[-3000:]
    assert stack.invalidations() == []
    assert "would create invalidation" in result.stderr
    # every message (the two uploads and the s3:TestEvent of the wiring) is back, visible
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert int(attributes["ApproximateNumberOfMessages"]) == 3
    assert int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 0


def test_sigterm_during_the_quiet_period_flushes_before_exit(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a watcher with a long quiet period, running as a daemon
    stack = make_stack(moto_server)
    config = tmp_path / "config.toml"
    config.write_text(
        config_toml(
            settings_for(
                stack,
                # The default [aws] timeouts and a 10 s shutdown timeout: CloudFront calls are
                # bounded to half of it, so a CreateInvalidation can start in the drain and end
                # before it (none may start that could not: issue 22, item 9).
                invalidation={"quiet_period_seconds": 60, "max_delay_seconds": 120},
            )
        )
    )
    process = subprocess.Popen(
        [WATCHER_BIN, "run", "--config", str(config)],
        env=watcher_env(moto_server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # WHEN a deploy lands, is received, and SIGTERM arrives during the quiet period
        stack.deploy({"index.html": "x", "app.js": "y"})
        try:
            wait_until(lambda: _in_flight(stack) == 2, timeout=20)
        except AssertionError:
            process.kill()
            raise AssertionError(process.communicate()[1][-5000:]) from None
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # THEN the pending paths were invalidated, the messages deleted, and the exit code is 0
    assert process.returncode == 0, stderr[-3000:]
    assert {"/index.html", "/", "/app.js"} <= _all_paths(stack.invalidations())
    assert stack.queue_depth() == 0


def test_sigkill_while_a_batch_is_pending_loses_nothing(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a daemon that holds a batch in its quiet period, its SQS calls through a proxy
    # that remembers receipt handles (so the visibility timeout can lapse without waiting)
    stack = make_stack(moto_server)
    config = tmp_path / "config.toml"
    config.write_text(
        config_toml(
            settings_for(
                stack,
                invalidation={"quiet_period_seconds": 60, "max_delay_seconds": 120},
                # A CreateInvalidation starts in the drain only if it can end before the
                # 10 s shutdown timeout: one call here takes at most 2 + 5 s.
                aws={"read_timeout_seconds": 5},
            )
        )
    )
    with ReceiptRecorder(moto_server) as sqs_proxy:
        process = subprocess.Popen(
            [WATCHER_BIN, "run", "--config", str(config)],
            env=watcher_env(moto_server, AWS_ENDPOINT_URL_SQS=sqs_proxy.url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.deploy({"docs/index.html": "x"})
        wait_until(lambda: _in_flight(stack) == 1, timeout=20)
        # WHEN it is killed with SIGKILL before flushing
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        assert stack.invalidations() == []
        # ... and its messages' visibility timeout lapses (made to lapse now: nothing was deleted)
        assert sqs_proxy.lapse(stack.sqs, stack.queue_url) >= 1
    # THEN a restarted watcher still invalidates the change and empties the queue
    result = run_cli(["run", "--config", str(config), "--once"], env=watcher_env(moto_server))
    assert result.returncode == 0, result.stderr[-3000:]
    assert {"/docs/index.html", "/docs/"} <= _all_paths(stack.invalidations())
    assert stack.queue_depth() == 0


def _in_flight(stack: object) -> int:
    attributes = stack.sqs.get_queue_attributes(  # type: ignore[attr-defined]
        QueueUrl=stack.queue_url,  # type: ignore[attr-defined]
        AttributeNames=["ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])
