"""`watcher check`: validate the config, print the resolved settings; --aws checks the resources."""

from __future__ import annotations

import argparse
import json
import sys

from watcher.commands.subcommands.base import EXIT_FAILURE, EXIT_OK, Loader, Subcommand
from watcher.core.config import resolve_config_path

__all__ = ["CHECK"]


def add_arguments(check: argparse.ArgumentParser) -> None:
    """--aws."""
    check.add_argument("--aws", action="store_true", help="also check the queue and distributions exist")


def main(args: argparse.Namespace, load: Loader) -> int:
    """Print the settings (exit 0); with --aws, one line per missing or unreachable resource (exit 1)."""
    path = resolve_config_path(args.config)
    settings = load(args)
    print(f"config OK: {path}")
    print(json.dumps(settings.to_dict(), indent=2))
    if args.aws:
        from watcher.commands.checks import check_aws  # noqa: PLC0415

        problems = check_aws(settings)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILURE if problems else EXIT_OK
    return EXIT_OK


CHECK = Subcommand("check", "validate the config and print the resolved settings", add_arguments, main)
