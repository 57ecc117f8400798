"""A quick cover: the cheapest cover without limits, then the cheapest collapses until it fits.

Pure. The anytime planner's first answer (`watcher.core.anytime`), in O(n log n)
for n trie nodes where the exact search (`watcher.core.cover`) keeps a Pareto
front per node and wildcard count. First, bottom-up, each node takes the cheaper
of its wildcard and its exact paths plus its children's choices (no limits);
then, while the plan has too many wildcards, the node whose wildcard merges the
most of them for the least cost is collapsed; while it has too many paths, the
node that saves the most paths for the least cost (within the wildcards).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection

from watcher.core.candidates import Candidates, ObjectCounts, Prepared, prepare
from watcher.core.clock import Deadline
from watcher.core.cover import Cover, PlannerTimeout
from watcher.core.cover_slack import Item, spend_slack
from watcher.core.planning import InvalidationPlan
from watcher.core.trie import Node

__all__ = ["Repair", "greedy_cover"]


def _check(deadline: Deadline | None) -> None:
    if deadline is not None and deadline.expired():
        raise PlannerTimeout


def _items(root: Node, candidates: Candidates, weight: float, deadline: Deadline | None) -> list[Item]:
    """The trie's nodes in pre-order (parents first), iteratively: tries may be deep."""
    items: list[Item] = []
    stack: list[tuple[Node, int, int]] = [(root, -1, 0)]
    while stack:
        if len(items) % 256 == 255:
            _check(deadline)
        node, parent, parent_length = stack.pop()
        leaves = [node.prefix] if node.terminal and not node.forced else []
        inner = []
        for child in node.children:
            if not child.children and child.terminal and not child.forced:
                leaves.append(child.prefix)  # a lone exact path: never worth a wildcard of its own
            else:
                inner.append(child)
        wildcard = candidates.wildcard_for(node, parent_length)
        cost = math.inf if wildcard is None else 1 + weight * wildcard[1]
        items.append(Item(parent, tuple(leaves), node.forced, wildcard, cost))
        here = len(items) - 1
        if parent >= 0:
            items[parent].children.append(here)
        stack.extend((child, here, len(node.prefix)) for child in inner)
    return items


def _cheapest(items: list[Item], per_path: float = 0.0, per_wildcard: float = 0.0) -> None:
    """Each node's cheapest cover with no limits, children before parents.

    `per_path`, `per_wildcard`: prices added to the choice (not to the cost kept), which
    steer it towards fewer paths or fewer wildcards (a Lagrangian relaxation of the limits).
    """
    priced = [0.0] * len(items)
    for at in range(len(items) - 1, -1, -1):
        item = items[at]
        children = item.children
        item.exact = math.inf if item.forced else len(item.leaves) + sum(items[c].exact for c in children)
        opened = (1 + per_path) * len(item.leaves) + sum(priced[c] for c in children)
        opened = math.inf if item.forced else opened
        wildcard = item.wildcard_cost + per_path + per_wildcard
        paths = len(item.leaves) + sum(items[c].paths for c in children)
        item.collapsed = item.locked = False
        item.version = 0
        # On a tie, the wildcard when it saves paths (the limits may need them).
        if wildcard < opened or (wildcard == opened < math.inf and paths > 1):
            item.collapsed, item.paths, item.wilds, item.cost = True, 1, 1, item.wildcard_cost
            priced[at] = wildcard
        else:
            item.paths, item.wilds = paths, sum(items[c].wilds for c in children)
            item.cost = math.inf if item.forced else len(item.leaves) + sum(items[c].cost for c in children)
            priced[at] = opened


