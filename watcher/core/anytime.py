"""The planner under a deadline: the best cover found so far when time is up.

Pure: time comes from the `Deadline` passed in (the injected clock). Passes of
growing cost, each bounded by the best cover so far (which prunes the next):
the quick greedy cover (`watcher.core.greedy_cover`), the search keeping a few
partial covers per node (`beam`), then the exact search, whose answer is the
optimum. The caller's `upper_bound` is the exact plan's cost, so whatever comes
back is never worse than exact; None means nothing better than it was found.
"""

from __future__ import annotations

from collections.abc import Collection

from watcher.core.candidates import ObjectCounts, Prepared, prepare
from watcher.core.clock import Deadline
from watcher.core.cover import Cover, PlannerTimeout, optimal_cover
from watcher.core.greedy_cover import greedy_cover
from watcher.core.planning import InvalidationPlan, normalize

__all__ = ["BEAMS", "GREEDY_PRICES", "anytime_cover"]

# (price of a path, price of a wildcard) the greedy passes try, most often best first: a
# wildcard saving few paths wastes one of the few free, so new wildcards are priced.
GREEDY_PRICES = ((0.0, 16.0), (0.0, 64.0), (0.0, 0.0), (0.0, 256.0))
# Partial covers kept per node and wildcard count by the passes before the exact one.
BEAMS = (2, 8)


def anytime_cover(
    paths: Collection[str],
    index: ObjectCounts,
    *,
    weight: float,
    max_paths: int,
    wildcard_budget: int,
    upper_bound: float | None,
    deadline: Deadline,
    avoid: Collection[str] = frozenset(),
) -> Cover | None:
    """The cheapest cover found before `deadline` costing at most `upper_bound` (None: none found).

    Each pass runs to its end or stops at the deadline; a pass that completes never
    returns worse than the one before. Raises ValueError for a path that fails `validate_path`.
    """
    targets = normalize(paths)
    if not targets:
        return Cover(InvalidationPlan(()), 0, 0, 0)
    best: Cover | None = None
    bound = upper_bound
    prepared = prepare(targets, index, avoid)  # one trie and one count per prefix for every pass

    def keep(cover: Cover | None) -> None:
        nonlocal best, bound
        if cover is None or (bound is not None and cover.cost(weight) > bound + 1e-9):
            return
        if best is None or cover.cost(weight) < best.cost(weight):
            best, bound = cover, cover.cost(weight)

    try:
        keep(_greedy(prepared, index, weight, max_paths, wildcard_budget, deadline))
    except PlannerTimeout:
        return best  # not even one greedy pass in time: the caller's exact plan stands
    for beam in (*BEAMS, None):
        if deadline.expired():
            break
        try:
            cover = optimal_cover(
                targets,
                index,
                weight=weight,
                max_paths=max_paths,
                wildcard_budget=wildcard_budget,
                upper_bound=bound,
                avoid=avoid,
                deadline=deadline,
                beam=beam,
                prepared=prepared,
            )
        except PlannerTimeout:
            break
        keep(cover)
    return best


def _greedy(  # noqa: PLR0917 - one pass's inputs
    prepared: Prepared,
    index: ObjectCounts,
    weight: float,
    max_paths: int,
    wildcard_budget: int,
    deadline: Deadline,
) -> Cover | None:
    """The greedy passes (`GREEDY_PRICES`); raises PlannerTimeout when not even one ends in time."""
    return greedy_cover(
        prepared.targets,
        index,
        weight=weight,
        max_paths=max_paths,
        wildcard_budget=wildcard_budget,
        prices=GREEDY_PRICES,
        deadline=deadline,
        prepared=prepared,
    )
