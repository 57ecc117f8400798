"""Optimal covers: the dynamic program against brute force on small random sites."""

from __future__ import annotations

from bisect import bisect_left

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.deploy_shapes import re_rendered_blog
from watcher.core.cover import ObjectCounts, collateral, optimal_cover, safe_wildcard_prefix
from watcher.core.planning import InvalidationPlan, is_wildcard, normalize
from watcher.core.site_index import DistributionIndex, SiteIndex
from watcher.core.strategy import STRATEGY_WEIGHTS, Strategy


def _site(paths: list[str]) -> SiteIndex:
    return SiteIndex(paths)


def test_a_directory_whose_every_object_changed_is_one_wildcard_with_no_collateral() -> None:
    # GIVEN a site with 30 assets in one directory and other pages
    assets = [f"/assets/a{i}.js" for i in range(30)]
    site = _site([*assets, "/index.html", "/about.html"])
    # WHEN all 30 assets change (balanced: weight 1)
    cover = optimal_cover(assets, site, weight=1.0, max_paths=100, wildcard_budget=13)
    # THEN one wildcard, nothing else purged
    assert cover is not None
    assert cover.plan.paths == ("/assets/*",)
    assert cover.collateral == 0


def test_three_of_forty_files_stay_exact() -> None:
    # GIVEN 40 pages in a directory, 3 of which changed
    pages = [f"/docs/p{i:02}.html" for i in range(40)]
    cover = optimal_cover(pages[:3], _site(pages), weight=1.0, max_paths=100, wildcard_budget=13)
    # THEN they stay exact: a wildcard would purge 37 unchanged pages
    assert cover is not None
    assert cover.plan.paths == tuple(pages[:3])
    assert cover.collateral == 0


def test_a_cut_inside_a_file_name_is_used_when_cheaper() -> None:
    # GIVEN hashed assets app-1* all changed, beside many unchanged vendor files
    changed = [f"/assets/app-1{c}.js" for c in "abcdef"]
    site = _site([*changed, *(f"/assets/vendor-{i}.js" for i in range(50))])
    cover = optimal_cover(changed, site, weight=1.0, max_paths=100, wildcard_budget=13)
    # THEN one wildcard cut inside the file name, no collateral
    assert cover is not None
    assert cover.plan.paths == ("/assets/app-1*",)
    assert cover.collateral == 0


def test_a_wildcard_never_ends_inside_an_escape() -> None:
    assert safe_wildcard_prefix("/a%2") == "/a"
    assert safe_wildcard_prefix("/a%") == "/a"
    assert safe_wildcard_prefix("/a%2B") == "/a%2B"


def test_a_wildcard_never_ends_inside_a_character() -> None:
    # GIVEN prefixes that end inside the UTF-8 escapes of one character (é is %C3%A9, € %E2%82%AC)
    # THEN the wildcard is cut before that character; a whole character stays
    assert safe_wildcard_prefix("/caf%C3") == "/caf"
    assert safe_wildcard_prefix("/caf%C3%A") == "/caf"
    assert safe_wildcard_prefix("/caf%C3%A9") == "/caf%C3%A9"
    assert safe_wildcard_prefix("/%E2%82") == "/"
    assert safe_wildcard_prefix("/%E2%82%AC") == "/%E2%82%AC"
    assert safe_wildcard_prefix("/a%2B%F0%9F%98") == "/a%2B"
    assert safe_wildcard_prefix("/a%2B%F0%9F%98%80") == "/a%2B%F0%9F%98%80"


def test_the_cover_does_not_cut_between_two_accented_letters() -> None:
    # GIVEN /é1 and /ê2 changed (%C3%A9 and %C3%AA: they share the byte %C3) beside an unchanged /Ā3
    site = _site(["/%C3%A91", "/%C3%AA2", "/%C4%803"])
    # WHEN one path must cover both
    cover = optimal_cover(["/%C3%A91", "/%C3%AA2"], site, weight=1.0, max_paths=1, wildcard_budget=1)
    # THEN the wildcard is cut at a character boundary ("/*"), never "/%C3*"
    assert cover is not None
    assert cover.plan.paths == ("/*",)
    assert cover.collateral == 1


# -------------------------------------------------------------- brute force


def _cost(plan: InvalidationPlan, targets: list[str], index: ObjectCounts, weight: float) -> float:
    return len(plan.paths) + weight * collateral(plan, targets, index)


def _brute_force(
    targets: list[str], index: SiteIndex, weight: float, max_paths: int, budget: int
) -> float | None:
    """Every cover in which each wildcard covers a changed path: exact, or any valid prefix wildcard."""
    best: list[float] = []

    def search(remaining: list[str], chosen: frozenset[str]) -> None:
        if len(chosen) > max_paths or sum(map(is_wildcard, chosen)) > budget:
            return
        if not remaining:
            best.append(_cost(InvalidationPlan(tuple(chosen)), targets, index, weight))
            return
        first = remaining[0]
        options = [] if is_wildcard(first) else [first]
        stem = first[:-1] if is_wildcard(first) else first
        for cut in range(1, len(stem) + 1):
            prefix = stem[:cut]
            if safe_wildcard_prefix(prefix) == prefix:
                options.append(prefix + "*")
        for option in options:
            plan = InvalidationPlan((option,))
            rest = [t for t in remaining[1:] if not plan.covers(t)]
            search(rest, chosen | {option})

    search(targets, frozenset())
    return min(best) if best else None


