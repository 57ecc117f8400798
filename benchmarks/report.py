"""The table: printed, and written to benchmarks/results.md."""

from __future__ import annotations

from benchmarks.daemon import DaemonFigures
from benchmarks.planner import PlannerCost
from benchmarks.throughput import Drain

RATIO_TARGET = 0.9
RSS_TARGET_MIB = 80.0
_NOTE = """\
Method. moto's server runs in its own process (a cheaper clock and a cheaper
retention check in its SQS model, costs AWS does not have, see
`benchmarks/moto_server.py`; the same server for both consumers),
SQS is reached through a counting proxy (which forwards DeleteMessageBatch
calls one at a time: moto loses one of two concurrent deletions of one queue,
AWS does not), and a publisher (4 send calls in flight) keeps about 200
faithful S3 notification messages visible ahead of the consumer (moto scans the
whole queue on every call, so a bigger backlog measures moto). Both consumers
are subprocesses timed from spawn to exit, both stop at their first empty 1 s
long poll. The watcher runs `watcher run --once` with a 0.2 s quiet period and
a 1 s max delay, and must cover every change before deleting its message (it
holds messages in flight until CloudFront accepted the invalidation, which
moto's scans also pay for); the bare loop only receives and deletes. RSS is
VmHWM/VmRSS from /proc/<pid>/status, CPU is utime + stime (wait4 at exit). The
daemon rows come from one long-running `watcher run` (20 s long poll, 0.5 s
quiet period, CloudFront behind the strict stand-in): RSS after each wave of
messages, then latency samples 2.1 s apart (CreateInvalidation is rate limited
to one call per 2 s) from the send of a one-record message to CloudFront
accepting its invalidation, minus the quiet period.
"""


def render(
    machine: list[tuple[str, str]],
    drains: list[Drain],
    daemon: DaemonFigures,
    planner: PlannerCost,
    *,
    runtime: float,
) -> tuple[str, bool]:
    """Markdown text, and whether every target was met."""
    lines = ["# Benchmark results", "", "## Machine", ""]
    lines += [f"- {name}: {value}" for name, value in machine]
    lines += ["", f"Full run: {runtime:.0f} s.", "", "## Throughput (drain N messages)", ""]
    lines += [
        "| consumer | records/msg | messages | wall s | msg/s | ratio | SQS calls/msg | "
        "visibility calls | peak RSS MiB | CPU s | CPU s / 1,000 changes | uncovered |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ok = True
    bare = {(d.records, d.messages): d for d in drains if d.consumer == "bare"}
    for d in drains:
        base = bare.get((d.records, d.messages))
        ratio = d.rate / base.rate if base and d.consumer == "watcher" else None
        if ratio is not None and ratio < RATIO_TARGET:
            ok = False
        if d.consumer == "watcher":
            ok = ok and d.measured.peak_rss_mib <= RSS_TARGET_MIB and d.uncovered == 0
        per_1000 = d.measured.cpu_seconds / d.changes * 1000
        lines.append(
            f"| {d.consumer} | {d.records} | {d.messages} | {d.measured.wall_seconds:.1f} | {d.rate:.1f} | "
            f"{'' if ratio is None else f'{ratio:.2f}'} | {d.calls_per_message:.3f} | {d.visibility_calls} | "
            f"{d.measured.peak_rss_mib:.1f} | {d.measured.cpu_seconds:.2f} | {per_1000:.3f} | "
            f"{'' if d.uncovered < 0 else d.uncovered} |"
        )
    lines += ["", _marginal_cpu(drains), ""]
    lines += ["## Long-running daemon", ""]
    lines.append("- RSS after each wave (MiB): " + ", ".join(f"{r:.1f}" for r in daemon.rss_after_wave_mib))
    lines.append(f"- peak RSS over the whole daemon run: {daemon.peak_rss_mib:.1f} MiB")
    lines.append(
        f"- latency overhead (visible -> accepted, minus quiet period), n={len(daemon.latencies)}: "
        f"p50 {daemon.median * 1000:.0f} ms, p99 {daemon.percentile(0.99) * 1000:.0f} ms"
    )
    ok = ok and daemon.peak_rss_mib <= RSS_TARGET_MIB
    lines += ["", "## Planner", ""]
    lines.append(
        f"- {planner.paths:,} distinct paths -> {planner.collapsed_paths} paths (budget 100 paths, 13 "
        f"wildcards): {planner.collapsed_seconds * 1000:.0f} ms; "
        f"kept exact: {planner.exact_seconds * 1000:.0f} ms"
    )
    verdict = "all targets met" if ok else "TARGET MISSED"
    lines += [
        "",
        f"Targets: ratio >= {RATIO_TARGET}, peak RSS <= {RSS_TARGET_MIB:.0f} MiB, 0 uncovered: {verdict}.",
        "",
        _NOTE,
    ]
    return "\n".join(lines), ok


def _marginal_cpu(drains: list[Drain]) -> str:
    runs = sorted(
        (d for d in drains if d.consumer == "watcher" and d.records == 10), key=lambda d: d.messages
    )
    if len(runs) < 2:
        return ""
    small, large = runs[0], runs[-1]
    extra = large.changes - small.changes
    if extra <= 0:
        return ""
    per_1000 = (large.measured.cpu_seconds - small.measured.cpu_seconds) / extra * 1000
    return (
        f"Marginal CPU (start-up excluded: {large.messages} minus {small.messages} messages of 10 records): "
        f"{per_1000:.3f} CPU s per 1,000 changes."
    )
