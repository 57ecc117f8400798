"""One frozen, typed settings object from TOML + environment.

Precedence: command-line flag > environment (`WATCHER__SECTION__KEY`) > file >
default. Unknown keys and unknown `WATCHER__*` variables are errors, because a
typo that is silently ignored is a deploy that is silently not invalidated.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError, model_validator

from watcher.core.config_messages import describe_error, sections_not_tables
from watcher.core.environment import ENV_PREFIX, lay_over, resolve_config_path
from watcher.core.roles import role_problems
from watcher.core.sections import (
    RECEIVE_READ_MARGIN_SECONDS,
    SQS_MAX_VISIBILITY_SECONDS,
    AwsSettings,
    HttpSettings,
    InvalidationSettings,
    NotifySettings,
    PollSettings,
    Section,
    SiteSettings,
    SqsSettings,
    WatcherSettings,
)

__all__ = [
    "ENV_PREFIX",
    "RECEIVE_READ_MARGIN_SECONDS",
    "SQS_MAX_VISIBILITY_SECONDS",
    "ConfigError",
    "HttpSettings",
    "InvalidationSettings",
    "PollSettings",
    "Settings",
    "SiteSettings",
    "SqsSettings",
    "load_settings",
    "resolve_config_path",
]

# What the drain needs beyond the last long poll: its read margin, then the exit itself.
_DRAIN_BEYOND_RECEIVE_SECONDS = RECEIVE_READ_MARGIN_SECONDS + 2.0
_NOT_FOUND = "config file not found (and the environment does not set every required key)"


class ConfigError(Exception):
    """Invalid configuration: `problems` holds one clear line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(Section):
    """The whole, validated configuration."""

    watcher: WatcherSettings = WatcherSettings()
    http: HttpSettings = HttpSettings()
    aws: AwsSettings = AwsSettings()
    sqs: SqsSettings = SqsSettings()
    poll: PollSettings = PollSettings()
    invalidation: InvalidationSettings = InvalidationSettings()
    notify: NotifySettings = NotifySettings()
    sites: tuple[SiteSettings, ...] = ()

    @model_validator(mode="after")
    def _required_keys(self) -> Settings:
        problems = []
        if not self.sites:
            problems.append("sites: at least one [[sites]] entry is required")
        if "sqs" in self.watcher.sources and not self.sqs.queue_url:
            problems.append("sqs.queue_url: required when sources include 'sqs'")
        problems.extend(role_problems(self.sites))
        least = self.sqs.wait_time_seconds + _DRAIN_BEYOND_RECEIVE_SECONDS
        if "sqs" in self.watcher.sources and self.watcher.shutdown_timeout_seconds < least:
            # Otherwise the drain could end while a long poll is open: what it
            # receives then stays invisible for the visibility timeout.
            problems.append(
                f"watcher.shutdown_timeout_seconds: must be at least sqs.wait_time_seconds + "
                f"{_DRAIN_BEYOND_RECEIVE_SECONDS:g} ({least:g}), so that the drain outlasts "
                f"the last long poll (got {self.watcher.shutdown_timeout_seconds:g})"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def dry_run(self) -> bool:
        """Whether CreateInvalidation and every acknowledgement are skipped."""
        return self.watcher.dry_run

    def to_dict(self) -> dict[str, Any]:
        """The resolved settings as plain data (for `watcher check`)."""
        return self.model_dump(mode="json")


def load_settings(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Read the TOML file, apply environment and flag overrides, validate.

    Raises ConfigError with one line per problem.
    """
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    missing_file = False
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        missing_file = True
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read TOML: {exc}"]) from exc
    origins: dict[tuple[str, ...], str] = {}
    problems = sections_not_tables(data, Settings) or lay_over(data, Settings, env, overrides or {}, origins)
    if problems:
        raise ConfigError(problems)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = [
            line
            for error in exc.errors()
            for line in describe_error(error, Settings, origin=_origin(error["loc"], origins)).splitlines()
        ]
        if missing_file:
            lines.insert(0, f"{path}: {_NOT_FOUND}")
        raise ConfigError(lines) from exc


def _origin(loc: tuple[int | str, ...], origins: Mapping[tuple[str, ...], str]) -> str:
    """The WATCHER__ variable that set the key at `loc` ("" when the file did)."""
    if not loc:
        return ""  # a rule across keys (the model's own check): no one variable
    return origins.get(tuple(str(part) for part in loc[:2]), "") or origins.get((str(loc[0]),), "")