_NAMES = st.sampled_from(["a", "b", "ab", "a%2B", "x", "%C3%A9", "%C3%AAx"])
_PATHS = st.lists(_NAMES, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))


@pytest.mark.property
@given(
    site=st.lists(_PATHS, min_size=1, max_size=12, unique=True),
    picks=st.lists(st.integers(min_value=0, max_value=11), min_size=1, max_size=4),
    extra=st.lists(_PATHS.map(lambda p: p + "*"), max_size=1),
    weight=st.sampled_from([0.0, 0.05, 0.5, 1.0, 3.0]),
    max_paths=st.integers(min_value=1, max_value=4),
    budget=st.integers(min_value=0, max_value=3),
)
def test_the_cover_is_optimal(  # noqa: PLR0917 - one argument per generated dimension
    site: list[str], picks: list[int], extra: list[str], weight: float, max_paths: int, budget: int
) -> None:
    # GIVEN a small random site, some of its objects changed (maybe a wildcard key too)
    index = _site(site)
    targets = normalize({site[i % len(site)] for i in picks} | set(extra))
    # WHEN the cheapest cover is planned
    cover = optimal_cover(targets, index, weight=weight, max_paths=max_paths, wildcard_budget=budget)
    expected = _brute_force(sorted(targets), index, weight, max_paths, budget)
    # THEN it exists exactly when some cover fits, covers every change, keeps the limits,
    # reports its own cost, and costs no more than the best cover brute force finds
    if expected is None:
        assert cover is None
        return
    assert cover is not None
    assert all(cover.plan.covers(t) for t in targets)
    assert len(cover.plan.paths) <= max_paths
    assert cover.plan.wildcards <= budget
    assert cover.billed == len(cover.plan.paths)
    assert cover.collateral == collateral(cover.plan, targets, index)
    assert abs(cover.cost(weight) - expected) < 1e-9
    # AND pruning with the tightest bound (the optimum's own cost) still finds it
    bounded = optimal_cover(
        targets, index, weight=weight, max_paths=max_paths, wildcard_budget=budget, upper_bound=expected
    )
    assert bounded is not None
    assert abs(bounded.cost(weight) - expected) < 1e-9


def test_prefix_counts_by_bisection() -> None:
    index = _site(["/a/x", "/a/y", "/ab", "/b"])
    assert index.count("/a") == 3
    assert index.count("/a/") == 2
    assert index.count("/") == 4
    assert "/ab" in index
    index.discard("/ab")
    index.add("/c")
    assert index.count("/a") == 2
    assert bisect_left(["/a"], "/a") == 0


def test_a_strategy_covers_everything_and_waits_for_its_index() -> None:
    # GIVEN 2,000 pages changed over 60 of 200 directories of 41 objects
    keys = [f"/d{d}/p{p:02}.html" for d in range(200) for p in range(41)]
    changed = [k for k in keys if int(k.split("/")[1][1:]) % 3 == 0 and not k.endswith("7.html")][:2000]
    index = DistributionIndex([SiteIndex(keys)])
    exact = Strategy("exact")(changed, max_paths=100, wildcard_budget=13)
    for name in ("balanced", "frugal"):
        weight = STRATEGY_WEIGHTS[name]
        assert weight is not None
        plan = Strategy(name, weight, index)(changed, max_paths=100, wildcard_budget=13)
        # THEN each strategy covers everything and costs, by its own weight, no more than exact
        assert all(plan.covers(path) for path in changed)
        assert _cost(plan, changed, index, weight) <= _cost(exact, changed, index, weight)
    # AND before the index is listed, the plan is exact's
    unlisted = DistributionIndex([SiteIndex(ready=False)])
    assert Strategy("balanced", 1.0, unlisted)(changed, max_paths=100, wildcard_budget=13) == exact


def test_a_re_rendered_blog_is_not_purged_whole_under_balanced() -> None:
    # GIVEN 150 re-rendered posts of a 6,000-object blog (300 paths), for which exact collapses
    # to one wildcard purging 5,850 unchanged objects
    keys, changed = re_rendered_blog()
    index = DistributionIndex([SiteIndex(keys)])
    exact = Strategy("exact")(changed, max_paths=100, wildcard_budget=13)
    assert exact.paths == ("/blog/*",)
    optimum = optimal_cover(changed, index, weight=1.0, max_paths=100, wildcard_budget=13)
    assert optimum is not None
    # WHEN balanced plans it
    plan = Strategy("balanced", 1.0, index)(changed, max_paths=100, wildcard_budget=13)
    # THEN it keeps the limits and costs within 10% of the optimum (not exact's 5,851)
    assert all(plan.covers(path) for path in changed)
    assert len(plan.paths) <= 100
    assert plan.wildcards <= 13
    assert _cost(plan, changed, index, 1.0) <= 1.1 * optimum.cost(1.0)
    assert optimum.cost(1.0) < 0.6 * _cost(exact, changed, index, 1.0)


