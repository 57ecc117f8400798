"""`watcher wait`: exit 0 once every change since TIME is invalidated and Completed.

For CI jobs: no contact with the daemon. It lists what changed (once), then
looks at each distribution's invalidations every `--interval` seconds until
each changed path is covered, with the daemon's own routing and encoding, by an
invalidation created at or after the change and Completed; or until
`--timeout`, then exits 1 naming what is still pending. Exit 3 when AWS errors
(denied, no such distribution, errors outlasting the timeout) leave it unable to
tell; 130 on Ctrl-C. Each change is dated as listing.py says, and counted as
covered as coverage.py says.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from watcher.aws import ClientFactory
from watcher.awserrors import AWS_ERRORS, error_code
from watcher.commands.wait.coverage import NeededPath, needed_paths
from watcher.commands.wait.follow import Follower, Waiting
from watcher.commands.wait.invalidations import FatalAwsError
from watcher.commands.wait.keys import NamedKey, parse_keys
from watcher.commands.wait.listing import SiteListing, skew_window
from watcher.commands.wait.progress import Progress, make_progress
from watcher.commands.wait.report import Ending, print_ending
from watcher.commands.wait.since import parse_since
from watcher.core.clock import Clock, SystemClock
from watcher.core.config import Settings
from watcher.core.routing import Router

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_UNKNOWN",
    "EXIT_USAGE",
    "parse_keys",
    "parse_since",
    "run_wait",
]

EXIT_OK = 0
EXIT_TIMEOUT = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3  # could not tell: AWS errors, access denied
EXIT_INTERRUPTED = 130
DEFAULT_CLOCK_SKEW = 120.0
_EXIT = {"live": EXIT_OK, "timeout": EXIT_TIMEOUT, "unknown": EXIT_UNKNOWN, "interrupted": EXIT_INTERRUPTED}


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
    keys: Sequence[NamedKey] = (),
    timeout: float = 900.0,
    interval: float = 10.0,
    clock_skew: float = DEFAULT_CLOCK_SKEW,
    as_json: bool = False,
    clients: ClientFactory | None = None,
    clock: Clock | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    progress: Progress | None = None,
) -> int:
    """Wait for the deploy since `since` to be live; the exit code (0, 1 timeout, 2 usage, 3 unknown, 130)."""
    stdout, stderr = out or sys.stdout, err or sys.stderr
    people = stderr if as_json else stdout  # with --json, stdout holds the report alone
    clock = clock or SystemClock()
    router = Router(settings.sites)
    if usage_error := _unwatched_bucket(settings, keys):
        print(usage_error, file=stderr)
        return EXIT_USAGE
    calls: Counter[str] = Counter()
    s3_for, cloudfront_for = _counted_clients(settings, clients, calls)
    floor = skew_window(since, clock_skew)
    ending = Ending("unknown", EXIT_UNKNOWN, since, floor, clock_skew, calls=calls)
    started = clock.monotonic()
    listing = SiteListing(s3_for, settings.sites, floor)
    try:
        changes = listing.first(keys)
    except AWS_ERRORS as exc:
        ending.reason = f"cannot list the site buckets: {error_code(exc)}: {str(exc)[:300]}"
        return _end(ending, clock.monotonic() - started, people, stdout, stderr=stderr, as_json=as_json)
    needed, unserved = needed_paths(router, changes)
    ending.objects, ending.not_served = len(changes), unserved.not_served
    _say_window(ending, listing.seen_at, sum(c.changed_at < since for c in changes), people)
    if not needed:
        print(
            f"nothing to wait for: no object the sites serve changed since {floor.isoformat()}", file=people
        )
        ending.outcome, ending.exit_code = "live", EXIT_OK
        return _end(ending, clock.monotonic() - started, people, stdout, stderr=stderr, as_json=as_json)

    def relist() -> list[NeededPath]:
        return needed_paths(router, listing.again())[0]

    shown = progress or make_progress(stderr)
    follower = Follower(
        cloudfront_for,
        Waiting(needed, floor, started, timeout, interval),
        relist,
        clock=clock,
        progress=shown,
    )
    _follow(follower, shown, ending)
    return _end(ending, clock.monotonic() - started, people, stdout, stderr=stderr, as_json=as_json)


def _counted_clients(
    settings: Settings, clients: ClientFactory | None, calls: Counter[str]
) -> tuple[Callable[[str], S3Client], Callable[[str], CloudFrontClient]]:
    """Each site's S3 and CloudFront clients (its role_arn, else ours), every call counted in `calls`."""
    site_clients = (clients or _factory(settings)).for_sites(settings.sites)
    counted = _counting(calls)

    def s3_for(bucket: str) -> S3Client:
        return counted(site_clients.s3(bucket))

    def cloudfront_for(distribution_id: str) -> CloudFrontClient:
        return counted(site_clients.cloudfront(distribution_id))

    return s3_for, cloudfront_for


def _unwatched_bucket(settings: Settings, keys: Sequence[NamedKey]) -> str:
    """The usage error for a `--keys-from` key in a bucket no site watches ("" when there is none).

    A key in a watched bucket that the sites' prefixes or globs leave out owes nothing instead.
    """
    buckets = {site.bucket for site in settings.sites}
    other = next((k for k in keys if k.bucket not in buckets), None)
    if other is None:
        return ""
    return f"watcher wait: --keys-from: no configured site serves s3://{other.bucket}/{other.key}"[:300]


def _follow(follower: Follower, shown: Progress, ending: Ending) -> None:
    """Follow the invalidations until live, timeout, an unknown answer or Ctrl-C; record how it ended."""
    try:
        ending.outcome = follower.run()
        ending.reason = "; ".join(follower.summary.errors) if ending.outcome == "unknown" else ""
    except FatalAwsError as exc:
        ending.outcome, ending.reason = "unknown", str(exc)
    except KeyboardInterrupt:
        ending.outcome, ending.reason = "interrupted", "interrupted (Ctrl-C)"
    finally:
        shown.close()  # also on Ctrl-C: leave the terminal as it was
    ending.summary = follower.summary
    ending.exit_code = _EXIT[ending.outcome]


def _say_window(ending: Ending, s3_now: datetime, before_since: int, people: TextIO) -> None:
    """Say which changes are considered, and how far this runner's clock is from S3's."""
    ahead = (datetime.now(UTC) - s3_now).total_seconds()
    print(
        f"considering objects changed since {ending.floor.isoformat()} (TIME minus --clock-skew "
        f"{ending.clock_skew:g} s, for a runner clock ahead of S3's): {ending.objects} changed, "
        f"{before_since} of them before TIME"
        + (f"; this runner's clock is about {ahead:.0f} s ahead of S3's" if abs(ahead) >= 2 else ""),
        file=people,
    )


def _end(
    ending: Ending, waited: float, people: TextIO, stdout: TextIO, *, stderr: TextIO, as_json: bool
) -> int:
    ending.waited = waited
    if ending.outcome == "unknown":
        print(f"watcher wait: could not tell: {ending.reason}", file=stderr)
    print_ending(ending, stdout if as_json else people, as_json=as_json)
    return ending.exit_code
