"""The planner under a deadline: an answer in time, never worse than exact, the optimum given time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.clock import TickingClock
from tests.support.deploy_shapes import re_rendered_blog
from tests.unit.test_cover import _PATHS, _cost
from watcher.core.cover import collateral, optimal_cover
from watcher.core.greedy_cover import greedy_cover
from watcher.core.planning import normalize
from watcher.core.site_index import DistributionIndex, SiteIndex
from watcher.core.strategy import Strategy


def _spread(directories: int, changed_per_directory: int) -> tuple[list[str], list[str]]:
    """A site of `directories` x 40 pages, some pages of each directory changed."""
    keys = [f"/docs/s{d // 15}/t{d % 15}/p{p:02}.html" for d in range(directories) for p in range(40)]
    changed = [k for k in keys if int(k[-7:-5]) % (40 // changed_per_directory) == 0]
    return keys, changed


def test_the_planner_answers_at_its_deadline_and_never_worse_than_exact() -> None:
    # GIVEN 2,000 pages changed over 400 directories of a 16,000-page site, and a planner
    # budget of 50 ms on a clock where every reading takes 1 ms (so the search cannot finish)
    keys, changed = _spread(400, 5)
    index = DistributionIndex([SiteIndex(keys)])
    clock = TickingClock(tick=0.001)
    strategy = Strategy("balanced", 1.0, index, budget_seconds=0.05, clock=clock)
    # WHEN it plans the burst at 100 paths and 13 wildcards
    started = clock.monotonic()
    plan = strategy(changed, max_paths=100, wildcard_budget=13)
    # THEN it stopped at its deadline (a reading or two past it) with a cover within the limits
    assert clock.monotonic() - started <= 0.05 + 0.003
    assert all(plan.covers(path) for path in changed)
    assert len(plan.paths) <= 100
    assert plan.wildcards <= 13
    # AND it costs no more than the exact plan by its weight
    exact = Strategy("exact")(changed, max_paths=100, wildcard_budget=13)
    assert _cost(plan, changed, index, 1.0) <= _cost(exact, changed, index, 1.0)


def test_with_no_time_at_all_the_answer_is_still_a_cover_no_worse_than_exact() -> None:
    keys, changed = re_rendered_blog()
    index = DistributionIndex([SiteIndex(keys)])
    # GIVEN a budget that is over before the first pass ends
    strategy = Strategy("balanced", 1.0, index, budget_seconds=0.0, clock=TickingClock(tick=0.001))
    plan = strategy(changed, max_paths=100, wildcard_budget=13)
    exact = Strategy("exact")(changed, max_paths=100, wildcard_budget=13)
    # THEN the first (greedy) pass still gives a cover, and it beats exact's whole-blog purge
    assert all(plan.covers(path) for path in changed)
    assert len(plan.paths) <= 100
    assert _cost(plan, changed, index, 1.0) < _cost(exact, changed, index, 1.0)


def test_given_time_the_planner_reaches_the_optimum() -> None:
    # GIVEN the re-rendered blog and a budget the search completes within
    keys, changed = re_rendered_blog()
    index = DistributionIndex([SiteIndex(keys)])
    strategy = Strategy("balanced", 1.0, index, budget_seconds=3600.0, clock=TickingClock(tick=0.0))
    plan = strategy(changed, max_paths=100, wildcard_budget=13)
    optimum = optimal_cover(changed, index, weight=1.0, max_paths=100, wildcard_budget=13)
    # THEN the plan is the optimum
    assert optimum is not None
    assert _cost(plan, changed, index, 1.0) == optimum.cost(1.0)


@pytest.mark.property
@given(
    site=st.lists(_PATHS, min_size=1, max_size=20, unique=True),
    picks=st.lists(st.integers(min_value=0, max_value=19), min_size=1, max_size=10),
    weight=st.sampled_from([0.0, 0.05, 1.0, 3.0]),
    max_paths=st.integers(min_value=1, max_value=8),
    budget=st.integers(min_value=1, max_value=5),
    per_wildcard=st.sampled_from([0.0, 16.0, 256.0]),
)
def test_the_greedy_cover_covers_everything_within_the_limits(  # noqa: PLR0917 - one argument per dimension
    site: list[str], picks: list[int], weight: float, max_paths: int, budget: int, per_wildcard: float
) -> None:
    index = SiteIndex(site)
    targets = normalize({site[i % len(site)] for i in picks})
    cover = greedy_cover(
        targets,
        index,
        weight=weight,
        max_paths=max_paths,
        wildcard_budget=budget,
        prices=((0, per_wildcard),),
    )
    # THEN a cover is found whenever one fits (a wildcard of everything does), and it is valid
    assert cover is not None
    assert all(cover.plan.covers(t) for t in targets)
    assert len(cover.plan.paths) <= max_paths
    assert cover.plan.wildcards <= budget
    assert cover.billed == len(cover.plan.paths)
    assert cover.collateral == collateral(cover.plan, targets, index)


def test_the_greedy_cover_spends_what_the_limits_leave_where_it_saves_most() -> None:
    # GIVEN a directory of hashed assets under 16 prefixes (a-0 .. a-f, 480 objects each), 80 of
    # each changed (1,280 paths), and room for 300 paths and 13 wildcards
    keys = [f"/assets/a-{h:x}{i:03}.js" for h in range(16) for i in range(480)]
    changed = [k for k in keys if int(k[-6:-3]) % 6 == 0]
    index = SiteIndex(keys)
    # WHEN the greedy cover plans it
    cover = greedy_cover(normalize(changed), index, weight=1.0, max_paths=300, wildcard_budget=13)
    optimum = optimal_cover(changed, index, weight=1.0, max_paths=300, wildcard_budget=13)
    # THEN it does not purge the whole directory (1 path + 6,400 objects): it cuts it by prefix
    # (13 wildcards, 3 prefixes exact), within 5% of the optimum
    assert cover is not None
    assert optimum is not None
    assert cover.plan.paths != ("/assets/*",)
    assert cover.cost(1.0) <= 1.05 * optimum.cost(1.0)
