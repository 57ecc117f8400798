"""`watcher iam-policy`: print a least-privilege IAM policy (JSON)."""

from __future__ import annotations

import argparse
from typing import Any

from watcher.commands.subcommands.base import Loader, Subcommand

__all__ = ["IAM_POLICY"]


def add_arguments(iam: argparse.ArgumentParser) -> None:
    """--mode, --account-id, --for, --queue-name, --enable-versioning, --dlq-name."""
    iam.add_argument("--mode", choices=["sqs", "poll", "both"], help="default: the configured sources")
    iam.add_argument("--account-id", metavar="ID", help="build ARNs offline (default: STS GetCallerIdentity)")
    iam.add_argument(
        "--for",
        dest="for_",
        choices=["watcher", "setup", "wait", "site-role"],
        default="watcher",
        help="the watcher's own role (default), the identity running `watcher setup`, "
        "the CI job running `watcher wait` (read-only), "
        "or (site-role) the permission and trust policy of each [[sites]] role_arn",
    )
    iam.add_argument("--queue-name", metavar="NAME", help="--for setup: the queue setup will create")
    iam.add_argument("--enable-versioning", action="store_true", help="--for setup: with that option")
    iam.add_argument(
        "--dlq-name",
        metavar="NAME",
        help="the queue's dead-letter queue (default: its RedrivePolicy's; offline: QUEUE-dlq; '' for none)",
    )


def main(args: argparse.Namespace, load: Loader) -> int:
    """Print the chosen policy document."""
    from watcher.commands.iam_policy import print_policy  # noqa: PLC0415

    overrides: dict[str, dict[str, Any]] = {"watcher": {"sources": ["poll"]}} if args.queue_name else {}
    settings = load(args, overrides)  # as in setup: a queue still to be created has no URL yet
    return print_policy(
        settings,
        mode=args.mode,
        account_id=args.account_id,
        for_=args.for_,
        queue_name=args.queue_name or "",
        dlq_name=args.dlq_name,
        enable_versioning=args.enable_versioning,
    )


IAM_POLICY = Subcommand("iam-policy", "print a least-privilege IAM policy (JSON)", add_arguments, main)
