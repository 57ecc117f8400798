"""The cheapest cover of a deploy: billed paths + collateral_weight x unchanged objects purged.

Pure. A cover is a set of exact paths and prefix wildcards that covers every
changed path, within a path budget and the wildcards free on the distribution.
Its wildcards sit at the branching points of the compressed trie of the changed
paths (directories, and cuts inside a file name such as `/assets/app-1*`; see
`watcher.core.candidates`). A dynamic program over
that trie keeps, per node and per number of wildcards, the Pareto front of
(paths, unchanged objects purged); the root's cheapest entry is the optimum.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import cast

from watcher.core.candidates import (
    Candidates,
    ChangedPaths,
    ObjectCounts,
    Prepared,
    prepare,
    safe_wildcard_prefix,
)
from watcher.core.clock import Deadline
from watcher.core.planning import InvalidationPlan, is_wildcard, normalize
from watcher.core.trie import Node

__all__ = ["Cover", "ObjectCounts", "PlannerTimeout", "collateral", "optimal_cover", "safe_wildcard_prefix"]


class PlannerTimeout(Exception):
    """The planner's deadline passed before the search completed."""


@dataclass(frozen=True, slots=True)
class Cover:
    """A plan and what it costs: billed paths, wildcards, unchanged objects purged."""

    plan: InvalidationPlan
    billed: int
    wildcards: int
    collateral: int

    def cost(self, weight: float) -> float:
        """billed paths + weight x collateral."""
        return self.billed + weight * self.collateral


def collateral(plan: InvalidationPlan, changed: Iterable[str], index: ObjectCounts) -> int:
    """Unchanged objects of the index that the plan's wildcards purge (nested wildcards once)."""
    changed_here = ChangedPaths(changed, index)
    prefixes: list[str] = []
    for path in plan.paths:
        if is_wildcard(path):
            prefix = path[:-1]
            if not any(prefix.startswith(kept) for kept in prefixes):
                prefixes = [kept for kept in prefixes if not kept.startswith(prefix)] + [prefix]
    return sum(max(0, index.count(p) - changed_here.count(p)) for p in prefixes)


# A front entry: (paths, collateral, how it is built). The build is a tree of tuples,
# flattened only for the winner.
_Build = tuple[object, ...]
_Entry = tuple[int, int, _Build]
_Front = dict[int, list[_Entry]]


def _prune(entries: list[_Entry]) -> list[_Entry]:
    """Keep the Pareto front: ascending paths, strictly descending collateral."""
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    kept: list[_Entry] = []
    for entry in entries:
        if not kept or entry[1] < kept[-1][1]:
            kept.append(entry)
    return kept


def _within(front: _Front, weight: float, bound: float) -> _Front:
    """Drop entries that alone cost more than a known cover: costs only add up the tree."""
    if bound == math.inf:
        return front
    kept = {k: [e for e in entries if e[0] + weight * e[1] <= bound] for k, entries in front.items()}
    return {k: entries for k, entries in kept.items() if entries}


