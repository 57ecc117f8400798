"""The subcommands of `watcher`, in the order `--help` lists them; see base.py."""

from watcher.commands.subcommands.base import Subcommand
from watcher.commands.subcommands.check import CHECK
from watcher.commands.subcommands.cost import COST
from watcher.commands.subcommands.demo import DEMO
from watcher.commands.subcommands.explain import EXPLAIN
from watcher.commands.subcommands.healthcheck import HEALTHCHECK
from watcher.commands.subcommands.iam_policy import IAM_POLICY
from watcher.commands.subcommands.run import RUN
from watcher.commands.subcommands.setup import SETUP
from watcher.commands.subcommands.wait import WAIT

__all__ = ["SUBCOMMANDS", "Subcommand"]

SUBCOMMANDS: tuple[Subcommand, ...] = (RUN, CHECK, EXPLAIN, COST, HEALTHCHECK, SETUP, IAM_POLICY, WAIT, DEMO)
