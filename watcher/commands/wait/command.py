"""`watcher wait` from the command line: every usage error is one line (exit 2), before any AWS call."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watcher.commands.wait.listing import ChangedObject, parse_keys
from watcher.commands.wait.run import EXIT_USAGE, run_wait
from watcher.commands.wait.since import parse_since
from watcher.core.config import ConfigError, Settings, resolve_config_path

__all__ = ["wait_command"]

Loader = Callable[[argparse.Namespace, dict[str, dict[str, Any]]], Settings]


def wait_command(args: argparse.Namespace, load: Loader) -> int:
    """Parse TIME, read --keys-from, load the config (only [[sites]] and [aws] matter), wait."""
    if not (args.timeout > 0 and args.interval > 0):
        print("watcher wait: --timeout and --interval must be positive", file=sys.stderr)
        return EXIT_USAGE
    try:
        since = parse_since(args.since)
        keys: list[ChangedObject] = []
        if args.keys_from == "-":
            keys = parse_keys(sys.stdin, since)
        elif args.keys_from:
            with Path(args.keys_from).open(encoding="utf-8") as handle:
                keys = parse_keys(handle, since)
        # A CI copy of the config needs no queue: wait reads only [[sites]] and [aws].
        settings = load(args, {"watcher": {"sources": ["poll"]}})
    except ConfigError as exc:
        path = resolve_config_path(getattr(args, "config", None))
        print(f"watcher wait: invalid configuration ({path}): {'; '.join(exc.problems)}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError) as exc:
        print(f"watcher wait: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run_wait(settings, since=since, keys=keys, timeout=args.timeout, interval=args.interval)
