"""In json mode every stderr line of the daemon is one JSON object, whoever wrote it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.fault_proxy import FaultProxy
from tests.support.site import config_toml, make_stack, settings_for, watcher_env
from tests.support.waiting import wait_until

# The daemon, plus what libraries do once it runs: a stdlib logger's warning, a Python
# warning and an exception in a thread of their own.
_LAUNCHER = """
import logging, sys, threading, time, warnings
from watcher import cli

def libraries():
    while not any(type(h).__name__ == "_OurHandler" for h in logging.getLogger().handlers):
        time.sleep(0.05)
    logging.getLogger("urllib3.connectionpool").warning("Connection pool is full, discarding connection")
    warnings.warn("a library's deprecation", DeprecationWarning, stacklevel=1)
    threading.Thread(target=lambda: 1 / 0, name="library-thread").start()

threading.Thread(target=libraries, daemon=True).start()
sys.exit(cli.main(sys.argv[1:]))
"""


def test_every_stderr_line_is_json_through_faults_a_bad_message_and_warnings(
    moto_server: str, tmp_path: Path
) -> None:
    # GIVEN a daemon in json mode behind a proxy that fails some SQS and CloudFront calls,
    # run with Python's development mode (every warning shown), and libraries that speak up
    stack = make_stack(moto_server)
    with FaultProxy(moto_server, seed=7) as proxy:
        proxy.set_fault_rate(0.3, kinds=("503", "reset", "throttle"))
        config = tmp_path / "config.toml"
        config.write_text(config_toml(settings_for(stack)))
        log = tmp_path / "stderr.log"
        with log.open("wb") as sink:
            daemon = subprocess.Popen(
                [sys.executable, "-X", "dev", "-c", _LAUNCHER, "run", "--config", str(config)],
                env=watcher_env(proxy.url),
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        try:
            # WHEN a deploy and a message that is no S3 event land on the queue
            stack.deploy({"index.html": "v2", "app.js": "v2"})
            stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody="{not json")
            wait_until(lambda: "invalidation created" in log.read_text(), 60, what="an invalidation")
            wait_until(lambda: "message rejected" in log.read_text(), 30, what="the bad message rejected")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(60)

    # THEN each line parses as JSON with timestamp, level, logger and event
    lines = log.read_text().splitlines()
    assert lines
    for line in lines:
        entry = json.loads(line)
        assert {"timestamp", "level", "logger", "event"} <= set(entry), line
    loggers = {json.loads(line)["logger"] for line in lines}
    assert {"urllib3.connectionpool", "py.warnings", "watcher"} <= loggers, loggers
    crashed = [json.loads(line) for line in lines if "uncaught exception in thread" in line]
    assert crashed[0]["thread"] == "library-thread"
    assert "ZeroDivisionError" in crashed[0]["exception"]
