"""The candidates of a cover: the trie of the changed paths, and each node's wildcard.

Pure. Any wildcard can be shortened to the longest common prefix of the changed
paths it covers without covering fewer of them or purging more, so a cover's
wildcards sit at the branching points of the compressed trie of the changed
paths, cut back to a character boundary (`character_prefix`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol

from watcher.core.planning import MAX_PATH_LENGTH, character_prefix, is_wildcard
from watcher.core.trie import Node, compressed_trie

__all__ = [
    "Candidates",
    "ChangedPaths",
    "ObjectCounts",
    "Prepared",
    "cover_trie",
    "prepare",
    "safe_wildcard_prefix",
]


class ObjectCounts(Protocol):
    """What the cover needs of a site index: objects under a prefix, and membership."""

    def count(self, prefix: str) -> int: ...

    def __contains__(self, path: object) -> bool: ...


def safe_wildcard_prefix(prefix: str) -> str:
    """The longest prefix of `prefix` that ends at a character boundary (`character_prefix`)."""
    return character_prefix(prefix)


class ChangedPaths:
    """The changed paths that are also index entries, sorted, for 'changed objects under a prefix'."""

    def __init__(self, targets: Iterable[str], index: ObjectCounts) -> None:
        self._sorted = sorted(t for t in targets if not is_wildcard(t) and t in index)

    def count(self, prefix: str) -> int:
        """Changed objects whose path starts with `prefix`."""
        lo = bisect_left(self._sorted, prefix)
        hi = bisect_left(self._sorted, prefix + "\U0010ffff")
        return hi - lo


def cover_trie(targets: list[str]) -> Node:
    """The compressed trie of the (normalized) targets, from their first branching point."""
    root = compressed_trie(targets)
    if not root.terminal and root.children and len(root.children) == 1:
        root = root.children[0]
    return root


class Candidates:
    """Each trie node's wildcard and what it purges, against a site index."""

    def __init__(
        self, targets: Iterable[str], index: ObjectCounts, avoid: Collection[str] = frozenset()
    ) -> None:
        """`avoid`: wildcards never to plan (CloudFront rejected them)."""
        self.index = index
        self.changed = ChangedPaths(targets, index)
        self.avoid = avoid
        # Several passes (the anytime planner's) ask again: counting is two bisections each.
        self._collateral: dict[str, int] = {}
        self._wildcards: dict[tuple[int, int], tuple[str, int] | None] = {}

    def collateral_of(self, prefix: str) -> int:
        """Unchanged objects of the index under `prefix`."""
        known = self._collateral.get(prefix)
        if known is None:
            known = self._collateral[prefix] = max(0, self.index.count(prefix) - self.changed.count(prefix))
        return known

    def wildcard_for(self, node: Node, parent_length: int) -> tuple[str, int] | None:
        """The node's wildcard and its collateral (remembered per node of a trie kept alive)."""
        key = (id(node), parent_length)
        if key not in self._wildcards:
            self._wildcards[key] = self._wildcard_for(node, parent_length)
        return self._wildcards[key]

    def _wildcard_for(self, node: Node, parent_length: int) -> tuple[str, int] | None:
        """The node's wildcard and its collateral: its directory when that purges no more."""
        prefix = safe_wildcard_prefix(node.prefix)
        if not prefix.startswith("/") or len(prefix) >= MAX_PATH_LENGTH:
            return None
        cost = self.collateral_of(prefix)
        directory = prefix[: prefix.rfind("/") + 1]
        # A longer prefix than the parent's covers no other changed path: same cover, plainer name.
        plainer = directory != prefix and len(directory) > parent_length and directory + "*" not in self.avoid
        if plainer and self.collateral_of(directory) == cost:
            return directory, cost
        if prefix + "*" in self.avoid:
            return None  # CloudFront rejected it once: it would again
        return prefix, cost


@dataclass(frozen=True, slots=True)
class Prepared:
    """What every pass of a cover shares: the normalized targets, their trie, the candidates."""

    targets: list[str]
    root: Node
    candidates: Candidates


def prepare(targets: list[str], index: ObjectCounts, avoid: Collection[str] = frozenset()) -> Prepared:
    """The shared part of a cover's passes, for normalized, non-empty `targets`."""
    return Prepared(targets, cover_trie(targets), Candidates(targets, index, avoid))
