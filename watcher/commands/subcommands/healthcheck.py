"""`watcher healthcheck`: the running daemon's /healthz, for ECS container health checks."""

from __future__ import annotations

import argparse

from watcher.commands.subcommands.base import Loader, Subcommand

__all__ = ["HEALTHCHECK"]


def add_arguments(healthcheck: argparse.ArgumentParser) -> None:
    """Only --config (added by the CLI)."""


def main(args: argparse.Namespace, load: Loader) -> int:
    """0 when /healthz answers 200."""
    from watcher.commands.healthcheck import healthcheck  # noqa: PLC0415

    return healthcheck(load(args))


HEALTHCHECK = Subcommand(
    "healthcheck", "exit 0 when the running daemon's /healthz answers 200", add_arguments, main
)
