"""`watcher wait` from the command line: every usage error is one line (exit 2), before any AWS call."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watcher.commands.wait.keys import NamedKey, parse_keys
from watcher.commands.wait.run import EXIT_INTERRUPTED, EXIT_USAGE, run_wait
from watcher.commands.wait.since import parse_since
from watcher.core.config import ConfigError, Settings, resolve_config_path

__all__ = ["wait_command"]

Loader = Callable[[argparse.Namespace, dict[str, dict[str, Any]]], Settings]


def wait_command(args: argparse.Namespace, load: Loader) -> int:
    """Parse TIME, read --keys-from, load the config (only [[sites]] and [aws] matter), wait."""
    problem = _number_problem(args)
    if problem:
        print(f"watcher wait: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        since = parse_since(args.since)
        keys: list[NamedKey] = []
        if args.keys_from == "-":
            keys = parse_keys(sys.stdin)
        elif args.keys_from:
            # newline="" keeps the aws CLI's carriage returns for parse_keys to split on.
            with Path(args.keys_from).open(encoding="utf-8", newline="") as handle:
                keys = parse_keys(handle)
        # A CI copy of the config needs no queue: wait reads only [[sites]] and [aws].
        settings = load(args, {"watcher": {"sources": ["poll"]}})
    except ConfigError as exc:
        path = resolve_config_path(getattr(args, "config", None))
        print(f"watcher wait: invalid configuration ({path}): {'; '.join(exc.problems)}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError) as exc:
        print(f"watcher wait: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return run_wait(
            settings,
            since=since,
            keys=keys,
            timeout=args.timeout,
            interval=args.interval,
            clock_skew=args.clock_skew,
            as_json=args.json,
        )
    except KeyboardInterrupt:  # while listing (run_wait reports an interrupted wait itself)
        print("watcher wait: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _number_problem(args: argparse.Namespace) -> str:
    """One line for a --timeout, --interval or --clock-skew out of bounds; "" when all are fine."""
    if not (math.isfinite(args.timeout) and 0 < args.timeout <= 86_400):
        return "--timeout must be between 0 and 86400 seconds"
    # Each look costs a ListInvalidations per distribution: 0.001 once made 65 of them in 3 s.
    if not (math.isfinite(args.interval) and 1 <= args.interval <= 3_600):
        return "--interval must be between 1 and 3600 seconds"
    if not (math.isfinite(args.clock_skew) and 0 <= args.clock_skew <= 86_400):
        return "--clock-skew must be between 0 and 86400 seconds"
    return ""