def _directories(count: int, size: int) -> list[str]:
    return [f"/d{d:02}/p{p:02}.html" for d in range(count) for p in range(size)]


def test_a_burst_leaves_the_reserve_of_wildcards_free_when_it_fits_without_them() -> None:
    # GIVEN 13 wildcards free, a reserve of 2, and 13 directories of 10 pages that all changed
    # (130 paths: 100 fit), each beside an unchanged directory of 10 pages
    changed = _directories(13, 10)
    unchanged = [f"/d{d:02}-old/p{p}.html" for d in range(13) for p in range(10)]
    index = DistributionIndex([SiteIndex([*changed, *unchanged])])
    strategy = Strategy("balanced", 1.0, index, reserve=2)
    # WHEN balanced plans it (its cheapest cover would spend 13 wildcards)
    plan = strategy(changed, max_paths=100, wildcard_budget=13)
    unreserved = Strategy("balanced", 1.0, index)(changed, max_paths=100, wildcard_budget=13)
    # THEN it spends at most 11, leaving 2 for the next burst, and still covers everything
    assert unreserved.wildcards == 13
    assert plan.wildcards <= 11
    assert all(plan.covers(path) for path in changed)
    assert len(plan.paths) <= 100


def test_the_reserve_is_spent_when_the_burst_cannot_fit_otherwise() -> None:
    # GIVEN only 2 wildcards free and a reserve of 2
    changed = _directories(30, 10)
    index = DistributionIndex([SiteIndex(changed)])
    for strategy in (Strategy("exact", reserve=2), Strategy("balanced", 1.0, index, reserve=2)):
        # WHEN 300 paths must fit 100 THEN wildcards are used after all
        plan = strategy(changed, max_paths=100, wildcard_budget=2)
        assert 1 <= plan.wildcards <= 2
        assert all(plan.covers(path) for path in changed)
        assert len(plan.paths) <= 100
        # AND 50 paths that fit exact keep both wildcards free
        assert strategy(changed[:50], max_paths=100, wildcard_budget=2).wildcards == 0


def test_keys_nested_thousands_of_prefixes_deep_fall_back_to_the_exact_plan() -> None:
    # GIVEN 1,500 keys each the prefix of the next (a trie 1,500 levels deep)
    changed = ["/" + "a" * n for n in range(1, 1500)]
    index = DistributionIndex([SiteIndex(changed)])
    # WHEN planned with a weight THEN a plan still comes back and covers them
    plan = Strategy("balanced", 1.0, index)(changed, max_paths=100, wildcard_budget=13)
    assert all(plan.covers(path) for path in changed)


@pytest.mark.property
@given(
    site=st.lists(_PATHS, min_size=1, max_size=12, unique=True),
    picks=st.lists(st.integers(min_value=0, max_value=11), min_size=1, max_size=5),
    weight=st.sampled_from([0.0, 0.05, 0.5, 1.0, 2.0, 3.0]),
    max_paths=st.one_of(st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=100)),
    budget=st.one_of(st.integers(min_value=1, max_value=4), st.integers(min_value=1, max_value=100)),
    reserve=st.integers(min_value=0, max_value=3),
)
def test_a_strategy_is_optimal_for_its_weight(  # noqa: PLR0917 - one argument per generated dimension
    site: list[str], picks: list[int], weight: float, max_paths: int, budget: int, reserve: int
) -> None:
    # GIVEN a small random site, some of its objects changed, any weight 0-3, limits 1-100
    index = DistributionIndex([SiteIndex(site)])
    changed = sorted({site[i % len(site)] for i in picks})
    # WHEN a strategy of that weight plans them, keeping a reserve of wildcards
    exact = Strategy("exact", reserve=reserve)(changed, max_paths=max_paths, wildcard_budget=budget)
    plan = Strategy("custom", weight, index, reserve=reserve)(
        changed, max_paths=max_paths, wildcard_budget=budget
    )
    # THEN it covers every change, keeps the limits, and costs exactly the brute-force optimum
    # within the wildcards past the reserve (all of them when nothing fits otherwise), which is
    # never more than the exact plan's cost by the same weight
    assert all(plan.covers(path) for path in changed)
    assert len(plan.paths) <= max_paths
    assert plan.wildcards <= budget
    expected = _brute_force(changed, _site(site), weight, max_paths, max(0, budget - reserve))
    if expected is None:
        expected = _brute_force(changed, _site(site), weight, max_paths, budget)
    else:
        assert plan.wildcards <= max(0, budget - reserve)
    assert expected is not None
    assert abs(_cost(plan, changed, index, weight) - expected) < 1e-9
    assert expected <= _cost(exact, changed, index, weight) + 1e-9