class Repair:
    """Collapse nodes into their wildcards until the cover fits both limits.

    Too many wildcards: merge several under one, or turn one back into exact paths
    (whichever costs less a wildcard saved, the latter only within the path budget).
    Too many paths: collapse the node that saves the most paths for the least cost.
    """

    def __init__(
        self,
        items: list[Item],
        max_paths: int,
        max_wildcards: int,
        per_wildcard: float,
        deadline: Deadline | None = None,
    ) -> None:
        self.items = items
        self.deadline = deadline
        self.per_wildcard = per_wildcard  # a new wildcard's price when saving paths: they are few
        self.max_paths = max_paths
        self.max_wildcards = max_wildcards
        self.heaps: dict[str, list[tuple[float, int, int]]] = {"wilds": [], "paths": [], "exact": []}
        self.held: list[tuple[float, int, int]] = []
        for i in range(len(items)):
            self.offer(i)

    def open_path(self, i: int) -> bool:
        """Whether no ancestor of node i (nor i) is collapsed."""
        while i >= 0:
            if self.items[i].collapsed:
                return False
            i = self.items[i].parent
        return True

    def offer(self, i: int) -> None:
        item = self.items[i]
        if item.collapsed and item.exact < math.inf:
            heapq.heappush(self.heaps["exact"], (item.exact - item.wildcard_cost, item.version, i))
        if item.collapsed or item.locked or item.wildcard is None:
            return
        extra = item.wildcard_cost - item.cost
        if item.wilds > 1:
            heapq.heappush(self.heaps["wilds"], (extra / (item.wilds - 1), item.version, i))
        if item.paths > 1:
            priced = extra + self.per_wildcard * (1 - item.wilds)
            heapq.heappush(self.heaps["paths"], (priced / (item.paths - 1), item.version, i))

    def collapse(self, i: int) -> None:
        item = self.items[i]
        d_paths, d_wilds, d_cost = 1 - item.paths, 1 - item.wilds, item.wildcard_cost - item.cost
        item.collapsed, item.paths, item.wilds, item.cost = True, 1, 1, item.wildcard_cost
        item.version += 1
        self.offer(i)
        self.propagate(item.parent, d_paths, d_wilds, d_cost)

    def expand(self, i: int) -> None:
        """A collapsed node's subtree back to exact paths."""
        item = self.items[i]
        d_paths, d_cost = int(item.exact) - 1, item.exact - item.wildcard_cost
        self.set_exact(i)
        self.propagate(item.parent, d_paths, -1, d_cost)

    def set_exact(self, i: int) -> None:
        """Node i's subtree as exact paths, locked (its ancestors are the caller's to update)."""
        stack = [i]
        while stack:
            below = self.items[stack.pop()]
            below.collapsed, below.locked = False, True
            below.paths, below.wilds, below.cost = int(below.exact), 0, below.exact
            below.version += 1
            stack.extend(below.children)

    def expired(self) -> bool:
        """Whether the deadline passed."""
        return self.deadline is not None and self.deadline.expired()

    def propagate(self, at: int, d_paths: int, d_wilds: int, d_cost: float) -> None:
        """Ancestors from `at` up take the change of a subtree's cover."""
        while at >= 0:
            above = self.items[at]
            above.paths += d_paths
            above.wilds += d_wilds
            above.cost += d_cost
            above.version += 1
            self.offer(at)
            at = above.parent
        if d_wilds < 0:  # wildcards freed: what waited for one may fit now
            for entry in self.held:
                heapq.heappush(self.heaps["paths"], entry)
            self.held = []

    def best(self, kind: str) -> tuple[float, int, int] | None:
        """The cheapest valid move of a kind, taken off its heap (None: none left)."""
        heap, root = self.heaps[kind], self.items[0]
        while heap:
            entry = heap[0]
            item = self.items[entry[2]]
            valid = entry[1] == item.version and self.open_path(item.parent)
            if kind == "exact":
                valid = valid and item.collapsed and root.paths + int(item.exact) - 1 <= self.max_paths
            else:
                valid = valid and not item.collapsed
            if valid and kind == "paths" and root.wilds - item.wilds + 1 > self.max_wildcards:
                self.held.append(heapq.heappop(heap))  # one more wildcard than free: later, perhaps
                continue
            if valid:
                return entry
            heapq.heappop(heap)
        return None

    def run(self) -> bool:
        """Move until the root's cover fits; False when no move is left."""
        root = self.items[0]
        moves = 0
        while root.wilds > self.max_wildcards or root.paths > self.max_paths:
            moves += 1
            if moves % 64 == 0:
                _check(self.deadline)
            if root.wilds > self.max_wildcards:
                merge, expand = self.best("wilds"), self.best("exact")
                if expand is not None and (merge is None or expand[0] <= merge[0]):
                    heapq.heappop(self.heaps["exact"])
                    self.expand(expand[2])
                    continue
                move = merge
            else:
                move = self.best("paths")
            if move is None:
                return False
            heapq.heappop(self.heaps["wilds" if root.wilds > self.max_wildcards else "paths"])
            self.collapse(move[2])
        spend_slack(self)
        return True


def _plan(items: list[Item]) -> tuple[list[str], int]:
    """The cover's paths and the unchanged objects its wildcards purge."""
    paths: list[str] = []
    purged = 0
    stack = [0]
    while stack:
        item = items[stack.pop()]
        if item.collapsed and item.wildcard is not None:
            paths.append(item.wildcard[0] + "*")
            purged += item.wildcard[1]
            continue
        paths.extend(item.leaves)
        stack.extend(item.children)
    return paths, purged


def greedy_cover(
    targets: list[str],
    index: ObjectCounts,
    *,
    weight: float,
    max_paths: int,
    wildcard_budget: int,
    avoid: Collection[str] = frozenset(),
    prices: tuple[tuple[float, float], ...] = ((0.0, 0.0),),
    deadline: Deadline | None = None,
    prepared: Prepared | None = None,
) -> Cover | None:
    """A cover of the normalized, non-empty `targets` within both limits, or None if none is found.

    One pass per (price of a path, price of a wildcard) of `prices`, the cheapest cover kept;
    past `deadline`, no further pass starts. Raises PlannerTimeout when the deadline passes
    before the first pass ends.
    """
    prepared = prepared or prepare(targets, index, avoid)
    items = _items(prepared.root, prepared.candidates, weight, deadline)
    best: Cover | None = None
    for at, (per_path, per_wildcard) in enumerate(prices):
        if at and deadline is not None and deadline.expired():
            break
        _cheapest(items, per_path, per_wildcard)
        repair = Repair(items, max_paths, max(0, wildcard_budget), per_wildcard, deadline)
        try:
            if items[0].cost == math.inf or not repair.run():
                continue
        except PlannerTimeout:
            if best is None:
                raise
            break
        paths, purged = _plan(items)
        plan = InvalidationPlan(tuple(paths))
        cover = Cover(plan, billed=len(plan.paths), wildcards=plan.wildcards, collateral=purged)
        if best is None or cover.cost(weight) < best.cost(weight):
            best = cover
    return best
