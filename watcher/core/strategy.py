"""The cost strategy of a distribution: which planner, and what a plan purges.

Pure. `"exact"` (no weight) is the original planner: exact paths while the path
budget allows, then the deepest directory wildcards. A weight turns on the
optimal cover against the distribution's site index; until the index is listed
(or when listing is denied) the exact planner stands in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from watcher.core.config import InvalidationSettings
from watcher.core.cover import collateral, optimal_cover
from watcher.core.planning import InvalidationPlan, plan_invalidation
from watcher.core.site_index import DistributionIndex

__all__ = ["STRATEGY_WEIGHTS", "Strategy", "configured_weight"]

STRATEGY_WEIGHTS: dict[str, float | None] = {"exact": None, "balanced": 1.0, "frugal": 0.05}


def configured_weight(invalidation: InvalidationSettings) -> float | None:
    """What one unchanged object purged costs, in billed paths; None = exact (no site index)."""
    if invalidation.collateral_weight is not None:
        return invalidation.collateral_weight
    return STRATEGY_WEIGHTS[invalidation.strategy]


@dataclass(frozen=True, slots=True)
class Strategy:
    """How one distribution's bursts are planned."""

    name: str
    weight: float | None = None
    index: DistributionIndex | None = None

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

        `avoid`: wildcards CloudFront rejected, never planned again by the cover.
        The only guard is on the weighted cost: the cover never costs more, by this strategy's
        own weight, than the exact plan (it may bill more paths to purge far fewer objects).
        """
        targets = list(paths)
        exact = plan_invalidation(targets, max_paths=max_paths, wildcard_budget=wildcard_budget)
        if self.weight is None or self.index is None or not self.index.ready:
            return exact
        try:
            cover = optimal_cover(
                targets,
                self.index,
                weight=self.weight,
                max_paths=max_paths,
                wildcard_budget=wildcard_budget,
                upper_bound=len(exact.paths) + self.weight * collateral(exact, targets, self.index),
                avoid=avoid,
            )
        except RecursionError:  # keys nested a thousand prefixes deep: the exact plan still covers
            return exact
        return exact if cover is None else cover.plan

    def collateral(self, plan: InvalidationPlan, changed: Iterable[str]) -> int | None:
        """Unchanged objects the plan purges, or None when no index says (exact, not yet listed)."""
        if self.index is None or not self.index.ready:
            return None
        return collateral(plan, changed, self.index)
