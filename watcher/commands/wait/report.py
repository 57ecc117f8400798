"""What `wait` says at the end: lines for people, or one JSON report (docs/wait-report.schema.json)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from watcher.commands.wait.follow import Summary

__all__ = ["SHOWN_PENDING", "Ending", "print_ending", "report"]

SHOWN_PENDING = 20
_SCHEMA_VERSION = 1


@dataclass(slots=True)
class Ending:
    """How the wait ended, and what it knew then."""

    outcome: str  # live | timeout | unknown | interrupted
    exit_code: int
    since: datetime
    floor: datetime
    clock_skew: float
    objects: int = 0
    not_served: int = 0
    waited: float = 0.0
    reason: str = ""
    summary: Summary = field(default_factory=Summary)
    calls: Mapping[str, int] = field(default_factory=dict)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def report(ending: Ending) -> dict[str, Any]:
    """The JSON report: per distribution covered, completed, pending paths, the invalidations that count."""
    distributions = []
    for dist, entry in sorted(ending.summary.distributions.items()):
        counting = ending.summary.counting.get(dist, {})
        distributions.append(
            {
                "distribution_id": dist,
                "paths": entry.total,
                "covered": entry.covered,
                "completed": entry.completed,
                "pending": [
                    {
                        "path": item.path,
                        "key": item.key,
                        "changed_at": _iso(item.changed_at),
                        "dated_by": item.dated_by,
                    }
                    for item in entry.pending
                ],
                "invalidations": [
                    {
                        "id": known.id,
                        "status": known.status,
                        "create_time": _iso(known.create_time),
                        "paths_covered": paths,
                    }
                    for known, paths in sorted(counting.values(), key=lambda pair: pair[0].create_time)
                ],
            }
        )
    return {
        "version": _SCHEMA_VERSION,
        "outcome": ending.outcome,
        "exit_code": ending.exit_code,
        "reason": ending.reason,
        "since": _iso(ending.since),
        "considered_since": _iso(ending.floor),
        "clock_skew_seconds": ending.clock_skew,
        "objects": ending.objects,
        "not_served": ending.not_served,
        "paths": ending.summary.paths,
        "waited_seconds": round(ending.waited, 3),
        "distributions": distributions,
        "aws_calls": dict(sorted(ending.calls.items())),
    }


def print_ending(ending: Ending, out: TextIO, *, as_json: bool) -> None:
    """The JSON report, or the lines people read (the pending paths on a timeout)."""
    if as_json:
        print(json.dumps(report(ending), indent=2), file=out, flush=True)
        return
    summary = ending.summary
    if ending.outcome == "live":
        print(
            f"live: {summary.paths} paths of {ending.objects} objects changed since {_iso(ending.floor)} are "
            f"covered by Completed invalidations on {len(summary.distributions)} distribution(s) "
            f"(waited {ending.waited:.1f} s)",
            file=out,
        )
    elif ending.outcome in ("timeout", "unknown"):
        pending = [item for entry in summary.distributions.values() for item in entry.pending]
        print(
            f"timed out after {ending.waited:.0f} s: {len(pending)} path(s) not yet covered by a "
            "Completed invalidation",
            file=out,
        )
        print(f"pending (first {min(SHOWN_PENDING, len(pending))} of {len(pending)}):", file=out)
        for item in pending[:SHOWN_PENDING]:
            seen = ", as wait first saw it" if item.dated_by == "seen_by_wait" else ""
            changed = f"changed {_iso(item.changed_at)}{seen}"
            print(f"  {item.distribution_id} {item.path}  (key {item.key}, {changed})", file=out)
        running = [
            (dist, known) for dist, entry in summary.distributions.items() for known in entry.in_progress
        ]
        print(f"invalidations in progress: {len(running)}", file=out)
        for dist, known in running[:SHOWN_PENDING]:
            print(f"  {dist} {known.id} {known.status}, created {_iso(known.create_time)}", file=out)
        if any(item.dated_by == "seen_by_wait" for item in pending):
            print(
                "  (a delete in an unversioned bucket, a multipart object or a rollback is dated when wait "
                "first saw it: an invalidation made before that does not count)",
                file=out,
            )
    if ending.reason:
        print(f"{ending.outcome}: {ending.reason}", file=out)
    if ending.calls:
        print(f"AWS calls: {', '.join(f'{name} {n}' for name, n in sorted(ending.calls.items()))}", file=out)
