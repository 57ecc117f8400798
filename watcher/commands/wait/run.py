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
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from watcher.aws import ClientFactory
from watcher.awserrors import AWS_ERRORS, error_code
from watcher.commands.wait.coverage import needed_paths
from watcher.commands.wait.follow import Waiting, follow
from watcher.commands.wait.invalidations import FatalAwsError
from watcher.commands.wait.listing import ChangedObject, list_changes, merge_changes, parse_keys
from watcher.commands.wait.progress import Progress, make_progress
from watcher.commands.wait.since import parse_since
from watcher.core.clock import Clock, SystemClock
from watcher.core.config import Settings
from watcher.core.routing import Router

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client

__all__ = ["EXIT_OK", "EXIT_TIMEOUT", "EXIT_USAGE", "parse_keys", "parse_since", "run_wait"]

EXIT_OK = 0
EXIT_TIMEOUT = 1
EXIT_USAGE = 2


def _count_calls(client: Any, counts: Counter[str]) -> None:
    """Count API calls (not retries) through botocore's documented event hooks."""

    def count(model: Any, **_: Any) -> None:
        counts[str(model.name)] += 1

    client.meta.events.register("before-call", count)


ClientT = TypeVar("ClientT")


def _counting(counts: Counter[str]) -> Callable[[ClientT], ClientT]:
    """The client, its calls counted (once per client: one client may serve several sites)."""
    seen: set[int] = set()

    def counted(client: ClientT) -> ClientT:
        if id(client) not in seen:
            seen.add(id(client))
            _count_calls(client, counts)
        return client

    return counted


def _factory(settings: Settings) -> ClientFactory:
    return ClientFactory(
        region=settings.aws.region,
        connect_timeout=settings.aws.connect_timeout_seconds,
        read_timeout=settings.aws.read_timeout_seconds,
    )


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
    factory = clients or _factory(settings)
    calls: Counter[str] = Counter()
    site_clients = factory.for_sites(settings.sites)  # a site's role_arn, else our own identity

    counted = _counting(calls)

    def s3_for(bucket: str) -> S3Client:
        return counted(site_clients.s3(bucket))

    def cloudfront_for(distribution_id: str) -> CloudFrontClient:
        return counted(site_clients.cloudfront(distribution_id))

    started = clock.monotonic()
    try:
        changes = merge_changes(list_changes(s3_for, settings.sites, since), keys)
    except AWS_ERRORS as exc:
        print(f"watcher wait: cannot list the site buckets: {error_code(exc)}: {exc}", file=stderr)
        return EXIT_TIMEOUT
    needed, _ = needed_paths(router, changes)  # listed objects outside include/exclude need nothing
    if not needed:
        print(f"nothing to wait for: no object of the sites changed since {since.isoformat()}", file=stdout)
        return EXIT_OK
    waiting = Waiting(needed, len(changes), since, started, timeout, interval)
    shown = progress or make_progress(stderr)
    try:
        live = follow(cloudfront_for, waiting, clock=clock, progress=shown, out=stdout)
    except FatalAwsError as exc:
        print(f"watcher wait: {exc}", file=stderr)
        return EXIT_TIMEOUT
    finally:
        shown.close()  # also on Ctrl-C: leave the terminal as it was
    print(f"AWS calls: {', '.join(f'{name} {n}' for name, n in sorted(calls.items()))}", file=stdout)
    return EXIT_OK if live else EXIT_TIMEOUT
