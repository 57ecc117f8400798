"""`watcher setup`: wire the site buckets to the watcher's queue, idempotently.

plan.py decides (pure), discover.py reads the account, apply.py changes it.
"""

from __future__ import annotations

import sys
from typing import TextIO

from watcher.aws import ClientFactory
from watcher.commands.setup.apply import apply_actions
from watcher.commands.setup.discover import SetupClients, SetupError, observe, resolve_target
from watcher.commands.setup.plan import SetupPlan, plan_setup
from watcher.commands.setup.state import Observed
from watcher.commands.setup.versioning import DEFAULT_NONCURRENT_DAYS, observe_versioning, plan_versioning
from watcher.core.config import Settings

__all__ = ["SetupError", "run_setup"]


def _print_plan(plan: SetupPlan, out: TextIO) -> None:
    for fact in plan.facts:
        print(f"  = {fact}", file=out)
    for action in plan.actions:
        print(f"  + {action.summary}", file=out)


def run_setup(
    settings: Settings,
    *,
    queue_name: str,
    apply: bool,
    clients: ClientFactory | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    enable_versioning: bool = False,
    noncurrent_days: int = DEFAULT_NONCURRENT_DAYS,
) -> int:
    """Print the plan (and with `apply`, make it); 0 ok, 1 when something blocks or fails.

    `enable_versioning`: also version the site buckets, with a lifecycle rule expiring
    noncurrent versions after `noncurrent_days` (merged into their lifecycle rules).
    """
    out, err = out or sys.stdout, err or sys.stderr
    if not 1 <= noncurrent_days <= 3650:
        print(f"watcher setup: --noncurrent-days must be 1 to 3650 (got {noncurrent_days})", file=err)
        return 2
    factory = clients or SetupClients(region=settings.aws.region)
    try:
        target = resolve_target(settings, queue_name, factory)
    except SetupError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        return 1
    observed = observe(settings, target, factory)
    plan = plan_setup(target, observed)
    buckets = observe_versioning(factory, target.buckets, lifecycle=enable_versioning)
    versioning = plan_versioning(buckets, enable=enable_versioning, days=noncurrent_days)
    plan.facts += versioning.facts
    plan.actions += versioning.actions
    plan.problems += versioning.problems
    print(f"setup plan for account {target.account}, region {target.region}:", file=out)
    _print_plan(plan, out)
    if plan.problems:
        for problem in plan.problems:
            print(problem, file=err)
        print("nothing changed: fix the problems above and run setup again", file=out)
        return 1
    if not plan.actions:
        print("no changes: everything is in place", file=out)
    elif not apply:
        print(f"{len(plan.actions)} change(s) planned; nothing changed (run again with --apply)", file=out)
    else:
        problems = apply_actions(factory, plan.actions, log=lambda line: print(line, file=out))
        for problem in problems:
            print(problem, file=err)
        if problems:
            return 1
        print(f"applied {len(plan.actions)} change(s)", file=out)
    if not settings.sqs.queue_url:
        url = _queue_url(observed, factory, queue_name, apply=apply)
        print(f'put this in the config: [sqs] queue_url = "{url}"', file=out)
    return 0


def _queue_url(observed: Observed, factory: ClientFactory, queue_name: str, *, apply: bool) -> str:
    """The URL to put in the config: an existing queue's, else the one --apply created."""
    if observed.queue.url:
        return observed.queue.url
    return factory.sqs().get_queue_url(QueueName=queue_name)["QueueUrl"] if apply else "(created by --apply)"
