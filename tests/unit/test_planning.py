"""Planning: URL paths -> encoded CloudFront paths -> one invalidation request under limits."""

from __future__ import annotations

import random
import time
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.core.planning import (
    MAX_PATH_LENGTH,
    InvalidationPlan,
    encode_path,
    is_wildcard,
    plan_invalidation,
    validate_path,
)

# ---------------------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/index.html", ("/index.html",)),
        ("/docs/index.html", ("/docs/index.html",)),
        ("/docs/", ("/docs/",)),
        ("/", ("/",)),
        ("/my file.html", ("/my%20file.html",)),
        ("/a+b.html", ("/a+b.html", "/a%2Bb.html")),
        ("/~user/a+b~c", ("/~user/a+b~c", "/%7Euser/a%2Bb%7Ec")),
        ("/100%.html", ("/100%25.html",)),
        ("/page#top", ("/page%23top",)),
        ("/search?q=1", ("/search%3Fq=1",)),
        ('/q"<>[\\]^`{|}', ("/q%22%3C%3E%5B%5C%5D%5E%60%7B%7C%7D",)),
        ("/!$&'(),;=:@-_.", ("/!$&'(),;=:@-_.",)),
        ("/caf\u00e9.html", ("/caf%C3%A9.html",)),
        ("/\u65e5\u672c/index.html", ("/%E6%97%A5%E6%9C%AC/index.html",)),
        ("/tab\there\x00\x1f\x7f", ("/tab%09here%00%1F%7F",)),
        ("/a*b/c.html", ("/a*",)),
        ("/x+y/*/z", ("/x+y/*", "/x%2By/*")),
        ("/caf\u00e9*", ("/caf%C3%A9*",)),
    ],
)
def test_encoding_golden_cases(raw: str, expected: tuple[str, ...]) -> None:
    # GIVEN a decoded URL path WHEN it is encoded THEN CloudFront gets exactly these paths
    assert encode_path(raw) == expected


def test_a_1024_byte_key_stays_exact() -> None:
    # GIVEN a key of 1,024 UTF-8 bytes (S3's maximum), every byte needing an escape
    key = "\u00e9" * 512
    # WHEN it is encoded
    (path,) = encode_path("/" + key)
    # THEN it is one exact path, 3 characters per byte, that decodes back to the key
    assert len(path) == 1 + 3 * 1024
    assert not is_wildcard(path)
    assert unquote(path) == "/" + key


def test_a_key_of_5000_characters_becomes_a_covering_wildcard() -> None:
    # GIVEN a key longer than CloudFront accepts
    key = "a" * 5000
    # WHEN it is encoded
    (path,) = encode_path("/" + key)
    # THEN it is cut to a wildcard of exactly the maximum length that still covers the key
    assert path == "/" + "a" * (MAX_PATH_LENGTH - 2) + "*"
    assert InvalidationPlan((path,)).covers("/" + key)


@pytest.mark.parametrize("filler", range(MAX_PATH_LENGTH - 6, MAX_PATH_LENGTH))
def test_cutting_a_long_path_never_splits_an_escape(filler: int) -> None:
    # GIVEN a long path whose escapes straddle the cut at every offset
    raw = "/" + "a" * filler + "\u00e9" * 100
    # WHEN it is encoded
    (path,) = encode_path(raw)
    # THEN it is a valid wildcard whose prefix starts the full encoding
    assert validate_path(path) is None
    assert len(path) <= MAX_PATH_LENGTH
    assert ("/" + "a" * filler + "%C3%A9" * 100).startswith(path[:-1])


def test_a_long_path_with_plus_cuts_both_variants() -> None:
    # GIVEN a long key holding '+' before the cut WHEN encoded
    paths = encode_path("/a+b/" + "x" * 5000)
    # THEN both variants are valid covering wildcards
    assert [p[:5] for p in paths] == ["/a+b/", "/a%2B"]
    assert all(is_wildcard(p) and validate_path(p) is None for p in paths)


def test_a_path_without_leading_slash_gets_one() -> None:
    assert encode_path("docs/a.html") == ("/docs/a.html",)


@given(st.text())
def test_every_text_key_encodes_to_valid_paths(key: str) -> None:
    # GIVEN any text key WHEN encoded THEN every path passes validation
    paths = encode_path("/" + key)
    assert 1 <= len(paths) <= 2
    assert all(validate_path(path) is None for path in paths)


@given(st.text(max_size=300).filter(lambda key: "*" not in key))
def test_short_keys_without_star_round_trip(key: str) -> None:
    # GIVEN a key with no '*' that fits WHEN encoded THEN each variant decodes to the key
    for path in encode_path("/" + key):
        assert not is_wildcard(path)
        assert unquote(path, errors="strict") == "/" + key


