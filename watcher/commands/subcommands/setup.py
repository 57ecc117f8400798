"""`watcher setup`: wire the site buckets to the queue (a plan; --apply makes it)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from watcher.commands.subcommands.base import EXIT_USAGE, Loader, Subcommand

__all__ = ["SETUP"]


def add_arguments(setup: argparse.ArgumentParser) -> None:
    """--apply, --queue-name, --enable-versioning, --noncurrent-days."""
    setup.add_argument("--apply", action="store_true", help="make the planned changes (default: only print)")
    setup.add_argument(
        "--queue-name", metavar="NAME", help="the queue to create when [sqs] queue_url is empty"
    )
    setup.add_argument("--enable-versioning", action="store_true", help="version the site buckets (README)")
    setup.add_argument("--noncurrent-days", metavar="N", type=int, default=7, help="lifecycle: N days")


def main(args: argparse.Namespace, load: Loader) -> int:
    """Print the plan (and apply it with --apply)."""
    from watcher.commands.setup import run_setup  # noqa: PLC0415
    from watcher.core.sites import queue_name  # noqa: PLC0415

    # A queue still to be created has no URL yet: relax the "sqs needs queue_url" rule for setup only.
    overrides: dict[str, dict[str, Any]] = {"watcher": {"sources": ["poll"]}} if args.queue_name else {}
    settings = load(args, overrides)
    configured = queue_name(settings.sqs.queue_url) if settings.sqs.queue_url else ""
    if args.queue_name and configured and args.queue_name != configured:
        print(
            f"watcher setup: --queue-name {args.queue_name} but [sqs] queue_url names {configured}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not (configured or args.queue_name):
        print(
            "watcher setup: [sqs] queue_url is empty: pass --queue-name NAME to create one", file=sys.stderr
        )
        return EXIT_USAGE
    versioning = {"enable_versioning": args.enable_versioning, "noncurrent_days": args.noncurrent_days}
    return run_setup(settings, queue_name=configured or args.queue_name, apply=args.apply, **versioning)


SETUP = Subcommand("setup", "wire the site buckets to the queue (plan; --apply)", add_arguments, main)
