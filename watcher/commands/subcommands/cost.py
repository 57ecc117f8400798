"""`watcher cost`: this month's invalidations, billed paths and cost."""

from __future__ import annotations

import argparse
import sys

from watcher.commands.exits import non_negative_number
from watcher.commands.subcommands.base import EXIT_USAGE, Loader, Subcommand

__all__ = ["COST"]


def add_arguments(cost: argparse.ArgumentParser) -> None:
    """--month, --price."""
    cost.add_argument("--month", metavar="YYYY-MM", help="default: this month (UTC)")
    cost.add_argument(
        "--price", type=non_negative_number, default=0.005, metavar="USD", help="a path past the free 1,000"
    )


def main(args: argparse.Namespace, load: Loader) -> int:
    """Print the month per distribution."""
    from watcher.commands.cost import print_cost, usage_error  # noqa: PLC0415

    problem = usage_error(args.month, args.price)
    if problem:
        print(f"watcher cost: {problem}", file=sys.stderr)
        return EXIT_USAGE
    return print_cost(load(args), month=args.month, price=args.price)


COST = Subcommand("cost", "this month's invalidations, billed paths and cost", add_arguments, main)
