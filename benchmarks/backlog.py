"""Backlog drain: a running daemon (`watcher run`, not --once) against a queue pre-filled with N
S3 event messages for 2 distributions, versus a bare boto3 loop on a copy of the same messages.

Both queues are filled before either consumer starts, on the same moto server
(its own process, see `benchmarks/moto_server.py`: a cheaper clock, and a
ReceiveMessage that reads the retention period alone instead of computing every
queue attribute, three scans of the whole queue, for each message it returns;
costs AWS does not have, which grew with the messages held and, at 20,000,
made the emulator's receives, not the consumers, the measure), and both consumers reach SQS
through the same proxy. The proxy forwards DeleteMessageBatch calls one at a
time: moto's SQS loses one of two concurrent deletions of one queue (each
rebuilds the message list from its own snapshot, so a deleted message comes
back), which AWS does not. The bare loop is timed from spawn to exit (it stops
at its first empty 1 s long poll); the watcher from /readyz answering 200 to
the queue being empty (its own deleted count reaching N, then visible + in flight = 0
on the queue: moto scans the queue for each GetQueueAttributes), then every change is checked
against the invalidations CloudFront (moto) accepted. The watcher runs with the
contract's defaults (20 s long poll, 5 s quiet period, 60 s max delay).

Run: `python -m benchmarks.backlog 5000 20000` (or `benchmarks/run --backlog 5000,20000`);
the figures replace the "Backlog drain" section of benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.emulator import BUCKET, clients, moto_process, queue_depth, s3_body, serialize_deletes
from benchmarks.process import Sampler
from benchmarks.sections import replace_section
from tests.support.fault_proxy import FaultProxy
from tests.support.site import WATCHER_BIN, config_toml, watcher_env
from tests.support.waiting import free_port
from watcher.commands.demo.emulator import create_distribution
from watcher.core.config import Settings
from watcher.core.planning import InvalidationPlan
from watcher.core.routing import Router

RESULTS = Path(__file__).with_name("results.md")
SECTION = "## Backlog drain (running daemon vs bare loop)"
RSS_TARGET_MIB = 80.0
RATIO_TARGET = 1.0
_WAIT_SECONDS = 1


@dataclass
class BacklogFigures:
    """One size: the bare loop's and the watcher's drain times, and the watcher's cost."""

    messages: int
    bare_seconds: float
    watcher_seconds: float
    peak_rss_mib: float
    cpu_seconds: float
    uncovered: int
    invalidations: int
    left: int

    @property
    def ratio(self) -> float:
        """Bare time / watcher time: >= 1.0 means the watcher drains at least as fast."""
        return self.bare_seconds / self.watcher_seconds


def keys(messages: int) -> list[str]:
    """One object per message, alternating between the two sites (two distributions)."""
    return [f"site{i % 2}/section{i % 40}/page{i}.html" for i in range(messages)]


def _fill(endpoint: str, queue_url: str, messages: int) -> None:
    sqs, _ = clients(endpoint)
    names = keys(messages)
    for start in range(0, messages, 10):
        entries: Any = [
            {"Id": str(i), "MessageBody": s3_body([names[start + i]], start + i)}
            for i in range(min(10, messages - start))
        ]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)


def _settings(queue_url: str, distributions: list[str], port: int) -> Settings:
    return Settings.model_validate(
        {
            "watcher": {"log_level": "info", "log_format": "json"},
            "http": {"listen": f"127.0.0.1:{port}"},
            "sqs": {"queue_url": queue_url},
            "sites": [
                {"bucket": BUCKET, "distribution_id": d, "prefix": f"site{n}/"}
                for n, d in enumerate(distributions)
            ],
        }
    )


def _uncovered(endpoint: str, settings: Settings, messages: int) -> tuple[int, int]:
    """(changes no accepted invalidation covers, invalidations made)."""
    _, cloudfront = clients(endpoint)
    plans: dict[str, InvalidationPlan] = {}
    made = 0
    for site in settings.sites:
        items = cloudfront.list_invalidations(DistributionId=site.distribution_id, MaxItems="1000")[
            "InvalidationList"
        ].get("Items", [])
        made += len(items)
        paths = [
            path
            for item in items
            for path in cloudfront.get_invalidation(DistributionId=site.distribution_id, Id=item["Id"])[
                "Invalidation"
            ]["InvalidationBatch"]["Paths"].get("Items", [])
        ]
        plans[site.distribution_id] = InvalidationPlan(paths=tuple(sorted(set(paths))))
    router = Router(settings.sites)
    missing = 0
    for key in keys(messages):
        (route,) = router.route(BUCKET, key).routes
        missing += not all(plans[route.distribution_id].covers(p) for p in route.paths)
    return missing, made


