"""Configuration errors in the words of the TOML file.

A pydantic error becomes one line that names the key as the file spells it
(`sites[0].prefix`), the closest valid key for an unknown one, and TOML types ("a list",
"a table") instead of Python ones ("a valid tuple").
"""

from __future__ import annotations

import difflib
import json
from typing import Any, get_args, get_origin

from pydantic import BaseModel

__all__ = ["describe_error", "sections_not_tables"]


# pydantic's error types that mean "wrong TOML type", with the type the key wants.
_TOML_TYPE_ERRORS = {
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer (no fraction)",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "a boolean (true or false)",
    "bool_parsing": "a boolean (true or false)",
}


def describe_error(error: Any, root: type[BaseModel], *, origin: str = "") -> str:
    """One line for one pydantic error of `root`, in the words of the TOML file: key path, TOML types.

    `origin` names the WATCHER__ variable the value came from, when it did not come from the file.
    """
    loc = tuple(error["loc"])
    location = _dotted(loc) + (f" ({origin})" if origin and loc else "")
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message = "unknown key"
        closest = difflib.get_close_matches(str(loc[-1]), _keys_at(root, loc[:-1]), n=1, cutoff=0.6)
        if closest:
            message += f"; did you mean `{_dotted((*loc[:-1], closest[0]))}`?"
    elif error["type"] in _TOML_TYPE_ERRORS:
        message = f"must be {_TOML_TYPE_ERRORS[error['type']]}"
        if "input" in error:
            message += f" (got {_toml_type_of(error['input'])})"
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    elif "input" in error and not isinstance(error["input"], dict | list):
        message = message.replace("Input should be ", "must be ", 1)
        message = f"{message} (got {_toml_literal(error['input'])})"
    return f"{location}: {message}" if location else message


def sections_not_tables(data: dict[str, Any], root: type[BaseModel]) -> list[str]:
    """`watcher = 1` is not a section: one line each, before anything merges into it."""
    problems = []
    for name, value in data.items():
        if name not in root.model_fields:
            continue  # an unknown key: pydantic names it, with the closest valid one
        if name == "sites" and not isinstance(value, list):
            problems.append(f"sites: must be an array of tables ([[sites]]) (got {_toml_type_of(value)})")
        elif name != "sites" and not isinstance(value, dict):
            problems.append(f"{name}: must be a table (got {_toml_type_of(value)})")
    return problems


def _dotted(loc: tuple[Any, ...]) -> str:
    """`("sites", 0, "prefix")` -> `sites[0].prefix`, as a user would point at it in the file."""
    return ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in loc).replace(".[", "[")


def _keys_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The valid key names of the table at `loc` (none when `loc` is not a table of the model)."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = (
            model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        )
        if field is None:
            return []
        model = field.annotation
        if get_origin(model) is tuple:  # `[[sites]]` and the like: the element type
            model = get_args(model)[0]
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _toml_type_of(value: Any) -> str:
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        ((list, tuple), "a list"),
        (dict, "a table"),
    ]
    for kind, name in kinds:
        if isinstance(value, kind):
            return f"{name}: {_toml_literal(value)}" if name not in ("a list", "a table") else name
    return type(value).__name__


def _toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)
