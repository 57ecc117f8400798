"""`watcher wait`'s pure parts: TIME, --keys-from lines, and what covers a changed path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from watcher.commands.wait.coverage import KnownInvalidation, assess, needed_paths
from watcher.commands.wait.listing import ChangedObject, merge_changes, parse_keys
from watcher.commands.wait.since import parse_since
from watcher.core.config import SiteSettings
from watcher.core.planning import InvalidationPlan
from watcher.core.routing import Router

T0 = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)


def test_since_reads_iso_8601_and_epoch_seconds_as_the_same_instant() -> None:
    assert parse_since("2026-11-29T10:00:00Z") == T0
    assert parse_since("2026-11-29T11:00:00+01:00") == T0
    assert parse_since(str(int(T0.timestamp()))) == T0
    assert parse_since(f"{int(T0.timestamp())}.5") == T0 + timedelta(seconds=0.5)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-11-29T10:00:00", "2999-01-01T00:00:00Z"])
def test_since_refuses_what_names_no_past_instant(text: str) -> None:
    with pytest.raises(ValueError, match="--since"):
        parse_since(text)


def test_keys_from_lines_skip_comments_and_refuse_what_is_not_an_s3_url() -> None:
    keys = parse_keys(["# deleted", "", "s3://b/a b.html", " s3://b/x/y "], T0)
    assert [(k.bucket, k.key, k.deleted) for k in keys] == [("b", "a b.html", True), ("b", "x/y", True)]
    with pytest.raises(ValueError, match="line 2"):
        parse_keys(["s3://b/k", "b/k"], T0)


def test_the_latest_change_of_an_object_wins() -> None:
    merged = merge_changes([ChangedObject("b", "k", T0)], [ChangedObject("b", "k", T0 + timedelta(1))])
    assert merged == [ChangedObject("b", "k", T0 + timedelta(1))]


def _known(paths: list[str], created: datetime, status: str = "Completed") -> KnownInvalidation:
    return KnownInvalidation("I1", created, status, InvalidationPlan(paths=tuple(paths)))


def test_coverage_uses_the_daemons_routing_and_encoding() -> None:
    router = Router([SiteSettings(bucket="b", distribution_id="E1")])
    needed, unrouted = needed_paths(
        router, [ChangedObject("b", "docs/index.html", T0), ChangedObject("x", "k", T0)]
    )
    assert [n.path for n in needed] == ["/docs/", "/docs/index.html"]
    assert unrouted == ["s3://x/k"]


def test_only_a_completed_invalidation_created_at_or_after_the_change_covers_it() -> None:
    router = Router([SiteSettings(bucket="b", distribution_id="E1")])
    needed, _ = needed_paths(router, [ChangedObject("b", "a b.html", T0 + timedelta(seconds=0.7))])
    # created earlier: not covering; the same second counts (S3 keeps whole seconds)
    assert not assess(needed, {"E1": [_known(["/a%20b.html"], T0 - timedelta(seconds=1))]})["E1"].covered
    assert assess(needed, {"E1": [_known(["/a%20b.html"], T0)]})["E1"].done
    # a wildcard covers; "COMPLETED" in any case is completed; InProgress covers but is not done
    assert assess(needed, {"E1": [_known(["/a*"], T0, "COMPLETED")]})["E1"].done
    running = assess(needed, {"E1": [_known(["/*"], T0, "InProgress")]})["E1"]
    assert (running.covered, running.completed, len(running.in_progress)) == (1, 0, 1)
    # another distribution's invalidation does not count
    assert not assess(needed, {"E2": [_known(["/*"], T0)]})["E1"].covered
