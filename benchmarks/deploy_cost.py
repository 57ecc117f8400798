"""How many CreateInvalidation calls (and billed paths) one deploy costs.

Publishes S3 notifications for a 1,000-file deploy of several shapes straight to
the queue (faithful S3 bodies, 10 records a message), runs `watcher run --once`
with the example config's invalidation settings, and counts the invalidations
moto recorded. First, without the emulator, what each cost strategy bills and
purges on a 10,000-object site (benchmarks/strategies.py).
Run: .venv/bin/python -m benchmarks.deploy_cost [--strategies-only]
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from moto.server import ThreadedMotoServer

from benchmarks import strategies
from tests.support.events import s3_body, s3_record
from tests.support.site import config_toml, make_stack, run_cli, settings_for, watcher_env

SHAPES: dict[str, list[str]] = {
    "1,000 assets in one folder": [f"assets/a{i}.js" for i in range(1000)],
    "1,000 files over 50 folders": [f"docs/d{i % 50}/p{i}.html" for i in range(1000)],
    "200 pages + 800 hashed assets": [f"blog/post{i}/index.html" for i in range(200)]
    + [f"static/{i % 8}/chunk{i}.js" for i in range(800)],
}


def measure(endpoint: str, name: str, keys: list[str], index: int) -> tuple[str, int, int, int, float]:
    """(shape, files, CreateInvalidation calls, paths billed, seconds) for one deploy."""
    stack = make_stack(endpoint, bucket=f"cost-bucket-{index}", queue=f"cost-queue-{index}")
    stack.sqs.purge_queue(QueueUrl=stack.queue_url)  # the wiring's s3:TestEvent
    for start in range(0, len(keys), 100):
        entries = []
        for j in range(start, min(start + 100, len(keys)), 10):
            records = [s3_record(bucket=stack.bucket, key=key) for key in keys[j : j + 10]]
            entries.append({"Id": str(j), "MessageBody": s3_body(*records)})
        stack.sqs.send_message_batch(QueueUrl=stack.queue_url, Entries=entries[:10])  # type: ignore[arg-type]
    settings = settings_for(stack, watcher={"log_level": "warning"}, http={"listen": "127.0.0.1:0"})
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.toml"
        config.write_text(config_toml(settings))
        started = time.monotonic()
        result = run_cli(["run", "--config", str(config), "--once"], env=watcher_env(endpoint))
        seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    invalidations = stack.invalidations()
    return name, len(keys), len(invalidations), sum(len(i["paths"]) for i in invalidations), seconds


def main() -> None:
    """Print the strategy table, then one row per deploy shape through the emulator."""
    strategies.main()
    if "--strategies-only" in sys.argv[1:]:
        return
    print()
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        print("| deploy | files | CreateInvalidation calls | paths billed | wall s |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for index, (name, keys) in enumerate(SHAPES.items()):
            shape, files, calls, paths, seconds = measure(f"http://{host}:{port}", name, keys, index)
            print(f"| {shape} | {files} | {calls} | {paths} | {seconds:.1f} |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
