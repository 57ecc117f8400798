"""The `WATCHER__SECTION__KEY` overlay: one variable sets one key of the file.

Values are strict, as in the file (CONTRACT v4; rules: docs/reference.md, "Environment").
A variable's value is a string by nature, so it is read by the type of its key:

- a string key (and a choice such as `log_level`) takes the value as it is;
- a boolean or number key takes a JSON literal: `true`/`false`, `7`, `0.25`, `null` (an
  optional key unset); the model then checks its type exactly as it checks the file's, so
  `yes`, `1` (for a boolean), `5.0` (for an integer) and `Infinity` are refused, naming the
  key and the variable;
- a list key and `WATCHER__SITES` take a JSON array.

An unknown `WATCHER__*` variable is an error, because a typo that is silently ignored is a
deploy that is silently not invalidated.
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

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
) -> tuple[dict[str, Any], dict[tuple[str, ...], str], list[str]]:
    """The overlay as nested data (`{"sqs": {"queue_url": ...}, "sites": [...]}`), the variable
    that set each key (`("sqs", "queue_url")` -> `WATCHER__SQS__QUEUE_URL`), and the problems.

    With problems, the data is empty: every variable is reported, none applied.
    """
    data: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}
    problems: list[str] = []
    for name in sorted(variable for variable in environ if variable.startswith(ENV_PREFIX)):
        parts = tuple(name[len(ENV_PREFIX) :].lower().split(_DELIMITER))
        value, problem = _read(settings, name, parts, environ[name])
        if problem:
            problems.append(problem)
        elif len(parts) == 1:
            data[parts[0]] = value
            origins[parts] = name
        else:
            data.setdefault(parts[0], {})[parts[1]] = value
            origins[parts] = name
    return ({}, {}, problems) if problems else (data, origins, [])


def lay_over(
    data: dict[str, Any],
    settings: type[BaseModel],
    environ: Mapping[str, str],
    flags: Mapping[str, Any],
    origins: dict[tuple[str, ...], str] | None = None,
) -> list[str]:
    """Lay the environment over the file's `data`, and the flags over both; the problems, one line each.

    `origins`, when given, receives the variable that set each key (for the error lines).
    """
    overlay, from_env, problems = read_environment(settings, environ)
    if origins is not None:
        origins.update(from_env)
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


def _read(settings: type[BaseModel], name: str, parts: tuple[str, ...], value: str) -> tuple[Any, str | None]:
    """The value of one variable for its key, or the one line saying why it names no key or cannot be read."""
    if parts == (_LIST_FIELD,):
        return _json(name, value, "must be a JSON array of site tables", list)
    section_field = settings.model_fields.get(parts[0]) if len(parts) == 2 else None
    section = section_field.annotation if section_field else None
    if not (isinstance(section, type) and issubclass(section, BaseModel)):
        return None, f"{name}: unknown setting (expected WATCHER__SECTION__KEY, e.g. WATCHER__SQS__QUEUE_URL)"
    key_field = section.model_fields.get(parts[1])
    if key_field is None:
        return None, f"{name}: unknown setting: [{parts[0]}] has no key {parts[1]!r}"
    annotation = key_field.annotation
    if _is_text(annotation):
        return value, None
    if get_origin(annotation) is tuple:
        return _json(name, value, 'must be a JSON array, e.g. ["a", "b"]', list)
    try:
        return json.loads(value, parse_constant=_no_constant), None
    except ValueError:
        # Not a JSON literal (`yes`, `Infinity`): the string itself, which the strict model
        # refuses for a boolean or number key, naming the key, its type and this variable.
        return value, None


def _is_text(annotation: Any) -> bool:
    """A string key, or a choice of strings (`Literal["json", "console"]`): taken as written."""
    if get_origin(annotation) in (Union, types.UnionType):
        return False  # an optional number: JSON, so that `null` can unset it
    if get_origin(annotation) is Literal:
        return all(isinstance(choice, str) for choice in get_args(annotation))
    return annotation is str


def _json(name: str, value: str, expected: str, kind: type) -> tuple[Any, str | None]:
    """`value` decoded as strict JSON (no NaN or Infinity); the problem when it is not JSON or not `kind`."""
    try:
        decoded = json.loads(value, parse_constant=_no_constant)
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return None, f"{name}: {expected} ({reason}; got {value!r})"
    if not isinstance(decoded, kind):
        return None, f"{name}: {expected}"
    return decoded, None


def _no_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a finite number")
