"""Configuration values are strict (CONTRACT v4): the wrong TOML type is an error, never coerced;
numbers are finite and bounded; identifiers are matched whole; the chart's schema agrees.

The cases are made from the settings model itself, key by key, so a key added later is
covered without editing this file.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tests.support.site import ROOT
from watcher.cli import main
from watcher.core.config import ConfigError, Settings, SiteSettings, load_settings
from watcher.core.config_schema import config_json_schema

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/site-changes"
ROLE = "arn:aws:iam::222222222222:role/site-invalidator"
SITE = {"bucket": "site-bucket", "distribution_id": "E2EXAMPLE"}


# -- the model, key by key ----------------------------------------------------------------------------


def _inner(field: FieldInfo) -> Any:
    """The annotation without `| None` (an optional number is its number)."""
    annotation: Any = field.annotation
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    return annotation


def _rules(field: FieldInfo) -> list[Any]:
    """The constraints of a key, also those inside `Annotated[...] | None`."""
    inner = _inner(field)
    inside = (rule for arg in get_args(inner)[1:] for rule in getattr(arg, "metadata", [arg]))
    return [*field.metadata, *inside]


def _kind(field: FieldInfo) -> str:
    """ "bool", "int", "float", "str" (Literal of strings too) or "list"."""
    annotation = _inner(field)
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is Literal:
        return "str"
    if get_origin(annotation) is tuple:
        return "list"
    return {bool: "bool", int: "int", float: "float", str: "str"}[annotation]


def _keys() -> Iterator[tuple[str, str, FieldInfo]]:
    """(section, key, field) for every key of every section and of a [[sites]] entry."""
    for section, node in Settings.model_fields.items():
        model: Any = SiteSettings if section == "sites" else node.annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        for key, field in model.model_fields.items():
            yield section, key, field


# TOML literals of every other type than the key's own.
_WRONG: dict[str, list[str]] = {
    "bool": ['"yes"', '"true"', "1", "0"],
    "int": ["true", '"5"', "5.0"],
    "float": ["true", '"5"'],
    "str": ["1", "true"],
    "list": ['"x"', "1"],
}
WRONG_TYPES = [
    pytest.param(section, key, literal, id=f"{section}.{key}={literal}")
    for section, key, field in _keys()
    for literal in _WRONG[_kind(field)]
]
NUMBERS = [
    pytest.param(section, key, field, id=f"{section}.{key}")
    for section, key, field in _keys()
    if _kind(field) in ("int", "float")
]


def _toml(section: str, key: str, literal: str) -> str:
    """A valid config with one key set to `literal` (a TOML literal)."""
    sections: dict[str, dict[str, str]] = {"sqs": {"queue_url": json.dumps(QUEUE)}}
    site = {name: json.dumps(value) for name, value in SITE.items()}
    (site if section == "sites" else sections.setdefault(section, {}))[key] = literal
    tables = {**{f"[{name}]": keys for name, keys in sections.items()}, "[[sites]]": site}
    return "".join(
        head + "\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()) for head, keys in tables.items()
    )


def _problems(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_settings(path, environ=environ or {})
    return refused.value.problems


# -- item 10: the wrong TOML type is an error --------------------------------------------------------


@pytest.mark.parametrize(("section", "key", "literal"), WRONG_TYPES)
def test_a_value_of_the_wrong_toml_type_is_refused_not_coerced(
    tmp_path: Path, section: str, key: str, literal: str
) -> None:
    # GIVEN a config whose one key holds a value of another TOML type (dry_run = "yes", max_messages = true)
    # WHEN it is loaded
    problems = _problems(tmp_path, _toml(section, key, literal))
    # THEN it is refused, with one line naming the key
    where = f"sites[0].{key}" if section == "sites" else f"{section}.{key}"
    assert any(problem.startswith(where) for problem in problems), problems


def test_dry_run_yes_fails_watcher_check_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN dry_run = "yes" (once silently a dry run) and max_messages = true (once 1)
    path = tmp_path / "config.toml"
    text = _toml("watcher", "dry_run", '"yes"').replace("[sqs]\n", "[sqs]\nmax_messages = true\n")
    path.write_text(text)
    # WHEN `watcher check` reads it THEN exit 2 naming both keys by their TOML types
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert 'watcher.dry_run: must be a boolean (true or false) (got a string: "yes")' in err
    assert "sqs.max_messages: must be an integer (got a boolean: true)" in err


def test_an_integer_is_a_valid_number_of_seconds(tmp_path: Path) -> None:
    # TOML writes 60 as an integer: a float key takes it (the chart's schema says "number" too)
    path = tmp_path / "config.toml"
    path.write_text(_toml("poll", "interval_seconds", "60"))
    assert load_settings(path, environ={}).poll.interval_seconds == 60.0


# -- item 10: numbers are finite and bounded -------------------------------------------------------------


@pytest.mark.parametrize(("section", "key", "field"), NUMBERS)
def test_every_number_is_finite_and_has_an_upper_bound(
    tmp_path: Path, section: str, key: str, field: FieldInfo
) -> None:
    # GIVEN any numeric key: it declares a maximum (a new key must too)
    assert any(hasattr(rule, "le") or hasattr(rule, "lt") for rule in _rules(field)), f"{key}: no maximum"
    # WHEN it is set to infinity, NaN or a huge number THEN the config is refused, naming the key
    huge = ["inf", "nan", "1e300"] if _kind(field) == "float" else ["9223372036854775807"]
    for literal in huge:
        problems = _problems(tmp_path, _toml(section, key, literal))
        assert any(problem.startswith(f"{section}.{key}") for problem in problems), (literal, problems)


def test_an_infinite_poll_interval_fails_check_instead_of_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN interval_seconds = inf, which passed `check` and then killed `run` with OverflowError
    path = tmp_path / "config.toml"
    path.write_text(_toml("poll", "interval_seconds", "inf"))
    # WHEN `watcher check` reads it THEN exit 2 saying the number must be finite
    assert main(["check", "--config", str(path)]) == 2
    assert "poll.interval_seconds: must be a finite number (got inf)" in capsys.readouterr().err


# -- item 10: identifiers are matched whole ----------------------------------------------------------------

IDENTIFIERS = [
    ("sites", "bucket", "site-bucket"),
    ("sites", "distribution_id", "E2EXAMPLE"),
    ("sqs", "queue_url", QUEUE),
    ("sites", "role_arn", ROLE),
    ("aws", "region", "us-east-1"),
    ("http", "listen", "0.0.0.0:9102"),
    ("notify", "eventbridge_bus", "deploys"),
]
IDENTIFIER_IDS = [f"{section}.{key}" for section, key, _ in IDENTIFIERS]


@pytest.mark.parametrize(("section", "key", "value"), IDENTIFIERS, ids=IDENTIFIER_IDS)
@pytest.mark.parametrize("tail", ["\n", " ", "\t"], ids=["newline", "space", "tab"])
def test_an_identifier_with_a_trailing_newline_or_space_is_refused(
    tmp_path: Path, section: str, key: str, value: str, tail: str
) -> None:
    # GIVEN a valid identifier: it is accepted
    path = tmp_path / "config.toml"
    path.write_text(_toml(section, key, json.dumps(value)))
    assert load_settings(path, environ={})
    # WHEN it carries a trailing newline (a bucket that then matched no event) THEN it is refused
    text = _toml(section, key, json.dumps(value + tail))
    problems = _problems(tmp_path, text)
    where = f"sites[0].{key}" if section == "sites" else f"{section}.{key}"
    assert any(problem.startswith(where) for problem in problems), problems


def test_an_external_id_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    text = _toml("sites", "role_arn", json.dumps(ROLE)) + 'external_id = "agency-42\\n"\n'
    assert any(p.startswith("sites[0].external_id") for p in _problems(tmp_path, text))


# -- item 10: the environment, parsed strictly -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        (
            "WATCHER__WATCHER__DRY_RUN",
            "yes",
            "watcher.dry_run (WATCHER__WATCHER__DRY_RUN): must be a boolean",
        ),
        ("WATCHER__WATCHER__DRY_RUN", "1", "watcher.dry_run (WATCHER__WATCHER__DRY_RUN): must be a boolean"),
        ("WATCHER__WATCHER__DRY_RUN", "True", "watcher.dry_run (WATCHER__WATCHER__DRY_RUN): must be"),
        ("WATCHER__SQS__MAX_MESSAGES", "true", "sqs.max_messages (WATCHER__SQS__MAX_MESSAGES): must be an"),
        ("WATCHER__SQS__MAX_MESSAGES", "5.0", "sqs.max_messages (WATCHER__SQS__MAX_MESSAGES): must be an"),
        ("WATCHER__POLL__INTERVAL_SECONDS", "inf", "poll.interval_seconds (WATCHER__POLL__INTERVAL_SECONDS)"),
        ("WATCHER__POLL__INTERVAL_SECONDS", "Infinity", "poll.interval_seconds (WATCHER__POLL__INTERVAL_"),
        ("WATCHER__POLL__INTERVAL_SECONDS", "NaN", "poll.interval_seconds (WATCHER__POLL__INTERVAL_SECONDS)"),
        ("WATCHER__SQS__QUEUE_URL", QUEUE + "\n", "sqs.queue_url (WATCHER__SQS__QUEUE_URL)"),
        ("WATCHER__SITES", '[{"bucket": "b", "distribution_id": "E1", "prefix": 1}]', "sites[0].prefix"),
    ],
)
def test_an_environment_value_of_the_wrong_type_is_refused_naming_the_variable(
    tmp_path: Path, name: str, value: str, line: str
) -> None:
    # GIVEN a valid file WHEN a WATCHER__ variable holds a value of the wrong type
    problems = _problems(tmp_path, _toml("sqs", "wait_time_seconds", "20"), {name: value})
    # THEN one line names the key and the variable it came from
    assert len(problems) == 1, problems
    assert problems[0].startswith(line), problems


def test_environment_values_are_json_literals_of_the_keys_type(tmp_path: Path) -> None:
    # GIVEN numbers, booleans and null as JSON literals; strings and choices as they are
    environ = {
        "WATCHER__WATCHER__DRY_RUN": "true",
        "WATCHER__SQS__MAX_MESSAGES": "4",
        "WATCHER__POLL__INTERVAL_SECONDS": "90",
        "WATCHER__INVALIDATION__REQUESTS_PER_SECOND": "0.25",
        "WATCHER__INVALIDATION__COLLATERAL_WEIGHT": "null",
        "WATCHER__WATCHER__LOG_LEVEL": "debug",
        "WATCHER__AWS__REGION": "eu-west-1",
    }
    path = tmp_path / "config.toml"
    path.write_text(_toml("invalidation", "collateral_weight", "2.0"))
    settings = load_settings(path, environ=environ)
    # THEN each is the key's own type
    assert settings.dry_run is True
    assert settings.sqs.max_messages == 4
    assert settings.poll.interval_seconds == 90.0
    assert settings.invalidation.requests_per_second == 0.25
    assert settings.invalidation.collateral_weight is None
    assert settings.watcher.log_level == "debug"
    assert settings.aws.region == "eu-west-1"


# -- item 10: the binary and the chart's values schema agree -------------------------------------------


def _config_values(section: str, key: str, value: Any) -> dict[str, Any]:
    """The chart's `config` values with one key set."""
    values: dict[str, Any] = {"sqs": {"queue_url": QUEUE}, "sites": [dict(SITE)]}
    if section == "sites":
        values["sites"][0][key] = value
    else:
        values.setdefault(section, {})[key] = value
    return values