def _thin(front: _Front, beam: int | None, weight: float) -> _Front:
    """At most `beam` entries per wildcard count: the cheapest alone, and a spread over the paths.

    An approximation (the anytime planner's first passes): the spread keeps the entries with
    the fewest paths, so a cover that fits the path budget is never lost.
    """
    if beam is None:
        return front
    thinned: _Front = {}
    for k, entries in front.items():
        n = len(entries)
        if n <= beam:
            thinned[k] = entries
            continue
        cheapest = min(range(n), key=lambda i: entries[i][0] + weight * entries[i][1])
        picks = {i * (n - 1) // (beam - 1) for i in range(beam - 1)} | {0, n - 1, cheapest}
        thinned[k] = [entries[i] for i in sorted(picks)]
    return thinned


def _combine(
    left: _Front, right: _Front, max_paths: int, max_wildcards: int, deadline: Deadline | None = None
) -> _Front:
    merged: dict[int, list[_Entry]] = {}
    for k1, entries1 in left.items():
        if deadline is not None and deadline.expired():  # fronts of thousands of paths: slow
            raise PlannerTimeout
        for k2, entries2 in right.items():
            k = k1 + k2
            if k > max_wildcards:
                continue
            bucket = merged.setdefault(k, [])
            for p1, c1, b1 in entries1:
                room = max_paths - p1
                bucket.extend([(p1 + p2, c1 + c2, ("+", b1, b2)) for p2, c2, b2 in entries2 if p2 <= room])
    return _drop_dominated({k: _prune(v) for k, v in merged.items() if v})


def _drop_dominated(front: _Front) -> _Front:
    """Drop entries that another entry with fewer wildcards beats on paths and collateral."""
    result: _Front = {}
    # (paths, least collateral) of the entries kept so far, as a staircase: paths ascending,
    # collateral strictly descending; an entry is beaten when a step at or left of it is as low.
    steps: list[tuple[int, int]] = []
    for k in sorted(front):
        kept = []
        for entry in front[k]:
            at = bisect_left(steps, (entry[0] + 1, -1)) - 1
            if at < 0 or steps[at][1] > entry[1]:
                kept.append(entry)
        if kept:
            result[k] = kept
            merged = sorted([*steps, *((e[0], e[1]) for e in kept)])
            steps = []
            for step in merged:
                if not steps or step[1] < steps[-1][1]:
                    steps.append(step)
    return result


class _Solver:
    def __init__(  # noqa: PLR0917 - the solver's whole state
        self,
        candidates: Candidates,
        max_paths: int,
        max_wildcards: int,
        weight: float,
        bound: float,
        deadline: Deadline | None = None,
        beam: int | None = None,
    ) -> None:
        self.candidates = candidates
        self.deadline = deadline
        self.beam = beam
        self.weight = weight
        self.bound = bound
        self.max_paths = max_paths
        self.max_wildcards = max_wildcards

    def front(self, node: Node, parent_length: int = 0) -> _Front:
        if self.deadline is not None and self.deadline.expired():
            raise PlannerTimeout
        front: _Front | None = None
        exact_leaves = 0
        exact_paths: list[str] = []
        if node.terminal and not node.forced:
            exact_leaves += 1
            exact_paths.append(node.prefix)
        feasible = not node.forced
        for child in node.children:
            if not child.children and child.terminal and not child.forced:
                exact_leaves += 1  # a lone exact path: never worth a wildcard of its own
                exact_paths.append(child.prefix)
                continue
            below = self.front(child, len(node.prefix))
            if front is None:
                front = below
            else:
                front = _combine(front, below, self.max_paths, self.max_wildcards, self.deadline)
            front = _thin(_within(front, self.weight, self.bound), self.beam, self.weight)
        if front is None:
            front = {0: [(0, 0, ())]}
        if feasible:
            leaves = ("E", tuple(exact_paths))
            shifted: _Front = {}
            for k, entries in front.items():
                moved: list[_Entry] = [(p + exact_leaves, c, ("+", b, leaves)) for p, c, b in entries]
                moved = [e for e in moved if e[0] <= self.max_paths]
                if moved:
                    shifted[k] = moved
            front = shifted
        else:
            front = {}
        wildcard = self.candidates.wildcard_for(node, parent_length) if self.max_wildcards >= 1 else None
        if wildcard is not None:
            option: _Entry = (1, wildcard[1], ("W", wildcard[0]))
            front[1] = _prune([*front.get(1, []), option])
            front = _drop_dominated(front)
        return _thin(front, self.beam, self.weight)


def _flatten(build: _Build, out: list[str]) -> None:
    stack: list[object] = [build]
    while stack:
        item = cast(_Build, stack.pop())
        if not item:
            continue
        tag = item[0]
        if tag == "W":
            out.append(str(item[1]) + "*")
        elif tag == "E":
            out.extend(cast(tuple[str, ...], item[1]))
        else:
            stack.append(item[1])
            stack.append(item[2])


def optimal_cover(
    paths: Iterable[str],
    index: ObjectCounts,
    *,
    weight: float,
    max_paths: int,
    wildcard_budget: int,
    upper_bound: float | None = None,
    avoid: Collection[str] = frozenset(),
    deadline: Deadline | None = None,
    beam: int | None = None,
    prepared: Prepared | None = None,
) -> Cover | None:
    """The minimum-cost cover of the changed (encoded) paths, or None if no cover fits.

    Cost = billed paths + `weight` x unchanged objects purged (objects of `index` under a
    wildcard, less the changed ones). Ties go to less collateral, then fewer wildcards.
    `upper_bound`: the cost of a cover known to fit; partial covers that already cost more
    are pruned (costs only add up the tree, so the optimum stays). `avoid`: wildcards never
    to plan (CloudFront rejected them). `beam`: keep at most that many partial covers per
    node and wildcard count (fast, not always optimal). `prepared`: the targets' trie and
    candidates from `prepare` (then `paths`, `index` and `avoid` are not read again). Raises
    PlannerTimeout once `deadline` expired, ValueError for a path that fails `validate_path`.
    """
    if prepared is None:
        targets = normalize(paths)
        if not targets:
            return Cover(InvalidationPlan(()), 0, 0, 0)
        prepared = prepare(targets, index, avoid)
    bound = math.inf if upper_bound is None else upper_bound + 1e-6
    solver = _Solver(prepared.candidates, max_paths, max(0, wildcard_budget), weight, bound, deadline, beam)
    front = solver.front(prepared.root)
    best: tuple[float, int, int, int, _Build] | None = None
    for k, entries in front.items():
        for p, c, build in entries:
            candidate = (p + weight * c, c, k, p, build)
            if best is None or candidate[:4] < best[:4]:
                best = candidate
    if best is None:
        return None
    out: list[str] = []
    _flatten(best[4], out)
    plan = InvalidationPlan(tuple(out))
    return Cover(plan, billed=best[3], wildcards=best[2], collateral=best[1])
