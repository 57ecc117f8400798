"""`watcher explain`: what a change to an object invalidates; --deploy: each strategy's plan."""

from __future__ import annotations

import argparse
import sys

from watcher.commands.subcommands.base import EXIT_OK, EXIT_USAGE, Loader, Subcommand

__all__ = ["EXPLAIN"]


def add_arguments(explain: argparse.ArgumentParser) -> None:
    """s3://BUCKET/KEY ..., or --deploy FILE."""
    explain.add_argument("objects", nargs="*", metavar="s3://BUCKET/KEY")
    explain.add_argument(
        "--deploy", metavar="FILE", help="s3://BUCKET/KEY lines (- = stdin): each strategy's plan"
    )


def main(args: argparse.Namespace, load: Loader) -> int:
    """Print the explanation; exit 2 for a usage or object error."""
    from watcher.commands.explain import explain  # noqa: PLC0415
    from watcher.commands.explain_deploy import explain_deploy  # noqa: PLC0415

    if bool(args.objects) == bool(args.deploy):
        print("watcher explain: give either s3://BUCKET/KEY arguments or --deploy FILE", file=sys.stderr)
        return EXIT_USAGE
    settings = load(args)
    try:
        print(explain_deploy(settings, args.deploy) if args.deploy else explain(settings, args.objects))
    except (ValueError, OSError) as exc:
        print(f"watcher explain: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


EXPLAIN = Subcommand("explain", "show what a change to an object invalidates", add_arguments, main)
