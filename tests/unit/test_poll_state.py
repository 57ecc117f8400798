"""Poll mode's pure parts: differences, listing scopes, the state file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watcher.core.config import SiteSettings
from watcher.core.model import ChangeKind
from watcher.sources.poll_scan import Scope, listing_scopes
from watcher.sources.poll_state import PollState, Seen, differences

V1 = Seen("etag1", "2026-01-01T00:00:00+00:00")
V2 = Seen("etag2", "2026-01-01T00:01:00+00:00")


def _site(bucket: str, prefix: str = "") -> SiteSettings:
    return SiteSettings(bucket=bucket, distribution_id="E1", prefix=prefix)


def test_new_changed_and_vanished_keys_are_differences_and_unchanged_ones_are_not() -> None:
    before = {"same.html": V1, "changed.html": V1, "gone.html": V1}
    now = {"same.html": V1, "changed.html": V2, "new.html": V1}
    found = {(d.key, d.kind, d.seen) for d in differences(before, now)}
    assert found == {
        ("changed.html", ChangeKind.CREATED, V2),
        ("new.html", ChangeKind.CREATED, V1),
        ("gone.html", ChangeKind.REMOVED, V1),
    }


def test_a_reupload_of_the_same_bytes_is_a_difference_through_its_last_modified() -> None:
    # Same ETag, later LastModified: new metadata (Cache-Control ...) may be cached too.
    assert [d.key for d in differences({"a": V1}, {"a": Seen("etag1", V2.last_modified)})] == ["a"]


def test_nested_prefixes_of_one_bucket_share_one_listing() -> None:
    scopes = listing_scopes([_site("b", "blog/"), _site("b"), _site("b", "docs/"), _site("other", "x/")])
    assert scopes == (Scope("b", "", ("", "blog/", "docs/")), Scope("other", "x/", ("x/",)))


def test_watch_globs_are_relative_to_each_site_prefix() -> None:
    scope = Scope("b", "www/", ("www/",))
    watch = ("index.html", "**/index.html")
    assert scope.watches("www/index.html", watch)
    assert scope.watches("www/a/b/index.html", watch)
    assert not scope.watches("www/app.js", watch)
    assert not scope.watches("index.html", watch)  # outside the site


def test_the_state_survives_a_restart_through_its_file(tmp_path: Path) -> None:
    # GIVEN a state with a baseline and a committed change, saved
    path = tmp_path / "state" / "poll.json"
    state = PollState(path)
    state.baseline("b/", "b", "", {"index.html": V1, "docs/index.html": V1})
    state.commit("b", "index.html", V2)
    state.commit("b", "docs/index.html", None)
    assert state.save()
    assert not state.save()  # nothing new: no write
    # WHEN a new process loads it
    again = PollState(path)
    assert "state loaded" in again.load().detail
    # THEN it knows the scope and the committed versions, and no temporary file is left
    assert again.has_scope("b/")
    assert again.committed("b", "") == {"index.html": V2}
    assert [p.name for p in path.parent.iterdir()] == ["poll.json"]


def test_dry_run_state_remembers_in_memory_and_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "poll.json"
    state = PollState(path, read_only=True)
    state.baseline("b/", "b", "", {"index.html": V1})
    assert not state.save()
    assert not path.exists()
    assert state.committed("b", "") == {"index.html": V1}


def test_an_unreadable_state_file_means_a_new_baseline_said_in_the_log(tmp_path: Path) -> None:
    path = tmp_path / "poll.json"
    path.write_text(json.dumps({"version": 99}))
    state = PollState(path)
    loaded = state.load()
    assert "new baseline" in loaded.detail
    assert loaded.warning
    assert not state.has_scope("b/")
    missing = PollState(tmp_path / "missing.json").load()
    assert "first cycle takes a baseline" in missing.detail
    assert not missing.warning
    assert "a restart takes a new baseline" in PollState(None).load().detail


# Valid JSON, wrong shape: each one crashed the start (AttributeError) or was taken as
# something it is not ("b/" as the scopes "b" and "/", "ab" as ETag "a" and date "b").
WRONG_SHAPES = {
    "objects a list": {"version": 1, "scopes": [], "objects": []},
    "a bucket a list": {"version": 1, "scopes": [], "objects": {"b": []}},
    "scopes a string": {"version": 1, "scopes": "b/", "objects": {}},
    "scopes of numbers": {"version": 1, "scopes": [1], "objects": {}},
    "a version as a string": {"version": "ab", "scopes": "b/", "objects": {"b": {"k": "ab"}}},
    "a version as a boolean": {"version": True, "scopes": ["b/"], "objects": {}},
    "a version as a string pair": {"version": 1, "scopes": ["b/"], "objects": {"b": {"k": "ab"}}},
    "a version of numbers": {"version": 1, "scopes": ["b/"], "objects": {"b": {"k": [1, 2]}}},
    "a version of three": {"version": 1, "scopes": ["b/"], "objects": {"b": {"k": ["e", "d", "x"]}}},
    "a version null": {"version": 1, "scopes": ["b/"], "objects": {"b": {"k": None}}},
    "no objects": {"version": 1, "scopes": ["b/"]},
    "a number": 7,
    "null": None,
}


@pytest.mark.parametrize("shape", sorted(WRONG_SHAPES))
def test_a_state_file_of_the_wrong_shape_is_a_new_baseline_with_a_warning(tmp_path: Path, shape: str) -> None:
    # GIVEN a state file that is valid JSON of the wrong shape
    path = tmp_path / "poll.json"
    path.write_text(json.dumps(WRONG_SHAPES[shape]))
    # WHEN the state loads
    state = PollState(path)
    loaded = state.load()
    # THEN no crash: a new baseline, said as a warning, and nothing of the file is kept
    assert loaded.warning
    assert "new baseline" in loaded.detail
    assert not state.has_scope("b/")
    assert state.size() == 0


def test_a_state_file_nested_too_deep_for_the_parser_is_a_new_baseline(tmp_path: Path) -> None:
    path = tmp_path / "poll.json"
    path.write_text("[" * 100_000 + "]" * 100_000)  # json.loads raises RecursionError
    loaded = PollState(path).load()
    assert loaded.warning
    assert "new baseline" in loaded.detail
