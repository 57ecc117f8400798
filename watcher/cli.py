"""`watcher` subcommands: argument parsing and exit codes (0 ok, 1 failure, 2 bad config/usage)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from watcher import __version__
from watcher.commands.usage import HelpFormatter, epilog, explain_subcommands
from watcher.commands.wait.arguments import WAIT_DESCRIPTION, WAIT_HELP, add_wait_arguments
from watcher.core.config import ConfigError, Settings, load_settings, resolve_config_path
from watcher.ops.signals import stop_on_signals

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors exit 2 with one line, as argparse does
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _prog() -> str:
    """`watcher`, or `cloudfront-watcher` when run by that name (the same program)."""
    invoked = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "cloudfront-watcher" if invoked == "cloudfront-watcher" else "watcher"


def _build_parser() -> argparse.ArgumentParser:
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

    def with_config(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--config",
            metavar="PATH",
            help="config file (default: $WATCHER_CONFIG, else ./config.toml)",
        )
        return sub

    run = with_config(commands.add_parser("run", help="run the daemon"))
    run.add_argument("--once", action="store_true", help="drain the queue (or poll once), flush, exit")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="everything but CreateInvalidation; acknowledge nothing",
    )
    run.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        metavar="N",
        help="--once: stop receiving after N s",
    )

    check = with_config(
        commands.add_parser("check", help="validate the config and print the resolved settings")
    )
    check.add_argument("--aws", action="store_true", help="also check the queue and distributions exist")

    explain = with_config(commands.add_parser("explain", help="show what a change to an object invalidates"))
    explain.add_argument("objects", nargs="*", metavar="s3://BUCKET/KEY")
    explain.add_argument(
        "--deploy", metavar="FILE", help="s3://BUCKET/KEY lines (- = stdin): each strategy's plan"
    )
    cost = with_config(commands.add_parser("cost", help="this month's invalidations, billed paths and cost"))
    cost.add_argument("--month", metavar="YYYY-MM", help="default: this month (UTC)")
    cost.add_argument("--price", type=float, default=0.005, metavar="USD", help="a path past the free 1,000")

    with_config(
        commands.add_parser("healthcheck", help="exit 0 when the running daemon's /healthz answers 200")
    )

    setup = with_config(
        commands.add_parser("setup", help="wire the site buckets to the queue (plan; --apply)")
    )
    setup.add_argument("--apply", action="store_true", help="make the planned changes (default: only print)")
    setup.add_argument(
        "--queue-name", metavar="NAME", help="the queue to create when [sqs] queue_url is empty"
    )
    setup.add_argument("--enable-versioning", action="store_true", help="version the site buckets (README)")
    setup.add_argument("--noncurrent-days", metavar="N", type=int, default=7, help="lifecycle: N days")

    iam = with_config(commands.add_parser("iam-policy", help="print a least-privilege IAM policy (JSON)"))
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

    add_wait_arguments(with_config(commands.add_parser("wait", help=WAIT_HELP, description=WAIT_DESCRIPTION)))

    demo = commands.add_parser("demo", help="the whole loop against an embedded AWS emulator")
    demo.add_argument("--poll", action="store_true", help="show poll mode instead of SQS notifications")
    demo.add_argument("--keep-running", action="store_true", help="keep serving /metrics until Ctrl-C")
    explain_subcommands(commands)
    return parser


def _load(args: argparse.Namespace, overrides: dict[str, dict[str, Any]] | None = None) -> Settings:
    return load_settings(resolve_config_path(args.config), overrides=overrides)


def _config_error(exc: ConfigError, path: Path) -> int:
    print(f"invalid configuration ({path}):", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `watcher` console script."""
    args = _build_parser().parse_args(argv)
    handler = {
        "run": _run,
        "check": _check,
        "explain": _explain,
        "healthcheck": _healthcheck,
        "demo": _demo,
        "setup": _setup,
        "iam-policy": _iam_policy,
        "cost": _cost,
        "wait": _wait,
    }[args.command]
    try:
        return handler(args)
    except ConfigError as exc:
        return _config_error(exc, resolve_config_path(getattr(args, "config", None)))
    except KeyboardInterrupt:
        return EXIT_FAILURE


