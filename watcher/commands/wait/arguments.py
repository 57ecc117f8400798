"""`watcher wait`'s command line (argparse only: importing it costs the CLI nothing)."""

from __future__ import annotations

import argparse

__all__ = ["WAIT_DESCRIPTION", "WAIT_HELP", "add_wait_arguments"]

WAIT_HELP = "exit 0 once every change since TIME is invalidated and Completed (for CI)"
WAIT_DESCRIPTION = (
    "Wait until every object of the configured sites changed at or after TIME (minus --clock-skew) "
    "is covered, on each distribution that serves it, by a Completed invalidation created after "
    "the change. No contact with the daemon. Exit 0 live, 1 timeout, 2 usage or configuration, "
    "3 could not tell (AWS errors, access denied), 130 interrupted."
)


def add_wait_arguments(wait: argparse.ArgumentParser) -> None:
    """--since TIME, --keys-from FILE|-, --timeout, --interval, --clock-skew, --json."""
    wait.add_argument("--since", required=True, metavar="TIME", help="ISO 8601 with a zone, or epoch seconds")
    wait.add_argument(
        "--keys-from",
        metavar="FILE|-",
        help="more changed objects: s3://BUCKET/KEY lines (deletes), or the output of `aws s3 sync` as it is",
    )
    wait.add_argument("--timeout", type=float, default=900.0, metavar="SECONDS", help="default 900")
    wait.add_argument(
        "--interval", type=float, default=10.0, metavar="SECONDS", help="at least 1; default 10"
    )
    wait.add_argument(
        "--clock-skew",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="also consider objects changed this long before TIME (a runner's clock ahead); default 120",
    )
    wait.add_argument(
        "--json",
        action="store_true",
        help="one JSON report on stdout (docs/wait-report.schema.json); progress on stderr",
    )
