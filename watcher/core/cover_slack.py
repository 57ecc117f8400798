"""The greedy cover's last step: spend what the limits still allow where it saves most.

Pure. Once the greedy cover (`watcher.core.greedy_cover`) fits, paths and wildcards
may be left: a wildcard can then turn back into its subtree's exact paths, or open
into one wildcard or the exact paths per branch below it (a directory of 16 hashed
prefixes purged whole, then cut into 13 of them). The best such move is taken while
one saves anything; the wildcards in the cover are few (at most the budget), so each
look is cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Item", "RepairLike", "spend_slack"]


@dataclass(slots=True)
class Item:
    """A trie node and the current cover of its subtree."""

    parent: int
    leaves: tuple[str, ...]  # exact paths at this node: its own and its lone-leaf children's
    forced: bool  # a changed wildcard ends here: only a wildcard at or above covers it
    wildcard: tuple[str, int] | None
    wildcard_cost: float
    children: list[int] = field(default_factory=list)
    exact: float = math.inf  # the subtree's paths, all exact (inf: a changed wildcard below)
    collapsed: bool = False
    locked: bool = False  # turned back into exact paths: never collapsed again
    paths: int = 0
    wilds: int = 0
    cost: float = 0.0
    version: int = 0


class RepairLike(Protocol):
    """What the last step needs of the greedy cover's repair (`greedy_cover.Repair`)."""

    items: list[Item]
    max_paths: int
    max_wildcards: int

    def open_path(self, i: int) -> bool: ...

    def expand(self, i: int) -> None: ...

    def set_exact(self, i: int) -> None: ...

    def propagate(self, at: int, d_paths: int, d_wilds: int, d_cost: float) -> None: ...

    def expired(self) -> bool: ...


# (cost change, node, {child: True = its wildcard, False = its exact paths}; None: all exact)
_Move = tuple[float, int, "dict[int, bool] | None"]


def _open(repair: RepairLike, at: int, room_paths: int, room_wilds: int) -> _Move | None:
    """Node `at`'s wildcard opened: each branch its cheaper option, then as the room needs."""
    items = repair.items
    item = items[at]
    if item.forced:
        return None
    picks: dict[int, bool] = {}
    for c in item.children:
        child = items[c]
        if child.wildcard is None and child.exact == math.inf:
            return None
        picks[c] = child.wildcard is not None and child.wildcard_cost <= child.exact
    paths = len(item.leaves) + sum(1 if picks[c] else items[c].exact for c in picks)
    wilds = sum(picks.values())
    # Too many paths: the exact branches whose wildcard costs least a path saved become wildcards.
    exact = [c for c in picks if not picks[c] and items[c].wildcard is not None and items[c].exact > 1]
    exact.sort(key=lambda c: (items[c].wildcard_cost - items[c].exact) / (items[c].exact - 1))
    for c in exact:
        if paths <= room_paths or wilds >= room_wilds:
            break
        picks[c], paths, wilds = True, paths - items[c].exact + 1, wilds + 1
    # Too many wildcards: the wildcard branches whose exact paths cost least more become exact.
    wild = [c for c in picks if picks[c] and items[c].exact < math.inf]
    wild.sort(key=lambda c: items[c].exact - items[c].wildcard_cost)
    for c in wild:
        if wilds <= room_wilds:
            break
        picks[c], paths, wilds = False, paths + items[c].exact - 1, wilds - 1
    if wilds > room_wilds or paths > room_paths:
        return None
    cost = len(item.leaves) + sum(items[c].wildcard_cost if picks[c] else items[c].exact for c in picks)
    return cost - item.wildcard_cost, at, picks


def _best(repair: RepairLike) -> _Move | None:
    items, root = repair.items, repair.items[0]
    room_paths = repair.max_paths - root.paths + 1  # the wildcard's own path is freed
    room_wilds = repair.max_wildcards - root.wilds + 1
    best: _Move | None = None
    for at, item in enumerate(items):
        if not item.collapsed or not repair.open_path(item.parent):
            continue
        moves: list[_Move | None] = [_open(repair, at, room_paths, room_wilds)]
        if item.exact <= room_paths:
            moves.append((item.exact - item.wildcard_cost, at, None))
        for move in moves:
            if move is not None and move[0] < 0 and (best is None or move[0] < best[0]):
                best = move
    return best


def _apply(repair: RepairLike, move: _Move) -> None:
    _, at, picks = move
    if picks is None:
        repair.expand(at)
        return
    items = repair.items
    item: Item = items[at]
    before = (item.paths, item.wilds, item.cost)
    for c, wildcard in picks.items():
        child = items[c]
        if wildcard:
            child.collapsed, child.paths, child.wilds, child.cost = True, 1, 1, child.wildcard_cost
            child.version += 1
        else:
            repair.set_exact(c)
    item.collapsed = False
    item.paths = len(item.leaves) + sum(items[c].paths for c in item.children)
    item.wilds = sum(items[c].wilds for c in item.children)
    item.cost = len(item.leaves) + sum(items[c].cost for c in item.children)
    item.version += 1
    repair.propagate(item.parent, item.paths - before[0], item.wilds - before[1], item.cost - before[2])


def spend_slack(repair: RepairLike) -> None:
    """Take the move that saves most while one does (the cover already fits both limits)."""
    while not repair.expired() and (move := _best(repair)) is not None:
        _apply(repair, move)
