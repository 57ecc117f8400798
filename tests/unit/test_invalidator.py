"""The CallerReference: same batch, same reference; anything else, a new one."""

from __future__ import annotations

from watcher.cloudfront.invalidator import caller_reference


def test_the_same_batch_gets_the_same_reference_whatever_the_order() -> None:
    # GIVEN one batch seen twice (a retry, or a restarted process receiving the same messages)
    first = caller_reference("E1", ["m-1#0", "m-2#0"], ["/a", "/b"])
    again = caller_reference("E1", ["m-2#0", "m-1#0", "m-1#0"], ["/b", "/a"])
    # THEN the reference is the same: CloudFront returns the existing invalidation
    assert first == again
    assert first.startswith("cfw-")
    assert len(first) <= 128  # CloudFront's limit on CallerReference


def test_a_later_deploy_of_the_same_files_gets_a_new_reference() -> None:
    # GIVEN the same paths, but from new messages (a new deploy of identical files)
    assert caller_reference("E1", ["m-1#0"], ["/a"]) != caller_reference("E1", ["m-9#0"], ["/a"])


def test_a_different_plan_or_distribution_gets_a_new_reference() -> None:
    # A bisected part of a batch must not collide with the whole (InvalidationBatchAlreadyExists)
    whole = caller_reference("E1", ["m-1#0"], ["/a", "/b"])
    assert whole != caller_reference("E1", ["m-1#0"], ["/a"])
    assert whole != caller_reference("E2", ["m-1#0"], ["/a", "/b"])


def test_identities_and_paths_cannot_be_confused() -> None:
    # The separators keep ("x", "/y") apart from ("x/y",) and from moving an item across the boundary
    assert caller_reference("E1", ["a", "b"], ["/c"]) != caller_reference("E1", ["a"], ["b", "/c"])
    assert caller_reference("E1", ["ab"], ["/c"]) != caller_reference("E1", ["a", "b"], ["/c"])
