"""Files generated from others are current: the locks, the chart's schema and values table."""

from __future__ import annotations

import json
import re
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


def test_chart_schema_and_values_table_are_generated_from_the_current_sources() -> None:
    # values.schema.json's `config` from the settings model; README's table from values.yaml
    result = _run(sys.executable, "deploy/chart_files.py", "--check")
    assert result.returncode == 0, result.stderr


def test_the_chart_schema_follows_a_new_setting() -> None:
    # GIVEN the settings model as it is WHEN its schema is made THEN every key of every section is there
    from watcher.core.config import Settings  # noqa: PLC0415
    from watcher.core.config_schema import config_json_schema  # noqa: PLC0415

    schema = config_json_schema()
    for name, field in Settings.model_fields.items():
        node = schema["properties"][name]
        model = field.annotation
        if name == "sites":
            node, model = node["items"], field.annotation.__args__[0]  # type: ignore[union-attr]
        assert set(node["properties"]) == set(model.model_fields), name  # type: ignore[union-attr]
    assert schema["additionalProperties"] is False


def test_chart_schema_patterns_are_within_gos_regexp_limits() -> None:
    # helm validates values.schema.json with Go's regexp (RE2): a counted repetition above
    # 1000 is an invalid pattern there, and `helm lint` refuses the whole chart
    schema = json.loads((ROOT / "helm/cloudfront-watcher/values.schema.json").read_text())

    def patterns(node: object) -> list[str]:
        if isinstance(node, dict):
            own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
            return own + [p for value in node.values() for p in patterns(value)]
        if isinstance(node, list):
            return [p for value in node for p in patterns(value)]
        return []

    found = patterns(schema)
    assert found
    for pattern in found:
        counts = [int(n) for n in re.findall(r"\{(\d+)(?:,(\d*))?\}", pattern) for n in n if n]
        assert all(count <= 1000 for count in counts), pattern
