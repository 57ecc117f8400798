"""The JSON Schema of the TOML configuration, made from the settings model.

The Helm chart's `values.schema.json` embeds it as `config` (scripts/generate-chart-files
writes it; a test fails when it is stale), so a key added to the model reaches the chart's
validation without a hand edit. What the model's validators check in code (patterns,
distinct items) is added here, key by key, where JSON Schema can say it too.
"""

from __future__ import annotations

from typing import Any

from watcher.core.config import Settings
from watcher.core.sections import PATTERNS

__all__ = ["config_json_schema"]

# Keys that may be "" (= unset): their pattern allows the empty string too.
_MAY_BE_EMPTY = {("aws", "region"), ("sqs", "queue_url"), ("sites", "role_arn"), ("sites", "external_id")}
_MAY_BE_EMPTY |= {("notify", "eventbridge_bus")}
# Checks made by the model's field validators, for the keys whose rule JSON Schema can express.
# The identifiers' patterns are the model's own (sections.PATTERNS), anchored: in Go's regexp,
# which Helm validates with, `^...$` is the whole text.
_VALIDATOR_RULES: dict[tuple[str, str], dict[str, Any]] = {
    ("watcher", "sources"): {"minItems": 1, "uniqueItems": True},
    ("sites", "prefix"): {"pattern": r"^(|[^/].*/)$"},
    **{
        where: {"pattern": f"^({'|' if where in _MAY_BE_EMPTY else ''}{pattern})$"}
        for where, pattern in PATTERNS.items()
    },
}


def config_json_schema() -> dict[str, Any]:
    """The schema of the config file as the chart's values give it.

    Sections are tables whose keys may also be null (the chart leaves a null key out, so
    the watcher's default applies); `sites` is an array of tables; unknown keys are errors.
    """
    raw = Settings.model_json_schema()
    definitions = raw.get("$defs", {})
    schema: dict[str, Any] = _inline(raw, definitions)
    schema["description"] = "The watcher's config.toml, key for key (unknown keys are errors)."
    for section, node in schema["properties"].items():
        table = node["items"] if node.get("type") == "array" else node
        for key, rule in table.get("properties", {}).items():
            rule.update(_VALIDATOR_RULES.get((section, key), {}))
        if node.get("type") == "object":
            node.pop("default", None)  # each key says its own
            node["properties"] = {
                key: {"anyOf": [rule, {"type": "null"}]} for key, rule in node["properties"].items()
            }
    return schema


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    """`$ref`s replaced by their definitions, titles dropped (the key says it)."""
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        resolved = _inline(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
        extra = {k: v for k, v in node.items() if k != "$ref"}
        return {**resolved, **_inline(extra, definitions)}
    return {
        key: _inline(value, definitions) if key != "default" else value
        for key, value in node.items()
        if key not in ("$defs", "title")
    }
