"""`watcher demo`: the whole loop against an embedded AWS emulator (no config file)."""

from __future__ import annotations

import argparse

from watcher.commands.subcommands.base import Loader, Subcommand

__all__ = ["DEMO"]


def add_arguments(demo: argparse.ArgumentParser) -> None:
    """--poll, --keep-running."""
    demo.add_argument("--poll", action="store_true", help="show poll mode instead of SQS notifications")
    demo.add_argument("--keep-running", action="store_true", help="keep serving /metrics until Ctrl-C")


def main(args: argparse.Namespace, load: Loader) -> int:
    """Run the demo; 0 when its deploy was invalidated."""
    from watcher.commands.demo import run_demo  # noqa: PLC0415

    return run_demo(poll=args.poll, keep_running=args.keep_running)


DEMO = Subcommand(
    "demo", "the whole loop against an embedded AWS emulator", add_arguments, main, reads_config=False
)
