"""One version everywhere: `watcher --version`, the wheel's metadata, the image label, the chart.

deploy/release.py is what the release workflow runs on a tag; these tests run it on the tree
(every place agrees) and on copies of it that disagree (it says where).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
import yaml

from watcher.cli import main

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "deploy" / "release.py"


def _pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        value: str = tomllib.load(handle)["project"]["version"]
    return value


def _release(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """deploy/release.py, run on the tree at `root` (a copy of the script lives there)."""
    return subprocess.run(
        [sys.executable, str(root / "deploy" / "release.py"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _tree_copy(tmp_path: Path) -> Path:
    """The files deploy/release.py reads, copied, so a test can make them disagree."""
    for name in (
        "pyproject.toml",
        "CHANGELOG.md",
        "Dockerfile",
        "deploy/release.py",
        "deploy/ecs/task-definition.json",
        "helm/cloudfront-watcher/Chart.yaml",
        "helm/cloudfront-watcher/values.yaml",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_watcher_version_is_the_version_of_pyproject(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the installed package (scripts/bootstrap reinstalls it when pyproject.toml changes)
    # WHEN an operator asks the CLI for its version
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    # THEN it exits 0 and prints the version of pyproject.toml, which the wheel carries too
    assert exited.value.code == 0
    stale = "the installed metadata predates pyproject.toml's version: run scripts/bootstrap"
    assert installed_version("cloudfront-watcher") == _pyproject_version(), stale
    assert capsys.readouterr().out == f"cloudfront-watcher {_pyproject_version()}\n"


def test_every_place_that_names_the_version_agrees() -> None:
    # GIVEN the tree WHEN the release check runs THEN the chart, the image label's default,
    # the ECS example and CHANGELOG.md all name the version of pyproject.toml
    result = _release("check")
    assert result.returncode == 0, result.stderr
    assert _release("version").stdout.strip() == _pyproject_version()


def test_a_chart_that_names_another_version_is_found(tmp_path: Path) -> None:
    # GIVEN a chart whose appVersion was left behind by a version bump
    root = _tree_copy(tmp_path)
    chart = root / "helm/cloudfront-watcher/Chart.yaml"
    chart.write_text(
        chart.read_text().replace(f'appVersion: "{_pyproject_version()}"', 'appVersion: "0.0.1"')
    )
    # WHEN the release check runs THEN it fails and names the file, the value and the version
    result = _release("check", root=root)
    assert result.returncode == 1
    assert f"Chart.yaml appVersion is '0.0.1', want '{_pyproject_version()}'" in result.stderr


def test_a_tag_needs_its_dated_changelog_section(tmp_path: Path) -> None:
    root = _tree_copy(tmp_path)
    version = _pyproject_version()
    # GIVEN a tree whose changelog still holds the release under [Unreleased]
    # WHEN the release workflow checks the tag THEN it refuses: the section is not cut yet
    refused = _release("check", "--tag", f"v{version}", root=root)
    assert refused.returncode == 1
    assert f"want '## [{version}] - YYYY-MM-DD'" in refused.stderr
    # GIVEN the section cut as Keep a Changelog says (a dated heading, a new [Unreleased])
    changelog = root / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text().replace(
            "## [Unreleased]\n", f"## [Unreleased]\n\n## [{version}] - 2026-12-08\n", 1
        )
    )
    # WHEN the tag is checked THEN it passes, and a tag of another version does not
    assert _release("check", "--tag", f"v{version}", root=root).returncode == 0
    other = _release("check", "--tag", "v9.9.9", root=root)
    assert f"tag 'v9.9.9' is not v{version}" in other.stderr
    # AND the release's notes are that section, without the editors' comments
    notes = _release("notes", "--tag", f"v{version}", root=root).stdout
    assert notes.startswith("Next release:") or notes.startswith("###")
    assert "### Added" in notes
    assert "<!--" not in notes
    assert "## [0.1.0]" not in notes


def test_pin_image_points_the_chart_at_the_pushed_image(tmp_path: Path) -> None:
    # GIVEN the chart's values, which name the image by tag
    root = _tree_copy(tmp_path)
    digest = "sha256:" + "ab" * 32
    # WHEN the release workflow pins the image it pushed (a fork pushes under its own name)
    result = _release("pin-image", f"ghcr.io/someone/cloudfront-watcher@{digest}", root=root)
    assert result.returncode == 0, result.stderr
    # THEN the packaged chart runs exactly that image, and nothing outside image: changed
    values = (root / "helm/cloudfront-watcher/values.yaml").read_text()
    image = yaml.safe_load(values)["image"]
    assert (image["registry"], image["repository"], image["digest"]) == (
        "ghcr.io",
        "someone/cloudfront-watcher",
        digest,
    )
    original = (ROOT / "helm/cloudfront-watcher/values.yaml").read_text().splitlines()
    changed = [a for a, b in zip(original, values.splitlines(), strict=True) if a != b]
    assert len(changed) == 3
    # AND a reference without a digest is refused: a tag can move, a digest cannot
    refused = _release("pin-image", "ghcr.io/someone/cloudfront-watcher:1.0.0", root=root)
    assert refused.returncode == 1
    assert "REGISTRY/REPOSITORY@sha256" in refused.stderr
