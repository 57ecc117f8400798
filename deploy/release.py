"""One version everywhere: the release's version, its changelog section, and their agreement.

    python3 deploy/release.py version            the version (pyproject.toml [project] version)
    python3 deploy/release.py check [--tag vX]   every place that names it agrees; with --tag,
                                                 the tag is that version and CHANGELOG.md has
                                                 its dated section (the release workflow)
    python3 deploy/release.py notes [--tag vX]   the CHANGELOG.md section of that version (the
                                                 GitHub release's text); without --tag, before
                                                 the release, the [Unreleased] section
    python3 deploy/release.py pin-image REGISTRY/REPOSITORY@sha256:...
                                                 point the chart at the image just pushed
                                                 (the release workflow, before helm package)

pyproject.toml is the single source: `watcher --version` reads it through the installed
metadata (importlib.metadata) and the wheel carries it. The other places are files that
cannot import it, so this script (run by tests/unit/test_release.py and by the release
workflow) checks them: the chart's version and appVersion, the Dockerfile's default
VERSION build argument (the image's org.opencontainers.image.version label), the ECS
example's image tag, and CHANGELOG.md. Standard library only: the release workflow runs it
before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHART = Path("helm/cloudfront-watcher")
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?")
HEADING = re.compile(r"^## \[(?P<name>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$", re.MULTILINE)
NEXT_RELEASE = re.compile(r"^Next release: (?P<version>[0-9A-Za-z.+-]*[0-9A-Za-z])", re.MULTILINE)


def project_version(root: Path = ROOT) -> str:
    """The version of pyproject.toml, the single source."""
    with (root / "pyproject.toml").open("rb") as handle:
        version: str = tomllib.load(handle)["project"]["version"]
    return version


def changelog_sections(root: Path = ROOT) -> list[tuple[str, str | None, str]]:
    """CHANGELOG.md's `## [name] - date` sections, newest first: (name, date or None, body)."""
    text = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    # Link references at the end ("[1.0.0]: https://...") belong to no section.
    text = re.split(r"^\[[^\]]+\]: ", text, maxsplit=1, flags=re.MULTILINE)[0]
    headings = list(HEADING.finditer(text))
    sections = []
    for number, heading in enumerate(headings):
        end = headings[number + 1].start() if number + 1 < len(headings) else len(text)
        # HTML comments are notes to the editors of this file, not to readers of a release.
        body = re.sub(r"<!--.*?-->\n?", "", text[heading.end() : end], flags=re.DOTALL)
        sections.append((heading["name"], heading["date"], body.strip() + "\n"))
    return sections


def _line_value(path: Path, pattern: str) -> str | None:
    match = re.search(pattern, path.read_text(encoding="utf-8"), re.MULTILINE)
    return match.group(1) if match else None


def places(root: Path = ROOT) -> dict[str, str | None]:
    """Every file that names the version but cannot read pyproject.toml, and what it says."""
    chart = root / CHART / "Chart.yaml"
    return {
        "helm/cloudfront-watcher/Chart.yaml version": _line_value(chart, r"^version:\s*\"?([^\"\s]+)"),
        "helm/cloudfront-watcher/Chart.yaml appVersion": _line_value(chart, r"^appVersion:\s*\"?([^\"\s]+)"),
        "Dockerfile ARG VERSION (image label)": _line_value(root / "Dockerfile", r"^ARG VERSION=(\S+)"),
        "deploy/ecs/task-definition.json image tag": _line_value(
            root / "deploy/ecs/task-definition.json", r"\"image\":\s*\"[^\"]*cloudfront-watcher:([^\"@]+)\""
        ),
    }


