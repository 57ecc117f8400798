"""How `watcher wait` dates a change (pure): S3's date where it is truthful, else when wait saw it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watcher.commands.wait.keys import NamedKey
from watcher.commands.wait.listing import (
    DELETE_MARKER,
    LAST_MODIFIED,
    SEEN_BY_WAIT,
    BucketListing,
    ChangedObject,
    Version,
    changes_between,
    first_changes,
    named_changes,
)

T0 = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
FLOOR = T0 - timedelta(seconds=120)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _listing(
    seen: float, current: dict[str, Version] | None = None, *, versioned: bool = True
) -> BucketListing:
    return BucketListing("b", versioned, _at(seen), dict(current or {}))


def test_a_multipart_object_is_dated_when_wait_saw_it_not_at_its_initiation() -> None:
    # GIVEN a listing at T0+30 s: a.html written at T0+5, video.mp4 a multipart upload initiated at T0+1
    listing = _listing(30, {"a.html": Version('"e1"', _at(5)), "video.mp4": Version('"e2-3"', _at(1))})
    # WHEN the first listing's changes are dated
    changes = {c.key: c for c in first_changes(listing, FLOOR)}
    # THEN a.html by its LastModified, the multipart object by the listing (S3's clock)
    assert (changes["a.html"].changed_at, changes["a.html"].dated_by) == (_at(5), LAST_MODIFIED)
    assert (changes["video.mp4"].changed_at, changes["video.mp4"].dated_by) == (_at(30), SEEN_BY_WAIT)


def test_objects_older_than_the_floor_are_not_changes() -> None:
    listing = _listing(30, {"old.html": Version('"e"', FLOOR - timedelta(seconds=1))})
    assert first_changes(listing, FLOOR) == []


def test_listing_again_finds_writes_deletes_and_rollbacks() -> None:
    # GIVEN a first listing at T0+10 s and a second at T0+20 s
    before = _listing(
        10,
        {
            "kept.html": Version('"k"', _at(1), "v1"),
            "rolled.html": Version('"new"', _at(5), "v2"),
            "gone.html": Version('"g"', _at(2), "v1"),
            "plain.html": Version('"p"', _at(3), "v1"),
        },
    )
    after = _listing(
        20,
        {
            "kept.html": Version('"k"', _at(1), "v1"),
            "rolled.html": Version('"old"', _at(-50), "v1"),  # the newest version deleted
            "written.html": Version('"w"', _at(15), "v1"),
            "plain.html": Version('"p"', _at(3), "v1"),
        },
    )
    after.markers["gone.html"] = _at(12)
    # WHEN compared
    changes = {c.key: c for c in changes_between(before, after)}
    # THEN the write is dated by S3, the delete by its marker, the rollback when it was seen
    assert set(changes) == {"rolled.html", "written.html", "gone.html"}
    assert changes["written.html"] == ChangedObject("b", "written.html", _at(15))
    assert changes["gone.html"] == ChangedObject(
        "b", "gone.html", _at(12), deleted=True, dated_by=DELETE_MARKER
    )
    assert changes["rolled.html"] == ChangedObject("b", "rolled.html", _at(20), dated_by=SEEN_BY_WAIT)


def test_a_delete_marker_that_reappears_as_an_older_version_is_a_rollback() -> None:
    before = _listing(10)
    before.markers["a.html"] = _at(5)
    after = _listing(20, {"a.html": Version('"v1"', _at(-60), "v1")})  # the marker removed
    assert changes_between(before, after) == [ChangedObject("b", "a.html", _at(20), dated_by=SEEN_BY_WAIT)]


def test_named_keys_are_dated_by_their_marker_or_when_wait_saw_them() -> None:
    # GIVEN a versioned listing with a delete marker for x.html, and an unversioned one
    versioned = _listing(30, {"up.html": Version('"u"', _at(4), "v9")})
    versioned.markers["x.html"] = _at(7)
    plain = _listing(30, versioned=False)
    deleted = [NamedKey("b", "x.html", deleted=True)]
    # THEN the versioned delete by its marker, the unversioned one when wait listed the bucket
    assert named_changes(versioned, deleted, FLOOR)[0].changed_at == _at(7)
    assert named_changes(plain, deleted, FLOOR)[0] == ChangedObject(
        "b", "x.html", _at(30), deleted=True, dated_by=SEEN_BY_WAIT
    )
    # AND an upload by its LastModified; one whose date is before the floor (a clock off by more
    # than the margin) when wait saw it
    [upload] = named_changes(versioned, [NamedKey("b", "up.html", deleted=False)], FLOOR)
    assert upload.changed_at == _at(4)
    [late] = named_changes(versioned, [NamedKey("b", "up.html", deleted=False)], _at(10))
    assert (late.changed_at, late.dated_by) == (_at(30), SEEN_BY_WAIT)
