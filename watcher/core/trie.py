"""The compressed trie (radix tree) of a set of paths: the candidates of a cover.

Pure. Its inner nodes are where the changed paths branch (a directory, or a cut
inside a file name); a wildcard anywhere else covers the same changed paths as
the nearest node below it and purges at least as much.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from watcher.core.planning import is_wildcard

__all__ = ["Node", "compressed_trie"]


@dataclass(slots=True)
class Node:
    """A node of the compressed trie: a prefix shared by the changed paths below it."""

    prefix: str
    terminal: bool = False  # the prefix itself is a changed exact path
    forced: bool = False  # the changed path is the wildcard prefix + "*"
    children: list[Node] = field(default_factory=list)


def compressed_trie(targets: list[str]) -> Node:
    """The compressed trie of the sorted targets (wildcards as their prefix, flagged)."""
    keys = sorted({(t[:-1] if is_wildcard(t) else t): is_wildcard(t) for t in targets}.items())
    root = Node(prefix="")
    stack = [root]
    previous = ""
    for key, forced in keys:
        common = _common_length(previous, key) if previous else 0
        # Pop the nodes deeper than the common prefix; split one if the prefix falls inside it.
        last: Node | None = None
        while len(stack) > 1 and len(stack[-1].prefix) > common:
            last = stack.pop()
        parent = stack[-1]
        if last is not None and len(parent.prefix) < common:
            branch = Node(prefix=key[:common], children=[last])
            parent.children[-1] = branch
            stack.append(branch)
            parent = branch
        if parent.prefix == key:
            parent.terminal = True
            parent.forced = parent.forced or forced
        else:
            node = Node(prefix=key, terminal=True, forced=forced)
            parent.children.append(node)
            stack.append(node)
        previous = key
    return root


def _common_length(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
