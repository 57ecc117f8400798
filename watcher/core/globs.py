"""Globs over S3 keys (relative to a site prefix), compiled once to one regular expression.

S3 keys are not file paths: no segment is special (`.`, `..`, empty ones and
dot files are ordinary), so matching is plain string matching with `/` as the
only separator. The rules, with tested examples: docs/reference.md, "Globs".

- `*` matches within one segment, `?` one character other than `/`;
- `**/` any number of whole segments (zero included), `**` elsewhere anything;
- `[abc]`, `[a-z]`, `[!a-z]` / `[^a-z]` one character of a class (never `/`);
- `{a,b}` any one of the choices, nested and with globs inside, `{1..3}` a
  range (expanded by bracex, the brace expander of wcmatch);
- `\\` makes the next character literal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import bracex

__all__ = ["GlobError", "check_globs", "compile_glob", "compile_globs"]

_NEVER = re.compile(r"(?!)")
_MAX_CHOICES = 256  # a brace expansion larger than this is a mistake, not a site layout


class GlobError(ValueError):
    """A glob that cannot be read: one line, naming the glob."""


@functools.lru_cache(maxsize=1024)
def compile_glob(glob: str) -> re.Pattern[str]:
    """The compiled glob; use `fullmatch` on a key relative to its site prefix."""
    return compile_globs((glob,))


@functools.lru_cache(maxsize=1024)
def compile_globs(globs: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern that fully matches what any of `globs` matches (none: matches nothing)."""
    if not globs:
        return _NEVER
    alternatives = [_translate(choice, glob) for glob in globs for choice in _choices(glob)]
    return re.compile("|".join(f"(?:{alternative})" for alternative in alternatives), re.DOTALL)


def check_globs(globs: Iterable[str]) -> None:
    """Raise GlobError for the first glob that cannot be read."""
    compile_globs(tuple(globs))


def _choices(glob: str) -> list[str]:
    depth, escaped = 0, False
    for char in glob:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise GlobError(f"unmatched '}}' in glob {glob!r} (write \\}} for a literal brace)")
    if depth:
        raise GlobError(f"unclosed '{{' in glob {glob!r} (write \\{{ for a literal brace)")
    try:
        return list(bracex.iexpand(glob, keep_escapes=True, limit=_MAX_CHOICES))
    except bracex.ExpansionLimitException as exc:
        raise GlobError(f"glob {glob!r} expands to more than {_MAX_CHOICES} choices") from exc


def _translate(choice: str, glob: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(choice):
        char = choice[index]
        if choice.startswith("**/", index):
            out.append("(?:[^/]*/)*")  # zero or more whole segments
            index += 3
            continue
        if choice.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "[":
            klass, index = _character_class(choice, index, glob)
            out.append(klass)
            continue
        if char == "\\" and index + 1 < len(choice):
            char = choice[index + 1]
            index += 1
            out.append(re.escape(char))
        else:
            out.append({"*": "[^/]*", "?": "[^/]"}.get(char) or re.escape(char))
        index += 1
    return "".join(out)


def _character_class(choice: str, start: int, glob: str) -> tuple[str, int]:
    index = start + 1
    negated = index < len(choice) and choice[index] in "!^"
    index += negated
    body_start = index
    if index < len(choice) and choice[index] == "]":
        index += 1  # a leading ] is a member, as in every shell
    end = choice.find("]", index)
    if end < 0:
        raise GlobError(f"unclosed '[' in glob {glob!r} (write \\[ for a literal bracket)")
    body = choice[body_start:end]
    members = "".join(
        "-" if char == "-" and 0 < i < len(body) - 1 else re.escape(char) for i, char in enumerate(body)
    )
    klass = f"[^{members}/]" if negated else f"(?!/)[{members}]"
    try:
        re.compile(klass)
    except re.error as exc:
        raise GlobError(f"bad character class {choice[start : end + 1]!r} in glob {glob!r}: {exc}") from exc
    return klass, end + 1
