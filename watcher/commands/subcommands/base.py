"""What a subcommand is to the CLI: its name, its one-line help, its arguments and its entry.

Each subcommand module owns its arguments (argparse only at import: the CLI stays cheap to
start) and imports what it runs only when it runs. `watcher.cli` assembles the parser from
`SUBCOMMANDS` (this package's __init__) and adds nothing of its own but `--config`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from watcher.commands.exits import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from watcher.core.config import Settings

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "Loader", "Subcommand"]


class Loader(Protocol):
    """Loads the settings the command line points at (`--config`, environment), with overrides."""

    def __call__(
        self, args: argparse.Namespace, overrides: dict[str, dict[str, Any]] | None = None
    ) -> Settings:
        """The settings; ConfigError when they are invalid."""
        ...


@dataclass(frozen=True, slots=True)
class Subcommand:
    """One `watcher SUBCOMMAND`: `add_arguments` fills its parser, `main` runs it (exit code)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    main: Callable[[argparse.Namespace, Loader], int]
    description: str = ""
    reads_config: bool = True
