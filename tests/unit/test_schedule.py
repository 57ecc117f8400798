"""Planning never exceeds a limit: the requests fit the wildcards and file paths left in progress."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.core.planning import CLOUDFRONT_MAX_FILE_PATHS, InvalidationPlan, encode_path, is_wildcard
from watcher.core.schedule import schedule_requests

MAX_WILDCARDS = 13


def test_with_no_free_wildcard_a_big_deploy_goes_out_in_requests_of_the_budget() -> None:
    # GIVEN a 2,500-file deploy, a budget of 100 paths, and every wildcard taken by others
    paths = [f"/assets/{i}.js" for i in range(2500)]
    # WHEN scheduled
    schedule = schedule_requests(paths, max_paths=100, wildcard_budget=0)
    # THEN 25 requests of 100 exact paths, nothing held back
    assert len(schedule.requests) == 25
    assert all(len(request.paths) == 100 and request.wildcards == 0 for request in schedule.requests)
    assert not schedule.deferred
    assert all(schedule.covers(path) for path in paths)


def test_with_no_free_wildcard_a_wildcard_path_waits() -> None:
    # GIVEN a key holding '*' (a wildcard path) and every wildcard taken
    schedule = schedule_requests(["/a.html", "/odd*"], max_paths=100, wildcard_budget=0)
    # THEN the exact path goes now and the wildcard waits for a free one (not a 14th wildcard)
    assert schedule.paths == ("/a.html",)
    assert schedule.deferred == frozenset({"/odd*"})


def test_file_paths_in_progress_leave_less_room() -> None:
    # GIVEN 2,950 file paths already in progress (3,000 allowed) and no free wildcard
    paths = [f"/p{i}.html" for i in range(120)]
    schedule = schedule_requests(paths, max_paths=100, wildcard_budget=0, file_room=50)
    # THEN 50 go now, 70 wait for room
    assert len(schedule.paths) == 50
    assert len(schedule.deferred) == 70


def test_with_a_free_wildcard_the_plan_fits_the_file_room() -> None:
    # GIVEN room for 10 more file paths and one free wildcard
    paths = [f"/docs/{i}.html" for i in range(40)]
    schedule = schedule_requests(paths, max_paths=100, wildcard_budget=1, file_room=10)
    # THEN one request within 10 paths
    (request,) = schedule.requests
    assert len(request.paths) <= 10
    assert all(schedule.covers(path) for path in paths)


_SEGMENTS = st.sampled_from(["a", "b", "c", "docs", "index.html", "x+y", "*", ""])
_RAW = st.lists(_SEGMENTS, min_size=1, max_size=4).map(lambda segments: "/" + "/".join(segments))
_BURSTS = st.lists(_RAW, max_size=80).map(lambda raws: [p for raw in raws for p in encode_path(raw)])


@pytest.mark.property
@given(
    paths=_BURSTS,
    max_paths=st.integers(min_value=1, max_value=40),
    wildcards_in_progress=st.integers(min_value=0, max_value=15),
    files_in_progress=st.sampled_from([0, 1, 2900, 2990, 2999, 3000]),
)
def test_a_schedule_never_exceeds_a_limit(
    paths: list[str], max_paths: int, wildcards_in_progress: int, files_in_progress: int
) -> None:
    # GIVEN any burst, any path budget, and any state of what is already in progress
    budget = max(0, MAX_WILDCARDS - wildcards_in_progress)
    # WHEN scheduled
    schedule = schedule_requests(
        paths,
        max_paths=max_paths,
        wildcard_budget=budget,
        file_room=CLOUDFRONT_MAX_FILE_PATHS - files_in_progress,
    )
    # THEN every changed path is covered now or by a path kept pending (never lost)
    pending = InvalidationPlan(tuple(schedule.deferred))
    assert all(schedule.covers(path) or pending.covers(path) for path in paths)
    # AND no request is above the path budget
    assert all(1 <= len(request.paths) <= max_paths for request in schedule.requests)
    # AND never more wildcards in progress than allowed (unless others already hold more)
    new_wildcards = sum(request.wildcards for request in schedule.requests)
    assert new_wildcards == 0 or wildcards_in_progress + new_wildcards <= MAX_WILDCARDS
    # AND never more than CloudFront's 3,000 file paths in progress
    new_files = sum(1 for path in schedule.paths if not is_wildcard(path))
    assert files_in_progress + new_files <= CLOUDFRONT_MAX_FILE_PATHS
    # AND what waits is only what could not fit
    if budget >= 1 and files_in_progress < CLOUDFRONT_MAX_FILE_PATHS:
        assert not schedule.deferred
