"""Poll mode exits within `shutdown_timeout_seconds` while S3 hangs, alone or beside the SQS source."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.poll_site import make_poll_site
from tests.support.site import WATCHER_BIN, config_toml, watcher_env
from tests.support.waiting import wait_until
from watcher.core.config import Settings

SHUTDOWN_TIMEOUT = 6  # the least the SQS source allows (wait_time_seconds + 5)


@pytest.mark.parametrize("sources", [["poll"], ["sqs", "poll"]], ids=["poll", "sqs+poll"])
def test_poll_mode_exits_within_the_shutdown_timeout_while_s3_hangs(
    moto_server: str, tmp_path: Path, sources: list[str]
) -> None:
    # GIVEN a polled site whose S3 hangs (every request accepted, never answered: a call takes
    # its whole budget, 10 s, longer than the shutdown timeout)
    site = make_poll_site(moto_server)
    queue_url = site.stack.sqs.create_queue(QueueName="poll-shutdown")["QueueUrl"]
    settings = Settings.model_validate(
        {
            "watcher": {"sources": sources, "shutdown_timeout_seconds": SHUTDOWN_TIMEOUT},
            "http": {"listen": "127.0.0.1:0"},
            # A hung S3 call takes its read timeouts: 2 attempts x 4.5 s, beyond the shutdown timeout.
            "aws": {"connect_timeout_seconds": 0.5, "read_timeout_seconds": 8},
            "sqs": {"queue_url": queue_url, "wait_time_seconds": 1},
            "poll": {"interval_seconds": 3600},
            "sites": [{"bucket": site.bucket, "distribution_id": site.stack.distribution_id}],
        }
    )
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings))
    with FaultProxy(moto_server) as s3:
        s3.set_hanging(True)
        process = subprocess.Popen(
            [WATCHER_BIN, "run", "--config", str(config)],
            env=watcher_env(moto_server, AWS_ENDPOINT_URL_S3=s3.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # WHEN the first poll cycle is stuck in S3 and SIGTERM arrives
            wait_until(lambda: s3.count("ListObjectsV2") >= 1, timeout=30, what="a listing in flight")
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
            took = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
    # THEN it exited 0 within the shutdown timeout (a second of slack for the interpreter's exit)
    assert process.returncode == 0, stderr[-3000:]
    assert took < SHUTDOWN_TIMEOUT + 1.0, f"exit took {took:.1f}s"
