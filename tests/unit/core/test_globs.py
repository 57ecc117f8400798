"""Glob semantics: every example row of docs/reference.md ("Globs") is a test, and bad globs are one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from watcher.core.config import ConfigError, load_settings
from watcher.core.globs import GlobError, compile_glob, compile_globs
from watcher.core.routing import Router

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "reference.md"


def _documented_examples() -> list[tuple[str, list[str], list[str]]]:
    text = REFERENCE.read_text(encoding="utf-8")
    section = text.split("## Globs", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    rows = []
    for line in table[2:]:  # past the header and the --- line
        glob, matches, misses = (cell.strip() for cell in line.strip("|").split(" | "))
        rows.append((_code(glob)[0], _code(matches), _code(misses)))
    return rows


def _code(cell: str) -> list[str]:
    # `...` spans; markdown's \[ in a table cell is a literal backslash too
    return re.findall(r"`([^`]*)`", cell)


EXAMPLES = _documented_examples()


def test_the_reference_has_the_examples() -> None:
    assert len(EXAMPLES) >= 12
    assert ("**/*.{map,txt}", ["app.js.map", "docs/notes.txt"], ["app.js", "docs/notes.txt.gz"]) in EXAMPLES


@pytest.mark.parametrize(("glob", "matches", "misses"), EXAMPLES, ids=[row[0] for row in EXAMPLES])
def test_each_documented_example_holds(glob: str, matches: list[str], misses: list[str]) -> None:
    pattern = compile_glob(glob)
    assert [key for key in matches if pattern.fullmatch(key)] == matches
    assert [key for key in misses if pattern.fullmatch(key)] == []


def test_an_exclude_with_braces_keeps_those_files_out_of_the_invalidation() -> None:
    # GIVEN a site that excludes source maps and text files
    router = _router(exclude=["**/*.{map,txt}"])
    # WHEN a deploy changes a page, its map and a text file
    routed = {key: not router.route("b", key).ignored for key in ("app.js", "app.js.map", "notes/a.txt")}
    # THEN only the page is invalidated (and billed)
    assert routed == {"app.js": True, "app.js.map": False, "notes/a.txt": False}


def test_several_globs_compile_to_one_pattern_once() -> None:
    assert compile_globs(("*.html", "**/*.css")) is compile_globs(("*.html", "**/*.css"))
    assert compile_globs(()).fullmatch("") is None


@pytest.mark.parametrize(
    ("glob", "says"),
    [
        ("v[0-9/**", "unclosed '['"),
        ("**/*.{map,txt", "unclosed '{'"),
        ("a}.html", "unmatched '}'"),
        ("[z-a]*", "bad character class '[z-a]'"),
        ("{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}", "more than 256 choices"),
    ],
)
def test_an_unreadable_glob_is_one_clear_error(glob: str, says: str) -> None:
    with pytest.raises(GlobError, match=re.escape(says)):
        compile_glob(glob)


def test_watcher_check_rejects_an_unreadable_glob_with_one_line(tmp_path: Path) -> None:
    # GIVEN a config whose exclude and watch globs are not closed
    config = tmp_path / "config.toml"
    config.write_text(
        '[watcher]\nsources = ["poll"]\n[poll]\nwatch = ["[ab"]\n'
        '[[sites]]\nbucket = "b"\ndistribution_id = "E1"\nexclude = ["**/*.{map,txt"]\n'
    )
    # WHEN it is loaded THEN each problem is one line naming the glob
    with pytest.raises(ConfigError) as raised:
        load_settings(config, environ={})
    assert raised.value.problems == [
        "poll.watch: unclosed '[' in glob '[ab' (write \\[ for a literal bracket)",
        "sites[0].exclude: unclosed '{' in glob '**/*.{map,txt' (write \\{ for a literal brace)",
    ]


def _router(**site: list[str]) -> Router:
    from watcher.core.config import SiteSettings  # noqa: PLC0415

    return Router([SiteSettings(bucket="b", distribution_id="E1", **site)])  # type: ignore[arg-type]