_WRONG_VALUES: dict[str, list[Any]] = {
    "bool": ["yes", 1],
    "int": [True, "5", 5.5, 10**12],
    "float": [True, "5", 1e300],
    "str": [1, True],
    "list": ["x", 1],
}
AGREEMENT = [
    pytest.param(section, key, value, id=f"{section}.{key}={value!r}")
    for section, key, field in _keys()
    for value in _WRONG_VALUES[_kind(field)]
]


@pytest.mark.parametrize(("section", "key", "value"), AGREEMENT)
def test_the_chart_schema_refuses_what_the_binary_refuses(section: str, key: str, value: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = config_json_schema()
    values = _config_values(section, key, value)
    # GIVEN the example config: both accept it
    jsonschema.validate(_config_values("sqs", "queue_url", QUEUE), schema)
    # WHEN one key has a wrong type or an out-of-range number THEN both refuse it
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(values, schema)
    with pytest.raises(ValueError, match=key):
        Settings.model_validate(values)


def test_the_chart_schema_matches_identifiers_whole() -> None:
    # Helm validates `pattern` with Go's regexp, where `$` ends the text: every pattern is anchored
    # at both ends, and the identifiers the binary matches whole have one.
    patterns: dict[str, str] = {}

    def collect(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "pattern" in node:
                patterns[where] = node["pattern"]
            for name, child in node.items():
                collect(child, f"{where}.{name}" if name not in ("properties", "anyOf", "items") else where)
        elif isinstance(node, list):
            for child in node:
                collect(child, where)

    collect(config_json_schema(), "")
    for where, pattern in patterns.items():
        assert pattern.startswith("^"), where
        assert pattern.endswith("$"), where
        re.compile(pattern)
    for section, key, _ in IDENTIFIERS:
        assert f".{section}.{key}" in patterns, (section, key)


def test_the_root_config_toml_passes_the_chart_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import tomllib  # noqa: PLC0415

    jsonschema.validate(tomllib.loads((ROOT / "config.toml").read_text()), config_json_schema())