def _run(args: argparse.Namespace) -> int:
    # Signal handlers first: a SIGTERM during start-up (imports, clients, threads) is not lost.
    stop = threading.Event()
    stop_on_signals(stop)

    from watcher.app import StartupError, Watcher  # noqa: PLC0415 - keep `check`/`explain` free of boto3 start-up cost
    from watcher.core.mode import RunMode  # noqa: PLC0415
    from watcher.ops.logging import configure_logging  # noqa: PLC0415

    overrides: dict[str, dict[str, Any]] = {"watcher": {"dry_run": True}} if args.dry_run else {}
    settings = _load(args, overrides)
    configure_logging(settings.watcher.log_level, settings.watcher.log_format)
    # The run mode is decided here, once, and passed down.
    mode = RunMode(once=args.once, dry_run=settings.dry_run, max_seconds=args.max_seconds)
    try:
        watcher = Watcher(settings, mode=mode, stop=stop)
    except StartupError as exc:
        print(f"watcher run: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    code = watcher.run()
    if args.once and watcher.poll is not None and watcher.poll.took_baseline:
        # docs/reference.md (Commands): a --once poll without saved state says that it only took a baseline.
        print("poll: no saved state ([poll] state_file): this cycle took a baseline; nothing was invalidated")
    return code


def _check(args: argparse.Namespace) -> int:
    path = resolve_config_path(args.config)
    settings = _load(args)
    print(f"config OK: {path}")
    print(json.dumps(settings.to_dict(), indent=2))
    if args.aws:
        from watcher.commands.checks import check_aws  # noqa: PLC0415

        problems = check_aws(settings)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILURE if problems else EXIT_OK
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    from watcher.commands.explain import explain  # noqa: PLC0415
    from watcher.commands.explain_deploy import explain_deploy  # noqa: PLC0415

    if bool(args.objects) == bool(args.deploy):
        print("watcher explain: give either s3://BUCKET/KEY arguments or --deploy FILE", file=sys.stderr)
        return EXIT_USAGE
    settings = _load(args)
    try:
        print(explain_deploy(settings, args.deploy) if args.deploy else explain(settings, args.objects))
    except (ValueError, OSError) as exc:
        print(f"watcher explain: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _cost(args: argparse.Namespace) -> int:
    from watcher.commands.cost import print_cost, usage_error  # noqa: PLC0415

    problem = usage_error(args.month, args.price)
    if problem:
        print(f"watcher cost: {problem}", file=sys.stderr)
        return EXIT_USAGE
    return print_cost(_load(args), month=args.month, price=args.price)


def _healthcheck(args: argparse.Namespace) -> int:
    from watcher.commands.healthcheck import healthcheck  # noqa: PLC0415

    return healthcheck(_load(args))


def _demo(args: argparse.Namespace) -> int:
    from watcher.commands.demo import run_demo  # noqa: PLC0415

    return run_demo(poll=args.poll, keep_running=args.keep_running)


def _setup(args: argparse.Namespace) -> int:
    from watcher.commands.setup import run_setup  # noqa: PLC0415
    from watcher.core.sites import queue_name  # noqa: PLC0415

    # A queue still to be created has no URL yet: relax the "sqs needs queue_url" rule for setup only.
    overrides: dict[str, dict[str, Any]] = {"watcher": {"sources": ["poll"]}} if args.queue_name else {}
    settings = _load(args, overrides)
    configured = queue_name(settings.sqs.queue_url) if settings.sqs.queue_url else ""
    if args.queue_name and configured and args.queue_name != configured:
        print(
            f"watcher setup: --queue-name {args.queue_name} but [sqs] queue_url names {configured}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not (configured or args.queue_name):
        print(
            "watcher setup: [sqs] queue_url is empty: pass --queue-name NAME to create one", file=sys.stderr
        )
        return EXIT_USAGE
    versioning = {"enable_versioning": args.enable_versioning, "noncurrent_days": args.noncurrent_days}
    return run_setup(settings, queue_name=configured or args.queue_name, apply=args.apply, **versioning)


def _iam_policy(args: argparse.Namespace) -> int:
    from watcher.commands.iam_policy import print_policy  # noqa: PLC0415

    overrides: dict[str, dict[str, Any]] = {"watcher": {"sources": ["poll"]}} if args.queue_name else {}
    settings = _load(args, overrides)  # as in setup: a queue still to be created has no URL yet
    return print_policy(
        settings,
        mode=args.mode,
        account_id=args.account_id,
        for_=args.for_,
        queue_name=args.queue_name or "",
        dlq_name=args.dlq_name,
        enable_versioning=args.enable_versioning,
    )


def _wait(args: argparse.Namespace) -> int:
    from watcher.commands.wait.command import wait_command  # noqa: PLC0415

    return wait_command(args, _load)
