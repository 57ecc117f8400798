"""`watcher run`: the daemon."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from watcher.commands.exits import seconds_up_to_a_day
from watcher.commands.subcommands.base import EXIT_FAILURE, EXIT_INTERRUPTED, Loader, Subcommand

__all__ = ["RUN"]


def add_arguments(run: argparse.ArgumentParser) -> None:
    """--once, --dry-run, --max-seconds."""
    run.add_argument("--once", action="store_true", help="drain the queue (or poll once), flush, exit")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="everything but CreateInvalidation; acknowledge nothing",
    )
    run.add_argument(
        "--max-seconds",
        type=seconds_up_to_a_day,
        default=300.0,
        metavar="N",
        help="--once: stop receiving after N s",
    )


def main(args: argparse.Namespace, load: Loader) -> int:
    """Build the daemon and run it until stopped (or drained, with --once)."""
    # Signal handlers first: a SIGTERM during start-up (imports, clients, threads) is not lost.
    from watcher.ops.signals import stop_on_signals  # noqa: PLC0415

    stop = threading.Event()
    received = stop_on_signals(stop)

    from watcher.app import StartupError, Watcher  # noqa: PLC0415 - keep `check`/`explain` free of boto3 start-up cost
    from watcher.core.mode import RunMode  # noqa: PLC0415
    from watcher.ops.logging import configure_logging  # noqa: PLC0415

    overrides: dict[str, dict[str, Any]] = {"watcher": {"dry_run": True}} if args.dry_run else {}
    settings = load(args, overrides)
    configure_logging(settings.watcher.log_level, settings.watcher.log_format)
    # The run mode is decided here, once, and passed down.
    mode = RunMode(once=args.once, dry_run=settings.dry_run, max_seconds=args.max_seconds)
    try:
        watcher = Watcher(settings, mode=mode, stop=stop)
    except StartupError as exc:
        print(f"watcher run: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    code = watcher.run()
    if args.once and watcher.poll is not None and watcher.poll.took_baseline:
        # docs/reference.md (Commands): a --once poll without saved state says that it only took a baseline.
        print("poll: no saved state ([poll] state_file): this cycle took a baseline; nothing was invalidated")
    if watcher.once_failure:
        print(f"watcher run --once: exit 1: {watcher.once_failure}", file=sys.stderr)
    # Ctrl-C drains like SIGTERM, then says it was interrupted; SIGTERM is a daemon's normal end.
    return EXIT_INTERRUPTED if received.interrupted else code


RUN = Subcommand("run", "run the daemon", add_arguments, main)
