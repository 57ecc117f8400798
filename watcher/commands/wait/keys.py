"""`--keys-from`: `s3://BUCKET/KEY` lines, or the output of `aws s3 sync` itself.

The aws CLI writes its progress (`Completed 1.2 KiB/3.4 KiB ... remaining`) ending
in a carriage return, so a log of `aws s3 sync | tee sync.log` holds lines such as
`Completed ...\\rdelete: s3://b/k` and a line-oriented filter misses the delete.
Reading the log here, split on carriage returns as well as newlines, cannot miss
one. The CLI also pads a result line with spaces (to overwrite the progress it
replaces): trailing whitespace is dropped, so a key that ends in a space must be
given as a plain `s3://` line without padding (and would still lose it: such keys
are rare enough to accept this).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["NamedKey", "parse_keys"]

# What `aws s3 sync|cp|mv|rm` prints per object; "(dryrun)" lines changed nothing, so no match.
_RESULT = re.compile(r"^(upload|copy|move|download|delete): (.+)$")
_PROGRESS = re.compile(r"^Completed \d")


@dataclass(frozen=True, slots=True)
class NamedKey:
    """An object a deploy says it wrote or deleted."""

    bucket: str
    key: str
    deleted: bool


def _s3_url(text: str) -> tuple[str, str] | None:
    bucket, slash, key = text.removeprefix("s3://").partition("/")
    if not text.startswith("s3://") or not bucket or not slash or not key:
        return None
    return bucket, key


def _named(line: str) -> list[NamedKey] | None:
    """The objects one line names; None when it is no line wait knows."""
    plain = _s3_url(line)
    if plain is not None:  # a bare URL: a delete, as --keys-from always took it
        return [NamedKey(*plain, deleted=True)]
    result = _RESULT.match(line)
    if result is None:
        return None
    verb, rest = result.groups()
    if verb == "delete":
        target = _s3_url(rest)
        return None if target is None else [NamedKey(*target, deleted=True)]
    if verb == "download":  # S3 to a local file: nothing changed in S3
        return [] if " to " in rest else None
    # The destination is an S3 URL; the last " to s3://" splits it off (a local path may hold " to ").
    source, to, destination = rest.rpartition(" to s3://")
    written = _s3_url("s3://" + destination)
    if not to or written is None:
        return None
    named = [NamedKey(*written, deleted=False)]
    moved_from = _s3_url(source)
    if verb == "move" and moved_from is not None:  # an S3-to-S3 move deletes its source
        named.append(NamedKey(*moved_from, deleted=True))
    return named


def parse_keys(lines: Iterable[str]) -> list[NamedKey]:
    """Every object the lines name; blank lines, `#` comments and progress are skipped.

    Raises ValueError naming the first line that is none of these.
    """
    named: list[NamedKey] = []
    for number, raw in enumerate(lines, start=1):
        for piece in raw.split("\r"):
            line = piece.strip()
            if not line or line.startswith("#") or _PROGRESS.match(line):
                continue
            found = _named(line)
            if found is None:
                raise ValueError(
                    f"--keys-from line {number}: expected s3://BUCKET/KEY or a line of `aws s3 sync` "
                    f"(upload:/copy:/move:/delete:), got {line[:200]!r}"
                )
            named.extend(found)
    return named
