"""results.md as `## ` sections: each benchmark rewrites its own and keeps the others."""

from __future__ import annotations

__all__ = ["carry_sections", "replace_section"]


def _split(text: str) -> tuple[str, list[str]]:
    """The text before the first `## ` heading, and each section from its heading on."""
    parts = ("\n" + text).split("\n## ")
    head = parts[0][1:]
    return head, ["## " + part.rstrip("\n") + "\n" for part in parts[1:]]


def _heading(section: str) -> str:
    return section.split("\n", 1)[0].strip()


def replace_section(text: str, section: str) -> str:
    """`text` with the section of the same heading as `section` replaced, or `section` appended."""
    head, sections = _split(text)
    heading = _heading(section)
    section = section.rstrip("\n") + "\n"
    if any(_heading(s) == heading for s in sections):
        sections = [section if _heading(s) == heading else s for s in sections]
    else:
        sections.append(section)
    return (head.rstrip("\n") + "\n\n" if head.strip() else "") + "\n".join(sections)


def carry_sections(old: str, new: str) -> str:
    """`new` with every section of `old` whose heading `new` lacks appended, in `old`'s order."""
    have = {_heading(s) for s in _split(new)[1]}
    out = new
    for section in _split(old)[1]:
        if _heading(section) not in have:
            out = replace_section(out, section)
    return out
