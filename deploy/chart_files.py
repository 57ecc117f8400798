"""Writes (or, with --check, verifies) the chart files made from other files:

- helm/cloudfront-watcher/values.schema.json, property `config`: from the watcher's
  settings model (watcher.core.config_schema); the rest of the schema is kept by hand.
- helm/cloudfront-watcher/README.md, the table between the `values-table` markers: from
  the `# --` comments of values.yaml (the comment lines right above a key, or a
  `# -- ...` at the end of the key's line).

Run through scripts/generate-chart-files (the project's .venv has pydantic and PyYAML).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm" / "cloudfront-watcher"
sys.path.insert(0, str(ROOT))

from watcher.core.config_schema import config_json_schema  # noqa: E402

START = "<!-- values-table:start (scripts/generate-chart-files writes this table from values.yaml) -->"
END = "<!-- values-table:end -->"
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-]+):(?P<rest>.*)$")
_DOC = re.compile(r"^ *# -- ?(?P<text>.*)$")
_MORE = re.compile(r"^ *# ?(?P<text>.*)$")


def schema_text() -> str:
    path = CHART / "values.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["config"] = config_json_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def documented_keys(values_text: str) -> list[tuple[str, str]]:
    """(dotted key, description) for each key with a `# --` comment, in file order."""
    rows: list[tuple[str, str]] = []
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    for line in values_text.splitlines():
        doc = _DOC.match(line)
        if doc:
            pending = [doc.group("text")]
            continue
        if pending is not None and line.strip().startswith("#"):
            more = _MORE.match(line)
            text = more.group("text") if more else ""
            if text.startswith(" ") or text.lstrip().startswith("- "):  # a commented-out example
                continue
            pending.append(text)
            continue
        match = _KEY.match(line)
        if not match:
            if not line.strip():
                pending = None
            continue
        indent = len(match.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group("key")))
        inline = re.search(r"\s# -- (?P<text>.*)$", match.group("rest"))
        if pending is not None or inline:
            text = " ".join(pending) if pending is not None else inline.group("text") if inline else ""
            rows.append((".".join(key for _, key in stack), text.strip()))
        pending = None
    return rows


def _value_at(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node[part]
    return node


def _type_of(value: Any) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def table_text(values_text: str) -> str:
    values = yaml.safe_load(values_text)
    lines = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for key, description in documented_keys(values_text):
        value = _value_at(values, key)
        default = "see `config.toml`" if key == "config" else f"`{json.dumps(value, ensure_ascii=False)}`"
        cells = [f"`{key}`", _type_of(value), default, description]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def readme_text() -> str:
    readme = (CHART / "README.md").read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"{CHART / 'README.md'}: the values-table markers are missing")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    table = table_text((CHART / "values.yaml").read_text())
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print("usage: scripts/generate-chart-files [--check]", file=sys.stderr)
        return 2
    stale = []
    for path, text in ((CHART / "values.schema.json", schema_text()), (CHART / "README.md", readme_text())):
        if path.read_text() == text:
            continue
        if check:
            stale.append(path.relative_to(ROOT))
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(f"{path} is stale: run scripts/generate-chart-files", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
