"""`watcher wait`'s command line (argparse only: importing it costs the CLI nothing)."""

from __future__ import annotations

import argparse

__all__ = ["WAIT_DESCRIPTION", "WAIT_HELP", "add_wait_arguments"]

WAIT_HELP = "exit 0 once every change since TIME is invalidated and Completed (for CI)"
WAIT_DESCRIPTION = (
    "Wait until every object of the configured sites changed at or after TIME is covered, on each "
    "distribution that serves it, by a Completed invalidation created after the change. "
    "No contact with the daemon."
)


def add_wait_arguments(wait: argparse.ArgumentParser) -> None:
    """--since TIME, --keys-from FILE|-, --timeout, --interval."""
    wait.add_argument("--since", required=True, metavar="TIME", help="ISO 8601 with a zone, or epoch seconds")
    wait.add_argument(
        "--keys-from", metavar="FILE|-", help="more changed objects (deletes): s3://BUCKET/KEY lines"
    )
    wait.add_argument("--timeout", type=float, default=900.0, metavar="SECONDS", help="default 900")
    wait.add_argument("--interval", type=float, default=10.0, metavar="SECONDS", help="default 10")
