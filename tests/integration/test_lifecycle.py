"""Start-up and exit edges: signals during start-up, --once without a receive, a truthful dry run."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from prometheus_client import CollectorRegistry

from tests.support.clock import FakeClock
from tests.support.site import ROOT, config_toml, make_stack, run_cli, settings_for, watcher_env
from tests.support.waiting import free_port
from watcher.aws import ClientFactory
from watcher.cloudfront.inprogress import InProgress
from watcher.cloudfront.invalidator import Invalidator
from watcher.cloudfront.ratelimit import RateLimiter
from watcher.commands.demo.emulator import environment
from watcher.core.batching import Batch
from watcher.core.model import Change, ChangeKind
from watcher.ops.metrics import Metrics


def test_run_once_exits_1_when_no_receive_ever_succeeded(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a queue endpoint that refuses every connection
    stack = make_stack(moto_server)
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(stack)))
    closed = f"http://127.0.0.1:{free_port()}"
    # WHEN `run --once` tries for 1 s (a refused connection fails at once, retries included)
    result = run_cli(
        ["run", "--config", str(config), "--once", "--max-seconds", "1"],
        env=watcher_env(moto_server, AWS_ENDPOINT_URL_SQS=closed),
        timeout=60,
    )
    # THEN it fails: nothing was drained (it did try: the receives failed)
    assert result.returncode == 1, result.stderr[-2000:]
    assert '"event": "receive failed"' in result.stderr


# Sends SIGTERM to itself the moment boto3 is first imported: in the middle of start-up.
_SIGTERM_AT_BOTO3 = textwrap.dedent(
    """
    import importlib.abc, os, signal, sys

    class SigtermAtBoto3(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "boto3":
                sys.meta_path.remove(self)
                os.kill(os.getpid(), signal.SIGTERM)
            return None

    sys.meta_path.insert(0, SigtermAtBoto3())
    from watcher.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_sigterm_during_start_up_is_not_lost(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a daemon that receives SIGTERM while it is still importing and building its clients
    stack = make_stack(moto_server)
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(stack)))
    process = subprocess.run(
        [sys.executable, "-c", _SIGTERM_AT_BOTO3, "run", "--config", str(config)],
        env=watcher_env(moto_server),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    # THEN it stops in order (drained, exit 0), rather than dying or ignoring it
    assert process.returncode == 0, process.stderr[-2000:]
    assert "watcher stopped" in process.stdout + process.stderr


def test_a_dry_run_flush_says_what_it_would_have_covered(moto_server: str) -> None:
    # GIVEN a dry-run invalidator
    clock = FakeClock()
    metrics = Metrics(CollectorRegistry())
    with environment({"AWS_ENDPOINT_URL": moto_server}):
        client = ClientFactory(region="us-east-1").cloudfront()
    invalidator = Invalidator(
        client,
        clock=clock,
        metrics=metrics,
        limiter=RateLimiter(rate=100, burst=100, clock=clock),
        in_progress=InProgress(client, clock=clock, metrics=metrics),
        max_paths_per_request=100,
        max_wildcards_in_progress=13,
        dry_run=True,
        rng=random.Random(1),
    )
    changes = [Change("b", f"k{i}.html", ChangeKind.CREATED, identity=f"m{i}") for i in range(3)]
    batch = Batch("E1", tuple((change, (f"/{change.key}",)) for change in changes), first_seen=0.0)
    # WHEN it flushes a batch
    result = invalidator.flush(batch, abort=threading.Event())
    # THEN the result is the truth of a dry run: every change would be covered, none failed
    assert result.outcome == "dry_run"
    assert result.covered == tuple(changes)
    assert result.failed == ()