def problems(root: Path = ROOT, tag: str | None = None) -> list[str]:
    """Where the version is not the one of pyproject.toml; empty when everything agrees."""
    version = project_version(root)
    found = []
    if not SEMVER.fullmatch(version):
        found.append(f"pyproject.toml version {version!r} is not semantic versioning (MAJOR.MINOR.PATCH)")
    for place, value in places(root).items():
        if value != version:
            found.append(f"{place} is {value!r}, want {version!r} (pyproject.toml)")
    sections = changelog_sections(root)
    names = [name for name, _, _ in sections]
    released = [(name, date) for name, date, _ in sections if name != "Unreleased"]
    if "Unreleased" not in names[:1]:
        found.append("CHANGELOG.md does not start with an [Unreleased] section")
    newest = released[0][0] if released else None
    if tag is not None:
        if tag != f"v{version}":
            found.append(f"tag {tag!r} is not v{version} (pyproject.toml)")
        if newest != version or not released[0][1]:
            found.append(f"CHANGELOG.md's newest release is {newest!r}, want '## [{version}] - YYYY-MM-DD'")
    elif newest != version:
        # Between releases pyproject.toml holds the next version, and [Unreleased] names it.
        unreleased = sections[0][2] if names[:1] == ["Unreleased"] else ""
        match = NEXT_RELEASE.search(unreleased)
        announced = match["version"] if match else None
        if announced != version:
            found.append(
                f"CHANGELOG.md: {version} is neither the newest release ({newest}) nor the "
                f"'Next release: ' of [Unreleased] ({announced})"
            )
        if newest is not None and _key(newest) >= _key(version):
            found.append(f"pyproject.toml version {version} is not newer than the released {newest}")
    return found


def _key(version: str) -> tuple[int, ...]:
    match = SEMVER.match(version)
    return tuple(int(part) for part in match.groups()) if match else (0,)


def notes(root: Path = ROOT, tag: str | None = None) -> str:
    """The changelog text of the release: its dated section, or [Unreleased] before it is cut."""
    version = project_version(root)
    for name, _, body in changelog_sections(root):
        if name == version:
            return body
    if tag is not None:
        raise SystemExit(f"CHANGELOG.md has no section [{version}]")
    return changelog_sections(root)[0][2]


def pin_image(reference: str, root: Path = ROOT) -> None:
    """Point the chart's image at REGISTRY/REPOSITORY@sha256:..., the image released with it.

    Sets image.registry, image.repository and image.digest in values.yaml (the digest wins
    over the tag in the chart's image helper), so the packaged chart runs exactly that image.
    """
    match = re.fullmatch(
        r"(?P<registry>[^/@]+)/(?P<repository>[^@:]+)@(?P<digest>sha256:[0-9a-f]{64})", reference
    )
    if not match:
        raise SystemExit(f"not REGISTRY/REPOSITORY@sha256:<64 hex>: {reference!r}")
    values = root / CHART / "values.yaml"
    text = values.read_text(encoding="utf-8")
    block = re.search(r"(?ms)^image:\n(?:(?:  .*|\s*#.*|)\n)+", text)
    if block is None:
        raise SystemExit(f"{values}: no top-level image: block")
    pinned = block.group(0)
    for key in ("registry", "repository", "digest"):
        pinned, count = re.subn(rf"(?m)^  {key}: .*$", f'  {key}: "{match[key]}"', pinned)
        if count != 1:
            raise SystemExit(f"{values}: want exactly one image.{key}, found {count}")
    values.write_text(text[: block.start()] + pinned + text[block.end() :], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """The command line of the module docstring."""
    parser = argparse.ArgumentParser(prog="deploy/release.py", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["version", "check", "notes", "pin-image"])
    parser.add_argument("reference", nargs="?", help="pin-image: REGISTRY/REPOSITORY@sha256:...")
    parser.add_argument("--tag", help="the git tag being released (vMAJOR.MINOR.PATCH)")
    args = parser.parse_args(argv)
    if args.command == "version":
        print(project_version())
    elif args.command == "notes":
        print(notes(tag=args.tag), end="")
    elif args.command == "pin-image":
        pin_image(args.reference or "")
    else:
        found = problems(tag=args.tag)
        for problem in found:
            print(f"release: {problem}", file=sys.stderr)
        if found:
            return 1
        print(f"release {project_version()}: every place agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
