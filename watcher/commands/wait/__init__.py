"""`watcher wait`: exit 0 once every change since TIME is invalidated and Completed.

For CI jobs: no contact with the daemon. It lists what changed (once), then
looks at each distribution's invalidations every `--interval` seconds until
each changed path is covered, with the daemon's own routing and encoding, by an
invalidation created at or after the change and Completed; or until
`--timeout`, then exits 1 naming what is still pending.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from watcher.aws import ClientFactory, error_code
from watcher.commands.wait.coverage import DistributionProgress, assess, needed_paths
from watcher.commands.wait.invalidations import DistributionInvalidations, FatalAwsError
from watcher.commands.wait.listing import ChangedObject, list_changes, merge_changes, parse_keys
from watcher.commands.wait.progress import Progress, make_progress
from watcher.commands.wait.since import parse_since
from watcher.core.clock import Clock, SystemClock
from watcher.core.config import Settings
from watcher.core.routing import Router

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["EXIT_OK", "EXIT_TIMEOUT", "EXIT_USAGE", "parse_keys", "parse_since", "run_wait"]

EXIT_OK = 0
EXIT_TIMEOUT = 1
EXIT_USAGE = 2
SHOWN_PENDING = 20


def _count_calls(client: Any, counts: Counter[str]) -> None:
    """Count API calls (not retries) through botocore's documented event hooks."""

    def count(model: Any, **_: Any) -> None:
        counts[str(model.name)] += 1

    client.meta.events.register("before-call", count)


def run_wait(
    settings: Settings,
    *,
    since: datetime,
    keys: Sequence[ChangedObject] = (),
    timeout: float = 900.0,
    interval: float = 10.0,
    clients: ClientFactory | None = None,
    clock: Clock | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    progress: Progress | None = None,
) -> int:
    """Wait for the deploy since `since` to be live; the exit code (0 live, 1 timeout/failure, 2 usage)."""
    stdout, stderr = out or sys.stdout, err or sys.stderr
    clock = clock or SystemClock()
    router = Router(settings.sites)
    _, unrouted = needed_paths(router, keys)
    if unrouted:
        print(f"watcher wait: --keys-from: no configured site serves {unrouted[0][:300]}", file=stderr)
        return EXIT_USAGE
    factory = clients or ClientFactory(
        region=settings.aws.region,
        connect_timeout=settings.aws.connect_timeout_seconds,
        read_timeout=settings.aws.read_timeout_seconds,
    )
    calls: Counter[str] = Counter()
    s3, cloudfront = factory.s3(), factory.cloudfront()
    _count_calls(s3, calls)
    _count_calls(cloudfront, calls)
    started = clock.monotonic()
    try:
        listed = list_changes(s3, settings.sites, since)
    except (ClientError, BotoCoreError, OSError) as exc:
        print(f"watcher wait: cannot list the site buckets: {error_code(exc)}: {exc}", file=stderr)
        return EXIT_TIMEOUT
    changes = merge_changes(listed, keys)
    needed, _ = needed_paths(router, changes)  # listed objects outside include/exclude need nothing
    distributions = sorted({site.distribution_id for site in settings.sites})
    if not needed:
        print(f"nothing to wait for: no object of the configured sites changed since {since.isoformat()}")
        return EXIT_OK
    shown = progress or make_progress(stderr)
    try:
        code = _follow(
            cloudfront,
            needed=needed,
            distributions=distributions,
            since=since,
            timeout=timeout,
            interval=interval,
            clock=clock,
            progress=shown,
            out=stdout,
            started=started,
            objects=len(changes),
        )
    except FatalAwsError as exc:
        shown.close()
        print(f"watcher wait: {exc}", file=stderr)
        return EXIT_TIMEOUT
    calls_line = ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))
    print(f"AWS calls: {calls_line}", file=stdout)
    return code


def _follow(
    cloudfront: CloudFrontClient,
    *,
    needed: Sequence[Any],
    distributions: Sequence[str],
    since: datetime,
    timeout: float,
    interval: float,
    clock: Clock,
    progress: Progress,
    out: TextIO,
    started: float,
    objects: int,
) -> int:
    waiting_on = sorted({item.distribution_id for item in needed})
    trackers = {dist: DistributionInvalidations(cloudfront, dist, since) for dist in waiting_on}
    deadline = started + timeout
    done: set[str] = set()
    while True:
        for dist, tracker in trackers.items():
            if dist not in done:
                tracker.refresh()
        state = assess(needed, {d: t.known for d, t in trackers.items()}, waiting_on)
        now = clock.monotonic()
        progress.update(state, now)
        done = {dist for dist, entry in state.items() if entry.done}
        if len(done) == len(state):
            progress.close()
            print(
                f"live: {len(needed)} paths of {objects} objects changed since {since.isoformat()} are "
                f"covered by Completed invalidations on {len(state)} distribution(s) "
                f"(waited {now - started:.1f} s)",
                file=out,
            )
            return EXIT_OK
        if now >= deadline:
            progress.close()
            _report_timeout(state, trackers, timeout, out)
            return EXIT_TIMEOUT
        clock.sleep(max(0.0, min(interval, deadline - now)))


def _report_timeout(
    state: dict[str, DistributionProgress],
    trackers: dict[str, DistributionInvalidations],
    timeout: float,
    out: TextIO,
) -> None:
    pending = [item for entry in state.values() for item in entry.pending]
    print(
        f"timed out after {timeout:g} s: {len(pending)} path(s) not yet covered by a Completed invalidation",
        file=out,
    )
    print(f"pending (first {min(SHOWN_PENDING, len(pending))} of {len(pending)}):", file=out)
    for item in pending[:SHOWN_PENDING]:
        print(
            f"  {item.distribution_id} {item.path}  (key {item.key}, changed {item.changed_at.isoformat()})",
            file=out,
        )
    running = [(dist, known) for dist, entry in state.items() for known in entry.in_progress]
    print(f"invalidations in progress: {len(running)}", file=out)
    for dist, known in running:
        print(f"  {dist} {known.id} {known.status}, created {known.create_time.isoformat()}", file=out)
    for dist, tracker in trackers.items():
        if tracker.last_error:
            print(f"  {dist}: last ListInvalidations/GetInvalidation error: {tracker.last_error}", file=out)
