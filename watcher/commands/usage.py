"""How the CLI explains itself: each subcommand's description, defaults and exit codes.

`explain_subcommands` runs once all subcommands are added, so a new subcommand gets a
description (its one-line summary) and an epilog (its exit codes; where the config is
looked up and the WATCHER__ variables, when it reads one) without more code. What its
exit codes mean goes in EXIT_CODES; without an entry it gets the general meanings.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["CONFIG_LOOKUP", "EXIT_CODES", "HelpFormatter", "epilog", "explain_subcommands"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (when it has a meaningful one) and keeps the epilog's lines."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in help_text:
            return help_text
        return super()._get_help_string(action)


# What each subcommand's exit codes mean (the epilog of `watcher SUBCOMMAND --help`). A
# subcommand missing here gets the general meaning of each code.
EXIT_CODES: dict[str, dict[int, str]] = {
    "": {
        0: "ok",
        1: "failure at run time (also: stdout closed before the output was written)",
        2: "invalid configuration or usage",
    },
    "run": {
        0: "stopped cleanly (SIGTERM); --once: every change seen was covered",
        1: "start-up failed; --once: some changes were left for a retry (stderr says why)",
        2: "invalid configuration or usage",
    },
    "check": {
        0: "the configuration is valid (and, with --aws, the resources exist)",
        1: "--aws: a queue or distribution is missing or unreachable",
        2: "invalid configuration (one line per problem) or usage",
    },
    "explain": {0: "explained", 2: "invalid configuration, object or usage"},
    "healthcheck": {
        0: "the daemon's /healthz answered 200",
        1: "unhealthy or not reachable",
        2: "invalid configuration or usage",
    },
    "setup": {
        0: "planned (or, with --apply, applied)",
        1: "something blocks the plan, or an AWS call failed",
        2: "invalid configuration or usage",
    },
    "iam-policy": {
        0: "policy printed",
        1: "the account id could not be found",
        2: "invalid configuration, no queue or region to name, or usage",
    },
    "wait": {
        0: "every change since --since is covered by a completed invalidation",
        1: "timeout (the pending paths are printed), or an AWS call that cannot succeed",
        2: "invalid configuration or usage",
    },
    "cost": {
        0: "the bill of every configured distribution was read whole",
        1: "incomplete: a distribution could not be read, or its month has more invalidations than paged",
        2: "invalid configuration or usage",
    },
    "demo": {
        0: "the deploy was invalidated (--keep-running: then Ctrl-C ends it)",
        1: "the demo did not see its invalidation",
        2: "usage",
    },
}
CONFIG_LOOKUP = "--config PATH (before or after the subcommand), else $WATCHER_CONFIG, else ./config.toml"
ENVIRONMENT_HELP = (
    "WATCHER__SECTION__KEY overrides one key of the file (e.g. WATCHER__SQS__QUEUE_URL);\n"
    "  strings as written; booleans and numbers as JSON literals (true, 7, 0.5), checked\n"
    "  as strictly as the file; lists and WATCHER__SITES as JSON.\n"
    "  Precedence: flag > environment > file > default."
)


# Every command: Ctrl-C (commands/exits.py; `run` after its drain).
INTERRUPTED = (130, "interrupted (Ctrl-C)")


def epilog(command: str, *, reads_config: bool) -> str:
    codes = dict([INTERRUPTED, *EXIT_CODES.get(command, EXIT_CODES[""]).items()])
    lines = ["exit codes:", *(f"  {code}  {meaning}" for code, meaning in sorted(codes.items()))]
    if reads_config:
        lines += ["", "configuration:", f"  {CONFIG_LOOKUP}", f"  {ENVIRONMENT_HELP}"]
    return "\n".join(lines)


def explain_subcommands(commands: argparse._SubParsersAction[Any]) -> None:
    """Gives every subcommand a description (its one-line summary) and an epilog (exit codes, config).

    Runs after all subcommands are added, so a new one is covered without more code; its
    exit codes go in EXIT_CODES.
    """
    summaries = {action.dest: action.help or "" for action in commands._choices_actions}
    for name, sub in commands.choices.items():
        sub.formatter_class = HelpFormatter
        summary = summaries.get(name, "")
        if not sub.description:
            sub.description = summary[:1].upper() + summary[1:] + ("" if summary.endswith(".") else ".")
        reads_config = False
        for action in sub._actions:
            if "--config" in action.option_strings:
                reads_config = True
                action.default = argparse.SUPPRESS  # absent: keep a --config given before the subcommand
        if not sub.epilog:
            sub.epilog = epilog(name, reads_config=reads_config)
