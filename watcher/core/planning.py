"""URL paths -> CloudFront invalidation paths: encoding, validation, planning under limits.

Pure: no AWS, no I/O. CloudFront matches invalidation paths against the encoded
request URI, so a path encoded differently from how clients request it misses;
hence the exact encoding rules below (docs/reference.md, "What a change invalidates").
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from watcher.core.sites import prefix_free

__all__ = [
    "CLOUDFRONT_MAX_FILE_PATHS",
    "MAX_PATH_LENGTH",
    "InvalidationPlan",
    "character_prefix",
    "encode_path",
    "is_wildcard",
    "normalize",
    "plan_invalidation",
    "validate_path",
]

MAX_PATH_LENGTH = 4000
# CloudFront's quota of file (non-wildcard) paths in progress per distribution.
CLOUDFRONT_MAX_FILE_PATHS = 3000

# Printable ASCII except the characters CloudFront wants encoded. `*` is absent too:
# it never reaches quote() because a raw path is cut after its first `*`.
_UNSAFE = '"#%<>?[\\]^`{|}*'
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in _UNSAFE)
_BAD_CHAR = re.compile(r"[^\x21-\x7e]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# The common case in one pass: printable ASCII but '%' and '*', escapes, a final '*'.
_VALID = re.compile(r"/(?:[!-$&-)+-~]|%[0-9A-Fa-f]{2})*\*?")
_LAST_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})$")


def _utf8_length(lead: int) -> int:
    """Bytes of the UTF-8 character that starts with `lead` (1 for ASCII, 0 for a continuation)."""
    if lead < 0x80:
        return 1
    if lead < 0xC0:
        return 0
    return 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def character_prefix(prefix: str) -> str:
    """The longest prefix of an encoded path that ends between two characters.

    Never inside a %XX escape, nor inside the escapes of one UTF-8 character: `/caf%C3` is
    half of "é" (%C3%A9), and what CloudFront makes of a wildcard cut there is unknown.
    """
    # Every '%' in encoded text starts an escape: never keep half of one.
    if prefix.endswith("%"):
        prefix = prefix[:-1]
    elif prefix[-2:-1] == "%":
        prefix = prefix[:-2]
    end, continuations = len(prefix), 0
    while match := _LAST_ESCAPE.search(prefix, 0, end):
        length = _utf8_length(int(match.group(1), 16))
        if length == 0:  # a continuation byte: its character starts further back
            continuations += 1
            end = match.start()
            continue
        complete = length == continuations + 1
        return prefix if complete else prefix[: match.start() if length > 1 else match.end()]
    return prefix[:end]  # continuation bytes with no lead (not UTF-8): cut them all


def _cut_to_wildcard(encoded: str) -> str:
    """A wildcard of at most MAX_PATH_LENGTH characters that still covers `encoded`."""
    return character_prefix(encoded[: MAX_PATH_LENGTH - 1]) + "*"


def encode_path(path: str) -> tuple[str, ...]:
    """A raw, decoded URL path ("/" + key relative to the site prefix, any unicode) -> the
    CloudFront path(s) to invalidate, encoded per docs/reference.md ("What a change invalidates").

    Two variants (plain and encoded) when the path holds `+` or `~`, which clients may
    request either way; a `*` or an over-long path becomes a wildcard covering the key.
    """
    if not path.startswith("/"):
        path = "/" + path
    star = path.find("*")
    wildcard = star != -1
    if wildcard:
        path = path[:star]
    # surrogatepass: a key that is not valid unicode still gets a valid, covering path.
    plain = quote(path, safe=_SAFE, errors="surrogatepass")
    variants = [plain]
    if "+" in plain or "~" in plain:
        variants.append(plain.replace("+", "%2B").replace("~", "%7E"))
    result: list[str] = []
    for variant in variants:
        candidate = variant + "*" if wildcard else variant
        if len(candidate) > MAX_PATH_LENGTH:
            candidate = _cut_to_wildcard(variant)
        if candidate not in result:
            result.append(candidate)
    return tuple(result)


def validate_path(path: str) -> str | None:
    """None when the (encoded) path is valid for CloudFront, else a one-line reason."""
    if not path.startswith("/"):
        return "must start with '/'"
    if len(path) > MAX_PATH_LENGTH:
        return f"is {len(path)} characters long, more than {MAX_PATH_LENGTH}"
    star = path.find("*")
    if star not in (-1, len(path) - 1):
        return f"'*' at position {star} is only allowed as the last character"
    bad = _BAD_CHAR.search(path)
    if bad:
        char = bad.group()
        return f"{char!r} (U+{ord(char):04X}) at position {bad.start()} must be percent-encoded"
    escape = _BAD_ESCAPE.search(path)
    if escape:
        return f"'%' at position {escape.start()} is not followed by two hex digits"
    return None


def is_wildcard(path: str) -> bool:
    """Whether a CloudFront path is a wildcard (ends in '*')."""
    return path.endswith("*")


def _under(prefixes: Sequence[str], path: str) -> bool:
    """Whether `path` starts with one of the sorted, prefix-free `prefixes`."""
    # In a prefix-free sorted list, only the greatest prefix <= path can be its prefix.
    index = bisect_right(prefixes, path) - 1
    return index >= 0 and path.startswith(prefixes[index])


@dataclass(frozen=True, slots=True)
class InvalidationPlan:
    """The paths of one CreateInvalidation: sorted, deduplicated, encoded."""

    paths: tuple[str, ...]
    _wildcard_prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        paths = tuple(sorted(set(self.paths)))
        object.__setattr__(self, "paths", paths)
        prefixes = prefix_free(path[:-1] for path in paths if is_wildcard(path))
        object.__setattr__(self, "_wildcard_prefixes", tuple(prefixes))

    @property
    def wildcards(self) -> int:
        """How many paths end in '*' (each counts against CloudFront's 15 in progress)."""
        return sum(1 for path in self.paths if is_wildcard(path))

    def covers(self, path: str) -> bool:
        """Whether an encoded path equals a plan path or lies under a wildcard's prefix."""
        index = bisect_right(self.paths, path) - 1
        exact = index >= 0 and self.paths[index] == path
        return exact or _under(self._wildcard_prefixes, path)


@dataclass(slots=True)
class _Directory:
    """A directory of the plan: every path that starts with `path` (a trie node, lazily)."""

    path: str
    members: list[str]
    wildcards: int

    def split(self) -> tuple[list[str], list[_Directory]]:
        """(paths directly in this directory, its subdirectories, largest first)."""
        start = len(self.path)
        items: list[str] = []
        groups: dict[str, list[str]] = {}
        for member in self.members:
            end = member.find("/", start)
            if end == -1:
                items.append(member)
            else:
                groups.setdefault(member[: end + 1], []).append(member)
        children = [
            _Directory(path, members, _count_wildcards(members) if self.wildcards else 0)
            for path, members in groups.items()
        ]
        children.sort(key=lambda child: (-len(child.members), child.path))
        return items, children


def _count_wildcards(paths: Iterable[str]) -> int:
    return sum(1 for path in paths if path.endswith("*"))


def _refine(
    node: _Directory, path_room: int, wildcard_room: int
) -> tuple[list[str], list[_Directory]] | None:
    """Replace a directory wildcard by (exact paths, subdirectory wildcards) within the room.

    Subdirectories stay exact while they fit (exact paths purge nothing else); the
    largest become wildcards as needed. None when no refinement fits the room.
    """
    items, children = node.split()
    paths, wildcards = len(node.members), node.wildcards
    collapsed: dict[str, _Directory] = {}

    def collapse(child: _Directory) -> None:
        nonlocal paths, wildcards
        collapsed[child.path] = child
        paths -= len(child.members) - 1
        wildcards -= child.wildcards - 1

    # A one-path subdirectory is never worth a wildcard; nor is one too long for "*".
    worth = [c for c in children if len(c.members) > 1 and len(c.path) < MAX_PATH_LENGTH]
    for child in worth:
        if paths <= path_room:
            break
        if not node.wildcards and len(collapsed) == wildcard_room:
            return None  # each further wildcard is a new one: the room is spent
        collapse(child)
    for child in sorted(worth, key=lambda child: (-child.wildcards, child.path)):
        if wildcards <= wildcard_room or child.wildcards < 2:
            break
        if child.path not in collapsed:
            collapse(child)
    if paths > path_room or wildcards > wildcard_room:
        return None
    for child in children:
        if child.path not in collapsed:
            items.extend(child.members)
    return items, list(collapsed.values())


def _collapse(paths: list[str], max_paths: int, wildcard_budget: int) -> list[str]:
    """Start from "/*" and refine wildcards into subdirectories while both limits hold.

    The widest wildcard is refined first, as it purges the most unchanged objects; each
    directory is tried once, since the room only shrinks as the plan is refined.
    """
    root = _Directory("/", paths, _count_wildcards(paths))
    path_count, wildcard_count = 1, 1
    plan: list[str] = []
    frontier = [(-len(root.members), root.path, root)]
    while frontier:
        _, _, node = heapq.heappop(frontier)
        path_room = max_paths - path_count + 1
        refined = _refine(node, path_room, wildcard_budget - wildcard_count + 1)
        if refined is None:
            plan.append(node.path + "*")
            continue
        exact, wildcards = refined
        plan.extend(exact)
        for child in wildcards:
            heapq.heappush(frontier, (-len(child.members), child.path, child))
        path_count += len(exact) + len(wildcards) - 1
        wildcard_count += _count_wildcards(exact) + len(wildcards) - 1
    return plan


def normalize(paths: Iterable[str]) -> list[str]:
    """Unique, validated paths without those under an input wildcard (already covered).

    Raises ValueError for a path that fails `validate_path`.
    """
    unique = set(paths)
    for path in sorted(p for p in unique if len(p) > MAX_PATH_LENGTH or not _VALID.fullmatch(p)):
        raise ValueError(f"invalid CloudFront path {path[:200]!r}: {validate_path(path)}")
    prefixes = prefix_free(path[:-1] for path in unique if path.endswith("*"))
    kept_prefixes = set(prefixes)
    return [
        path
        for path in unique
        if (path[:-1] in kept_prefixes if path.endswith("*") else not _under(prefixes, path))
    ]


def plan_invalidation(paths: Iterable[str], *, max_paths: int, wildcard_budget: int) -> InvalidationPlan:
    """Encoded paths of one burst -> the request to send.

    Deduplicates and drops paths under a wildcard. Exact paths while they fit in
    `max_paths`; past it, directory wildcards, as deep as `max_paths` and
    `wildcard_budget` (wildcards still free for the distribution) allow, down to "/*".
    With no wildcard budget the exact paths come back as they are:
    `watcher.core.schedule` splits them and holds the wildcards. Raises ValueError for a path that fails
    `validate_path`.
    """
    if max_paths < 1:
        raise ValueError(f"max_paths must be at least 1, not {max_paths}")
    kept = normalize(paths)
    wildcards = _count_wildcards(kept)
    budget = max(wildcard_budget, 0)
    if (len(kept) <= max_paths and wildcards <= budget) or budget == 0:
        return InvalidationPlan(tuple(kept))
    return InvalidationPlan(tuple(_collapse(kept, max_paths, budget)))