# -------------------------------------------------------------------------- validation


@pytest.mark.parametrize("path", ["/", "/*", "/docs/*", "/a%20b", "/a%c3%a9", "/a+b~c", "/" + "a" * 3999])
def test_valid_paths(path: str) -> None:
    assert validate_path(path) is None


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "must start with '/'"),
        ("docs/a.html", "must start with '/'"),
        ("/" + "a" * MAX_PATH_LENGTH, "more than 4000"),
        ("/a*/b", "only allowed as the last character"),
        ("/**", "only allowed as the last character"),
        ("/a b", "must be percent-encoded"),
        ("/caf\u00e9", "must be percent-encoded"),
        ("/a\nb", "must be percent-encoded"),
        ("/100%", "not followed by two hex digits"),
        ("/a%2", "not followed by two hex digits"),
        ("/a%zz", "not followed by two hex digits"),
    ],
)
def test_invalid_paths_have_a_one_line_reason(path: str, reason: str) -> None:
    # GIVEN a path CloudFront would reject WHEN validated THEN the reason says why, on one line
    found = validate_path(path)
    assert found is not None
    assert reason in found
    assert "\n" not in found


# ---------------------------------------------------------------------------- the plan


def test_a_plan_is_sorted_and_deduplicated() -> None:
    plan = InvalidationPlan(("/b", "/a*", "/b"))
    assert plan.paths == ("/a*", "/b")
    assert plan.wildcards == 1


@pytest.mark.parametrize(
    ("plan_paths", "path", "covered"),
    [
        (("/docs/*",), "/docs/a.html", True),
        (("/docs/*",), "/docs/x/y", True),
        (("/docs/*",), "/docs/", True),
        (("/docs/*",), "/docs", False),
        (("/docs/*",), "/docs2/a", False),
        (("/a*",), "/ab", True),
        (("/a*",), "/a", True),
        (("/*",), "/anything/at/all", True),
        (("/docs/a.html",), "/docs/a.html", True),
        (("/docs/a.html",), "/docs/a.htm", False),
        (("/docs/*",), "/docs/sub/*", True),
        (("/a", "/c/*"), "/b", False),
    ],
)
def test_covers(plan_paths: tuple[str, ...], path: str, covered: bool) -> None:
    assert InvalidationPlan(plan_paths).covers(path) is covered


def test_a_small_burst_is_sent_exact() -> None:
    # GIVEN a few changed paths, duplicated WHEN planned THEN exactly those, sorted, once each
    plan = plan_invalidation(["/b.html", "/a.html", "/b.html", "/docs/"], max_paths=100, wildcard_budget=13)
    assert plan.paths == ("/a.html", "/b.html", "/docs/")


def test_paths_under_an_input_wildcard_are_dropped() -> None:
    # GIVEN a wildcard among the paths WHEN planned THEN what it covers is not sent again
    plan = plan_invalidation(
        ["/docs/*", "/docs/a.html", "/docs/x/y", "/docs/sub/*", "/docs", "/a*", "/ab"],
        max_paths=100,
        wildcard_budget=13,
    )
    assert plan.paths == ("/a*", "/docs", "/docs/*")


def test_a_deploy_of_assets_collapses_to_the_assets_directory() -> None:
    # GIVEN a deploy of 1,000 files under /assets/ plus a few pages
    pages = ["/", "/index.html", "/about.html", "/blog/", "/blog/post.html"]
    assets = [f"/assets/app.{i:04d}.js" for i in range(1000)]
    # WHEN planned with a budget of 100 paths
    plan = plan_invalidation(assets + pages, max_paths=100, wildcard_budget=13)
    # THEN one wildcard purges the assets and the pages stay exact
    assert plan.paths == tuple(sorted([*pages, "/assets/*"]))
    assert plan.wildcards == 1


def test_the_deepest_directories_are_collapsed() -> None:
    # GIVEN changes concentrated in two deep directories
    paths = [f"/static/js/{i}.js" for i in range(600)]
    paths += [f"/static/css/{i}.css" for i in range(400)]
    paths += ["/", "/static/manifest.json"]
    # WHEN planned THEN each directory gets its own wildcard, not their parent
    plan = plan_invalidation(paths, max_paths=100, wildcard_budget=13)
    assert plan.paths == ("/", "/static/css/*", "/static/js/*", "/static/manifest.json")


