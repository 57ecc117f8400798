"""The longest main-loop tick while SQS hangs for 150 s with 30 messages held.

`python -m benchmarks.brownout [--hang 150]` prints the figures. The main loop's
heartbeat is sampled every 20 ms from another thread; the longest gap between
two heartbeats is the longest tick (what /healthz sees). SQS "hangs" by holding
every request far beyond the client's read timeout (the fault proxy's "slow"),
with the default AWS timeouts of the config, so the figure is what production
would see. CloudFront stays healthy.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from tests.conftest import running_moto
from tests.support.chaos import chaos_site
from tests.support.site import running_watcher
from watcher.commands.demo.emulator import environment


def _heartbeat_gaps(watcher: Any, stop: threading.Event, out: list[float]) -> None:
    longest = 0.0
    while not stop.wait(0.02):
        longest = max(longest, watcher.clock.monotonic() - watcher.parts.heartbeat.last)
    out.append(longest)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def main() -> int:
    """Run the scenario once; print the longest tick and what happened to the 30 messages."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.brownout")
    parser.add_argument("--hang", type=float, default=150.0, help="seconds SQS hangs")
    args = parser.parse_args()
    with running_moto() as endpoint, chaos_site(endpoint) as site, environment(site.env):
        settings = site.settings(
            aws={"connect_timeout_seconds": 5, "read_timeout_seconds": 30},
            sqs={"queue_url": site.queue_url, "wait_time_seconds": 1, "visibility_timeout_seconds": 30},
            invalidation={"quiet_period_seconds": 5, "max_delay_seconds": 60},
            http={"listen": "127.0.0.1:0", "unready_after_failing_seconds": 30},
        )
        with running_watcher(settings, requests_per_second=20, request_burst=20) as watcher:
            sqs = watcher.sqs
            assert sqs is not None
            site.publish(f"hang/p{i}.html" for i in range(30))
            deadline = time.monotonic() + 30
            while sqs.held < 30 and time.monotonic() < deadline:
                time.sleep(0.05)
            held = sqs.held
            site.sqs_proxy.slow_seconds = args.hang + 60
            site.sqs_proxy.set_fault_rate(1.0, kinds=("slow",))
            hang_started = time.monotonic()
            stop, gaps = threading.Event(), list[float]()
            sampler = threading.Thread(target=_heartbeat_gaps, args=(watcher, stop, gaps), daemon=True)
            sampler.start()
            invalidated_after = None
            while time.monotonic() - hang_started < args.hang:
                if invalidated_after is None and not site.uncovered():
                    invalidated_after = time.monotonic() - hang_started
                time.sleep(0.2)
            stop.set()
            sampler.join()
            site.sqs_proxy.clear_faults()
            site.sqs_proxy.slow_seconds = 0.0
            back = time.monotonic()
            while site.depth() and time.monotonic() - back < 120:
                time.sleep(0.5)
            emptied = time.monotonic() - back if site.depth() == 0 else None
        print(f"messages held when SQS began to hang: {held}")
        print(f"longest main-loop tick during the {args.hang:.0f} s SQS hang: {gaps[0]:.2f} s")
        print(f"invalidation created after: {_seconds(invalidated_after)}")
        print(f"queue empty after SQS answered again: {_seconds(emptied)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
