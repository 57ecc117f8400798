"""`watcher wait`: exit 0 once every change since TIME is invalidated and Completed (for CI)."""

from __future__ import annotations

import argparse

from watcher.commands.subcommands.base import Loader, Subcommand
from watcher.commands.wait.arguments import WAIT_DESCRIPTION, WAIT_HELP, add_wait_arguments

__all__ = ["WAIT"]


def main(args: argparse.Namespace, load: Loader) -> int:
    """Wait (watcher/commands/wait/)."""
    from watcher.commands.wait.command import wait_command  # noqa: PLC0415

    return wait_command(args, load)


WAIT = Subcommand("wait", WAIT_HELP, add_wait_arguments, main, description=WAIT_DESCRIPTION)
