"""A long-running `watcher run`: RSS over repeated deploy waves, and latency from visible to accepted."""

from __future__ import annotations

import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.emulator import clients, fresh_target, queue_depth, s3_body
from benchmarks.process import Sampler, proc_rss_mib
from benchmarks.publisher import Publisher
from benchmarks.throughput import watcher_settings
from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.site import WATCHER_BIN, config_toml, watcher_env

QUIET_SECONDS = 0.5
# CreateInvalidation is rate limited to one call per 2 s sustained (the watcher's
# own limiter too): samples farther apart than that measure the watcher, not the limit.
SAMPLE_SPACING = 2.1


@dataclass
class DaemonFigures:
    """RSS after each wave, and latency overheads (seconds)."""

    rss_after_wave_mib: list[float]
    peak_rss_mib: float
    latencies: list[float]

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the latency overheads."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    @property
    def median(self) -> float:
        """p50."""
        return statistics.median(self.latencies)


def run_daemon(endpoint: str, *, waves: int, wave_messages: int, samples: int) -> DaemonFigures:
    """Waves of 10-record messages, then one-record messages spaced apart for latency."""
    target = fresh_target(endpoint, "bench-daemon")
    strict = StrictCloudFront(endpoint)
    strict.start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    config = workdir / "config.toml"
    settings = watcher_settings(
        target.queue_url, target.distribution_id, quiet_period_seconds=QUIET_SECONDS, max_delay_seconds=5.0
    )
    config.write_text(config_toml(settings).replace("wait_time_seconds = 1", "wait_time_seconds = 20"))
    env = watcher_env(endpoint, AWS_ENDPOINT_URL_CLOUDFRONT=strict.url)
    with (workdir / "stderr.log").open("w") as log:
        process = subprocess.Popen(
            [WATCHER_BIN, "run", "--config", str(config)], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    sampler = Sampler(process.pid)
    try:
        rss = []
        for wave in range(waves):
            publisher = Publisher(endpoint, target.queue_url, f"wave{wave}", wave_messages, 10)
            publisher.prefill()
            publisher.start()
            publisher.join()
            _wait_empty(endpoint, target.queue_url)
            time.sleep(1.0)  # the last flush's deletes
            rss.append(proc_rss_mib(process.pid)[0])
        latencies = [_one_latency(endpoint, target.queue_url, strict, n) for n in range(samples)]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        sampler.stop()
        strict.stop()
    return DaemonFigures(rss, sampler.peak, latencies)


def _wait_empty(endpoint: str, queue_url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queue_depth(endpoint, queue_url) == 0:
            return
        time.sleep(0.25)
    raise TimeoutError("the daemon did not drain the queue")


def _one_latency(endpoint: str, queue_url: str, strict: StrictCloudFront, n: int) -> float:
    """Send one message; seconds from its send returning to CloudFront accepting, minus the quiet period."""
    sqs, _ = clients(endpoint)
    key = f"latency/sample{n}.html"
    started = time.monotonic()
    sqs.send_message(QueueUrl=queue_url, MessageBody=s3_body([key], 10_000_000 + n))
    visible_at = time.time()
    while True:
        found = [i for i in strict.invalidations if f"/{key}" in i.paths]
        if found:
            accepted_at = found[0].create_time.timestamp()
            break
        if time.monotonic() - started > 60:
            raise TimeoutError(f"no invalidation for {key}")
        time.sleep(0.01)
    time.sleep(max(0.0, SAMPLE_SPACING - (time.monotonic() - started)))
    return accepted_at - visible_at - QUIET_SECONDS
