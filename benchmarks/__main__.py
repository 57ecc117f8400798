"""`benchmarks/run`: throughput, SQS calls, memory, CPU, latency and planner cost; prints a table
and writes its sections of benchmarks/results.md (the others, such as the backlog drain and the
cost strategies, are kept)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks import backlog
from benchmarks.daemon import run_daemon
from benchmarks.emulator import moto_process, serialize_deletes
from benchmarks.machine import describe
from benchmarks.planner import plan_cost
from benchmarks.report import render
from benchmarks.sections import carry_sections
from benchmarks.throughput import Drain, drain
from tests.support.fault_proxy import FaultProxy

RESULTS = Path(__file__).with_name("results.md")


def main() -> int:
    """Run every benchmark against one emulator; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="benchmarks/run")
    parser.add_argument("--messages", type=int, default=5000, help="messages per throughput run")
    parser.add_argument("--small", type=int, default=1000, help="messages of the small run (memory, CPU)")
    parser.add_argument("--waves", type=int, default=4, help="deploy waves through the long-running daemon")
    parser.add_argument("--samples", type=int, default=30, help="latency samples")
    parser.add_argument("--no-write", action="store_true", help="print only, leave results.md alone")
    parser.add_argument(
        "--backlog",
        metavar="N,N",
        help="only the backlog drain (running daemon vs bare loop), at these sizes",
    )
    args = parser.parse_args()
    if args.backlog:
        return backlog.main([*args.backlog.split(","), *(["--no-write"] if args.no_write else [])])
    started = time.monotonic()
    drains: list[Drain] = []
    with moto_process() as endpoint, FaultProxy(endpoint) as proxy:
        serialize_deletes(proxy)
        for records in (10, 1):
            for consumer in ("bare", "watcher"):
                run = f"{consumer}-{records}r-{args.messages}"
                print(f"... {run}", file=sys.stderr)
                drains.append(
                    drain(
                        endpoint, proxy, consumer=consumer, records=records, messages=args.messages, run=run
                    )
                )
        print("... watcher, small run", file=sys.stderr)
        drains.append(
            drain(
                endpoint,
                proxy,
                consumer="watcher",
                records=10,
                messages=args.small,
                run=f"watcher-10r-{args.small}",
            )
        )
        print("... long-running daemon", file=sys.stderr)
        daemon = run_daemon(endpoint, waves=args.waves, wave_messages=args.small, samples=args.samples)
    planner = plan_cost()
    text, ok = render(describe(), drains, daemon, planner, runtime=time.monotonic() - started)
    print(text)
    if not args.no_write:
        RESULTS.write_text(carry_sections(RESULTS.read_text() if RESULTS.exists() else "", text))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