def _bare(endpoint: str, proxy: FaultProxy, queue_url: str, workdir: Path) -> float:
    env = watcher_env(endpoint, AWS_ENDPOINT_URL_SQS=proxy.url)
    started = time.monotonic()
    with (workdir / "bare.log").open("w") as log:
        subprocess.run(
            [sys.executable, "-m", "benchmarks.bare", queue_url, str(_WAIT_SECONDS)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            check=True,
        )
    return time.monotonic() - started


def _ready(port: int, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the watcher exited ({process.returncode}) before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError("the watcher never became ready")


def _deleted(port: int) -> float:
    """Messages the watcher deleted so far (its /metrics; no call to the emulator)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            text = answer.read().decode()
    except OSError:
        return 0.0
    pattern = r'^cloudfront_watcher_sqs_messages_total\{outcome="deleted"\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))


def _watcher(
    endpoint: str, proxy: FaultProxy, settings: Settings, workdir: Path, timeout: float, *, messages: int
) -> tuple[float, float, float, int]:
    """(ready -> empty seconds, peak RSS MiB, CPU s, messages left)."""
    config = workdir / "config.toml"
    config.write_text(config_toml(settings))
    env = watcher_env(endpoint, AWS_ENDPOINT_URL_SQS=proxy.url)
    with (workdir / "watcher.log").open("w") as log:
        process = subprocess.Popen(
            [WATCHER_BIN, "run", "--config", str(config)], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    sampler = Sampler(process.pid)
    left = -1
    try:
        _ready(settings.http.port, process)
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            # The watcher's own count first: GetQueueAttributes scans the whole queue in moto,
            # and asking it five times a second slowed the 20,000-message drain it measured.
            if _deleted(settings.http.port) >= messages:
                left = queue_depth(endpoint, settings.sqs.queue_url)
                if left == 0:
                    break
            time.sleep(0.2)
        seconds = time.monotonic() - started
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        sampler.stop()
    return seconds, sampler.peak, sampler.cpu, left


def measure(endpoint: str, proxy: FaultProxy, messages: int, *, timeout: float) -> BacklogFigures:
    """Fill two queues with the same N messages; drain one with the bare loop, one with the watcher."""
    sqs, cloudfront = clients(endpoint)
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-backlog-{messages}-"))
    queues = {}
    for consumer in ("bare", "watcher"):
        queues[consumer] = sqs.create_queue(
            QueueName=f"backlog-{consumer}-{messages}", Attributes={"VisibilityTimeout": "300"}
        )["QueueUrl"]
        print(f"... filling {consumer} queue with {messages} messages", file=sys.stderr)
        _fill(endpoint, queues[consumer], messages)
    distributions = [create_distribution(cloudfront, BUCKET) for _ in range(2)]
    settings = _settings(queues["watcher"], distributions, free_port())
    print(f"... bare loop, {messages} messages", file=sys.stderr)
    bare_seconds = _bare(endpoint, proxy, queues["bare"], workdir)
    print(f"... watcher daemon, {messages} messages", file=sys.stderr)
    seconds, peak, cpu, left = _watcher(endpoint, proxy, settings, workdir, timeout, messages=messages)
    uncovered, made = _uncovered(endpoint, settings, messages)
    if left or uncovered:
        print(f"  ! {messages}: {left} left, {uncovered} uncovered (log: {workdir})", file=sys.stderr)
    return BacklogFigures(messages, bare_seconds, seconds, peak, cpu, uncovered, made, left)


def render(figures: list[BacklogFigures], runtime: float) -> str:
    """The section for results.md."""
    lines = [
        SECTION,
        "",
        "| messages | bare loop s | watcher s (ready -> empty) | ratio (bare / watcher) | "
        "watcher peak RSS MiB | watcher CPU s | invalidations | uncovered | left |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in figures:
        lines.append(
            f"| {f.messages} | {f.bare_seconds:.1f} | {f.watcher_seconds:.1f} | {f.ratio:.2f} | "
            f"{f.peak_rss_mib:.1f} | {f.cpu_seconds:.1f} | {f.invalidations} | {f.uncovered} | {f.left} |"
        )
    met = all(
        f.ratio >= RATIO_TARGET and f.peak_rss_mib <= RSS_TARGET_MIB and not f.uncovered and not f.left
        for f in figures
    )
    verdict = "all targets met" if met else "NOT all targets met"
    lines += [
        "",
        f"Run: {runtime:.0f} s. Targets: ratio >= {RATIO_TARGET}, peak RSS <= {RSS_TARGET_MIB:.0f} MiB, "
        f"0 uncovered, 0 left: {verdict}.",
        "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure each size; print the section and write it into results.md."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backlog")
    parser.add_argument("sizes", nargs="*", type=int, default=[5000, 20000])
    parser.add_argument("--timeout", type=float, default=3600, help="seconds the watcher may take per size")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    started = time.monotonic()
    figures = []
    with moto_process() as endpoint, FaultProxy(endpoint) as proxy:
        serialize_deletes(proxy)
        for size in args.sizes:
            figures.append(measure(endpoint, proxy, size, timeout=args.timeout))
            print(render(figures, time.monotonic() - started), file=sys.stderr)
    section = render(figures, time.monotonic() - started)
    print(section)
    if not args.no_write:
        RESULTS.write_text(replace_section(RESULTS.read_text() if RESULTS.exists() else "", section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
