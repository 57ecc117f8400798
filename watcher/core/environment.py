"""The `WATCHER__SECTION__KEY` overlay, read by pydantic-settings.

pydantic-settings does the reading (`env_prefix`, `env_nested_delimiter`, JSON
for lists and for `WATCHER__SITES`); this module adds only what it does not:
an unknown `WATCHER__*` variable is an error, because a typo that is silently
ignored is a deploy that is silently not invalidated. Rules: docs/reference.md,
"Environment".
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_origin

from pydantic import BaseModel, create_model
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

__all__ = ["ENV_PREFIX", "lay_over", "read_environment", "resolve_config_path"]

ENV_PREFIX = "WATCHER__"
_DELIMITER = "__"
_LIST_FIELD = "sites"  # the one top-level key that is not a section: a JSON array of tables


def resolve_config_path(flag: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """`--config`, else `WATCHER_CONFIG`, else `./config.toml`."""
    env = os.environ if environ is None else environ
    return Path(flag or env.get("WATCHER_CONFIG") or "config.toml")


def read_environment(
    settings: type[BaseModel], environ: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The overlay as nested data (`{"sqs": {"queue_url": ...}, "sites": [...]}`), and the problems.

    With problems, the data is empty: every variable is reported, none applied.
    """
    ours = {name: value for name, value in environ.items() if name.startswith(ENV_PREFIX)}
    problems = [line for name in sorted(ours) if (line := _problem(settings, name, ours[name]))]
    if problems or not ours:
        return {}, problems
    return _Source(_overlay_model(settings), ours)(), []


def lay_over(
    data: dict[str, Any], settings: type[BaseModel], environ: Mapping[str, str], flags: Mapping[str, Any]
) -> list[str]:
    """Lay the environment over the file's `data`, and the flags over both; the problems, one line each."""
    overlay, problems = read_environment(settings, environ)
    for layer in (overlay, flags):
        for name, value in layer.items():
            section = data.setdefault(name, {}) if isinstance(value, Mapping) else None
            if section is None:
                data[name] = value  # `sites` is replaced as a whole
            elif isinstance(section, dict):
                section.update(value)  # a section key by key
            else:
                problems.append(f"[{name}] in the file is not a table")
    return problems


def _problem(settings: type[BaseModel], name: str, value: str) -> str | None:
    """One line when the variable names no setting or its value cannot be read; None when it is fine."""
    parts = name[len(ENV_PREFIX) :].lower().split(_DELIMITER)
    if parts == [_LIST_FIELD]:
        return _json_problem(name, value, "must be a JSON array of site tables")
    section_field = settings.model_fields.get(parts[0]) if len(parts) == 2 else None
    section = section_field.annotation if section_field else None
    if not (isinstance(section, type) and issubclass(section, BaseModel)):
        return f"{name}: unknown setting (expected WATCHER__SECTION__KEY, e.g. WATCHER__SQS__QUEUE_URL)"
    key_field = section.model_fields.get(parts[1])
    if key_field is None:
        return f"{name}: unknown setting: [{parts[0]}] has no key {parts[1]!r}"
    if get_origin(key_field.annotation) is tuple:
        return _json_problem(name, value, 'must be a JSON array, e.g. ["a", "b"]')
    return None


def _json_problem(name: str, value: str, expected: str) -> str | None:
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError as exc:
        return f"{name}: {expected} ({exc.msg})"
    return None if isinstance(decoded, list) else f"{name}: {expected}"


class _Overlay(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=_DELIMITER, case_sensitive=False
    )


@functools.cache
def _overlay_model(settings: type[BaseModel]) -> type[BaseSettings]:
    """A BaseSettings with the fields of `settings`, all optional: what pydantic-settings reads."""
    fields: dict[str, Any] = {name: (field.annotation, None) for name, field in settings.model_fields.items()}
    model: type[BaseSettings] = create_model("EnvironmentOverlay", __base__=_Overlay, **fields)
    return model


class _Source(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (tests and `load_settings(environ=)`)."""

    def __init__(self, model: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(model)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name.lower(): value for name, value in self._environ.items()}
