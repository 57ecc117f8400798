"""Files generated from others are current: the locks, the chart's schema and values table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_locks_are_made_from_the_current_pyproject() -> None:
    result = _run("scripts/lock", "--check")
    assert result.returncode == 0, result.stderr


def test_lock_check_names_a_stale_lock(tmp_path: Path) -> None:
    # GIVEN a copy of the project whose pyproject gained a dependency after the locks were made
    for name in (
        "pyproject.toml",
        "scripts/lock",
        *(f"requirements/{n}.txt" for n in ("runtime", "demo", "dev", "build")),
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    (tmp_path / "scripts/lock").chmod(0o755)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"boto3>=1.35",', '"boto3>=1.35",\n    "rich>=13",', 1)
    )
    # WHEN the offline check runs THEN it fails and says what to run
    result = subprocess.run(
        [str(tmp_path / "scripts/lock"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "requirements/runtime.txt is stale" in result.stderr
    assert "run scripts/lock" in result.stderr
