"""The cost strategy of a distribution: which planner, and what a plan purges.

Pure. `"exact"` (no weight) is the original planner: exact paths while the path
budget allows, then the deepest directory wildcards. A weight turns on the
optimal cover against the distribution's site index; until the index is listed
(or when listing is denied) the exact planner stands in.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from watcher.core.anytime import anytime_cover
from watcher.core.clock import Clock, Deadline
from watcher.core.config import InvalidationSettings
from watcher.core.cover import collateral, optimal_cover
from watcher.core.planning import InvalidationPlan, plan_invalidation
from watcher.core.site_index import DistributionIndex

__all__ = ["STRATEGY_WEIGHTS", "Strategy", "configured_strategy", "configured_weight"]

STRATEGY_WEIGHTS: dict[str, float | None] = {"exact": None, "balanced": 1.0, "frugal": 0.05}


def configured_weight(invalidation: InvalidationSettings) -> float | None:
    """What one unchanged object purged costs, in billed paths; None = exact (no site index)."""
    if invalidation.collateral_weight is not None:
        return invalidation.collateral_weight
    return STRATEGY_WEIGHTS[invalidation.strategy]


def configured_strategy(
    invalidation: InvalidationSettings, index: DistributionIndex | None, clock: Clock | None = None
) -> Strategy:
    """The strategy `[invalidation]` configures, over the distribution's index (None: exact).

    `clock` times the planner's budget (None: unbounded).
    """
    weight = configured_weight(invalidation) if index is not None else None
    name: str = invalidation.strategy
    if invalidation.collateral_weight is not None and index is not None:
        name = f"weight {invalidation.collateral_weight:g}"
    return Strategy(
        name,
        weight,
        index,
        reserve=invalidation.wildcard_reserve,
        budget_seconds=invalidation.planner_budget_ms / 1000,
        clock=clock,
    )


@dataclass(frozen=True, slots=True)
class Strategy:
    """How one distribution's bursts are planned.

    `reserve`: wildcards left free for the next burst unless this one cannot fit otherwise;
    `budget_seconds`: the planner's deadline on `clock` (either None: unbounded).
    """

    name: str
    weight: float | None = None
    index: DistributionIndex | None = None
    reserve: int = 0
    budget_seconds: float | None = None
    clock: Clock | None = None

    @property
    def uses_index(self) -> bool:
        """Whether this strategy plans against a listed site index right now."""
        return self.weight is not None and self.index is not None and self.index.ready

    def __call__(
        self,
        paths: Iterable[str],
        *,
        max_paths: int,
        wildcard_budget: int,
        avoid: Collection[str] = frozenset(),
    ) -> InvalidationPlan:
        """The plan (a `Planner`): the cheapest cover when the index is ready, else the exact planner.

        The only guard is on the weighted cost: the cover never costs more, by this strategy's
        own weight, than the exact plan (it may bill more paths to purge far fewer objects).
        It spends no more than `wildcard_budget - reserve` wildcards when that fits.
        `avoid`: wildcards CloudFront rejected, never planned again by the cover.
        """
        targets = list(paths)
        deadline = None
        if self.clock is not None and self.budget_seconds is not None and self.uses_index:
            deadline = Deadline(self.clock, self.budget_seconds)
        kept = max(0, wildcard_budget - self.reserve)
        if kept < wildcard_budget:
            plan = self._plan(targets, max_paths, kept, avoid, deadline)
            if plan is not None:
                return plan
        plan = self._plan(targets, max_paths, wildcard_budget, avoid, deadline)
        return plan or plan_invalidation(targets, max_paths=max_paths, wildcard_budget=wildcard_budget)

    def _plan(
        self,
        targets: list[str],
        max_paths: int,
        wildcard_budget: int,
        avoid: Collection[str],
        deadline: Deadline | None,
    ) -> InvalidationPlan | None:
        """The plan within these limits, or None when none fits them."""
        exact = plan_invalidation(targets, max_paths=max_paths, wildcard_budget=wildcard_budget)
        fits = len(exact.paths) <= max_paths and exact.wildcards <= wildcard_budget
        if self.weight is None or self.index is None or not self.index.ready:
            return exact if fits else None
        bound = len(exact.paths) + self.weight * collateral(exact, targets, self.index) if fits else None
        # Unbounded: the exact search; with a deadline: the best cover found before it.
        search = optimal_cover if deadline is None else functools.partial(anytime_cover, deadline=deadline)
        try:
            cover = search(
                targets,
                self.index,
                weight=self.weight,
                max_paths=max_paths,
                wildcard_budget=wildcard_budget,
                upper_bound=bound,
                avoid=avoid,
            )
        except RecursionError:  # keys nested a thousand prefixes deep: the exact plan still covers
            return exact if fits else None
        if cover is None:
            return exact if fits else None
        return cover.plan

    def collateral(self, plan: InvalidationPlan, changed: Iterable[str]) -> int | None:
        """Unchanged objects the plan purges, or None when no index says (exact, not yet listed)."""
        if self.index is None or not self.index.ready:
            return None
        return collateral(plan, changed, self.index)