def test_a_small_wildcard_budget_merges_into_the_common_ancestor() -> None:
    # GIVEN the same deploy, but one wildcard free for the distribution
    paths = [f"/static/js/{i}.js" for i in range(600)]
    paths += [f"/static/css/{i}.css" for i in range(400)]
    paths += ["/"]
    # WHEN planned THEN the two directories merge into their parent
    plan = plan_invalidation(paths, max_paths=100, wildcard_budget=1)
    assert plan.paths == ("/", "/static/*")


def test_changes_spread_everywhere_collapse_to_the_root() -> None:
    # GIVEN 2 changed files in each of 500 directories (too many for 13 wildcards)
    paths = [f"/d{i}/f{j}.html" for i in range(500) for j in range(2)]
    # WHEN planned THEN only "/*" fits
    assert plan_invalidation(paths, max_paths=100, wildcard_budget=13).paths == ("/*",)


def test_input_wildcards_count_against_the_budget() -> None:
    # GIVEN four wildcards (cut keys) but two wildcards free
    paths = ["/x/a*", "/x/b*", "/y/c*", "/y/d*", "/z"]
    # WHEN planned THEN they merge by directory
    plan = plan_invalidation(paths, max_paths=100, wildcard_budget=2)
    assert plan.paths == ("/x/*", "/y/*", "/z")


def test_no_wildcard_budget_returns_the_exact_paths() -> None:
    # GIVEN too many paths and no wildcard free WHEN planned
    paths = [f"/assets/{i}.js" for i in range(500)]
    plan = plan_invalidation(paths, max_paths=100, wildcard_budget=0)
    # THEN no wildcard: the caller splits the request or waits
    assert plan.paths == tuple(sorted(paths))
    assert plan.wildcards == 0


def test_invalid_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="must be percent-encoded"):
        plan_invalidation(["/ok", "/not ok"], max_paths=10, wildcard_budget=1)
    with pytest.raises(ValueError, match="max_paths"):
        plan_invalidation(["/ok"], max_paths=0, wildcard_budget=1)


def test_planning_100000_paths_is_fast() -> None:
    # GIVEN a deploy of 100,000 files in a realistic tree
    rng = random.Random(7)
    paths = [
        "/" + "".join(f"d{rng.randrange(20)}/" for _ in range(rng.randrange(4))) + f"f{i}.html"
        for i in range(100_000)
    ]
    # WHEN planned THEN it takes well under a few seconds (about 0.3 s on a laptop)
    started = time.perf_counter()
    plan = plan_invalidation(paths, max_paths=3000, wildcard_budget=13)
    assert time.perf_counter() - started < 3.0
    assert all(plan.covers(path) for path in paths[:1000])


# ------------------------------------------------------------------ plan properties

_SEGMENTS = st.sampled_from(["a", "b", "c", "docs", "index.html", "x+y", "caf\u00e9", "", "*"])
_RAW_PATHS = st.lists(_SEGMENTS, max_size=5).map(lambda segments: "/" + "/".join(segments))
_ENCODED = st.lists(_RAW_PATHS, max_size=60).map(
    lambda raws: [path for raw in raws for path in encode_path(raw)]
)
_MAX_PATHS = st.integers(min_value=1, max_value=30)
_BUDGETS = st.integers(min_value=0, max_value=15)


@pytest.mark.property
@given(_ENCODED, _MAX_PATHS, _BUDGETS)
def test_plan_properties(paths: list[str], max_paths: int, budget: int) -> None:
    # GIVEN any burst of encoded paths WHEN planned
    plan = plan_invalidation(paths, max_paths=max_paths, wildcard_budget=budget)
    # THEN every path is covered, and the plan is valid, sorted and unique
    assert all(plan.covers(path) for path in paths)
    assert all(validate_path(path) is None for path in plan.paths)
    assert list(plan.paths) == sorted(set(plan.paths))
    # AND it keeps within the limits
    if budget >= 1:
        assert len(plan.paths) <= max_paths
        assert plan.wildcards <= budget
    input_wildcards = len({path for path in paths if is_wildcard(path)})
    assert plan.wildcards <= max(budget, input_wildcards)
    # AND a burst that fits is sent as it is
    if not input_wildcards and len(set(paths)) <= max_paths:
        assert plan.paths == tuple(sorted(set(paths)))


@given(_ENCODED, _MAX_PATHS, _BUDGETS, st.randoms(use_true_random=False))
def test_plan_is_deterministic(paths: list[str], max_paths: int, budget: int, rng: random.Random) -> None:
    # GIVEN the same paths in another order, duplicated WHEN planned THEN the same plan
    shuffled = paths + paths[: len(paths) // 2]
    rng.shuffle(shuffled)
    first = plan_invalidation(paths, max_paths=max_paths, wildcard_budget=budget)
    second = plan_invalidation(shuffled, max_paths=max_paths, wildcard_budget=budget)
    assert first == second
