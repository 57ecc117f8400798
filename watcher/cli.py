"""`watcher` subcommands: argument parsing and exit codes (commands/exits.py says what each means)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from watcher import __version__
from watcher.commands.exits import EXIT_USAGE, guarded
from watcher.commands.subcommands import SUBCOMMANDS
from watcher.commands.usage import HelpFormatter, epilog, explain_subcommands
from watcher.core.config import ConfigError, Settings, load_settings, resolve_config_path

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors exit 2 with one line, as argparse does
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _prog() -> str:
    """`watcher`, or `cloudfront-watcher` when run by that name (the same program)."""
    invoked = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "cloudfront-watcher" if invoked == "cloudfront-watcher" else "watcher"


def _build_parser() -> argparse.ArgumentParser:
    """The parser, assembled: each subcommand adds its own arguments (commands/subcommands/)."""
    parser = _Parser(
        prog=_prog(),
        description="Keeps CloudFront distributions fresh when S3 origins change "
        "(also installed as `cloudfront-watcher`).",
        epilog=epilog("", reads_config=True) + "\n\n`watcher SUBCOMMAND --help` explains each subcommand.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cloudfront-watcher {__version__}")
    # Accepted before the subcommand too: `watcher --config X check` = `watcher check --config X`.
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file, also accepted after the subcommand (default: $WATCHER_CONFIG, else ./config.toml)",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="SUBCOMMAND"
    )
    for subcommand in SUBCOMMANDS:
        sub = commands.add_parser(subcommand.name, help=subcommand.help, description=subcommand.description)
        if subcommand.reads_config:
            sub.add_argument(
                "--config",
                metavar="PATH",
                help="config file (default: $WATCHER_CONFIG, else ./config.toml)",
            )
        subcommand.add_arguments(sub)
        sub.set_defaults(handler=subcommand.main)
    explain_subcommands(commands)
    return parser


def _load(args: argparse.Namespace, overrides: dict[str, dict[str, Any]] | None = None) -> Settings:
    return load_settings(resolve_config_path(args.config), overrides=overrides)


def _config_error(exc: ConfigError, path: Path) -> int:
    print(f"invalid configuration ({path}):", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_USAGE


@guarded(_prog)  # a closed stdout and Ctrl-C, parsing included
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `watcher` console script."""
    args = _build_parser().parse_args(argv)
    try:
        return int(args.handler(args, _load))
    except ConfigError as exc:
        return _config_error(exc, resolve_config_path(getattr(args, "config", None)))
