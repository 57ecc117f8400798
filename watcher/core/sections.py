"""The sections of the configuration file, one model each ([watcher], [http], ... [[sites]]).

`watcher/core/config.py` puts them together into `Settings` and reads the file.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from watcher.core.globs import check_globs
from watcher.core.roles import EXTERNAL_ID_PATTERN, ROLE_ARN_PATTERN, ExternalId, RoleArn
from watcher.core.sites import is_fifo

__all__ = [
    "PATTERNS",
    "RECEIVE_READ_MARGIN_SECONDS",
    "SQS_MAX_VISIBILITY_SECONDS",
    "AwsSettings",
    "HttpSettings",
    "InvalidationSettings",
    "NotifySettings",
    "PollSettings",
    "Section",
    "SiteSettings",
    "SqsSettings",
    "WatcherSettings",
]

SQS_MAX_VISIBILITY_SECONDS = 43_200
# A long poll's read timeout is its wait time plus this (aws.py); the drain waits for it.
RECEIVE_READ_MARGIN_SECONDS = 3.0
# Identifiers are matched whole (re.fullmatch here, `^...$` in the chart's schema, where Go's
# `$` ends the text), in ASCII classes only, so that both engines read them alike: a trailing
# newline or a look-alike digit is refused, not carried into an AWS call that matches nothing.
# config_schema.py gives these to the chart; "" stays allowed where the key is optional.
PATTERNS: dict[tuple[str, str], str] = {
    ("http", "listen"): r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):[0-9]{1,5}",
    ("aws", "region"): r"[a-z]{2}(-[a-z0-9]+)+",
    ("sqs", "queue_url"): r"https?://[!-.0-~]+/[!-~]+",
    ("sites", "bucket"): r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}",
    ("sites", "distribution_id"): r"[A-Z0-9]{1,128}",
    ("sites", "role_arn"): ROLE_ARN_PATTERN,
    ("sites", "external_id"): EXTERNAL_ID_PATTERN,
    ("notify", "eventbridge_bus"): r"[A-Za-z0-9._:/-]{1,512}",
}
_AWS_NAMES = {
    "bucket": "a valid S3 bucket name",
    "distribution_id": "a CloudFront distribution id (like E2EXAMPLE)",
}


def _whole(section: str, key: str, value: str) -> bool:
    """Whether `value` matches the pattern of `section.key` as a whole."""
    return re.fullmatch(PATTERNS[(section, key)], value) is not None


class Section(BaseModel):
    """A table of the file. Values are strict (CONTRACT v4): no coercion between TOML types
    (`"yes"` is not a boolean, `true` is not a number; an integer is a valid float), and no
    infinity or NaN. Every number also declares a maximum (tests/unit/test_config_strict.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _arrays_are_tuples(cls, data: Any) -> Any:
        # TOML and JSON arrays arrive as lists; the frozen models hold tuples, and strict
        # mode takes a tuple only. The items are still checked strictly, one by one.
        if isinstance(data, dict):
            return {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
        return data


class WatcherSettings(Section):
    """`[watcher]`: what runs and how it talks."""

    sources: tuple[Literal["sqs", "poll"], ...] = ("sqs",)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    dry_run: bool = False
    shutdown_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 25

    @field_validator("sources")
    @classmethod
    def _sources_not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one source is needed: 'sqs' and/or 'poll'")
        if len(set(value)) != len(value):
            raise ValueError("each source may be named once")
        return value


class HttpSettings(Section):
    """`[http]`: the metrics/health server."""

    listen: str = "0.0.0.0:9102"
    unready_after_failing_seconds: Annotated[float, Field(gt=0, le=86_400)] = 120

    @field_validator("listen")
    @classmethod
    def _listen_is_host_port(cls, value: str) -> str:
        if not _whole("http", "listen", value) or int(value.rsplit(":", 1)[1]) > 65535:
            raise ValueError(f"must be HOST:PORT, e.g. 0.0.0.0:9102 (got {value!r})")
        return value

    @property
    def host(self) -> str:
        """The host part, brackets of an IPv6 address removed."""
        host = self.listen.rsplit(":", 1)[0].strip("[]")
        return host or "0.0.0.0"  # noqa: S104 - empty host means all interfaces, as in Go

    @property
    def port(self) -> int:
        """The port part (0 = any free port)."""
        return int(self.listen.rsplit(":", 1)[1])


class AwsSettings(Section):
    """`[aws]`: only the region; credentials and endpoints follow the standard chain."""

    region: str = ""
    connect_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 5
    read_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30

    @field_validator("region")
    @classmethod
    def _region_name(cls, value: str) -> str:
        if value and not _whole("aws", "region", value):
            raise ValueError(f"not an AWS region name (like us-east-1): {value!r}")
        return value


class SqsSettings(Section):
    """`[sqs]`: the queue fed by S3 notifications."""

    queue_url: str = ""
    wait_time_seconds: Annotated[int, Field(ge=1, le=20)] = 20
    max_messages: Annotated[int, Field(ge=1, le=10)] = 10
    visibility_timeout_seconds: Annotated[int, Field(ge=10, le=SQS_MAX_VISIBILITY_SECONDS)] = 300
    on_poison: Literal["delete", "keep"] = "delete"

    @field_validator("queue_url")
    @classmethod
    def _queue_url_shape(cls, value: str) -> str:
        if value and not _whole("sqs", "queue_url", value):
            raise ValueError(
                f"must be a queue URL like https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (got {value!r})"
            )
        if is_fifo(value):
            raise ValueError("FIFO queues cannot receive S3 event notifications; use a standard queue")
        return value


class PollSettings(Section):
    """`[poll]`: ETag polling when notifications are not available."""

    interval_seconds: Annotated[float, Field(ge=1, le=86_400)] = 60
    watch: tuple[str, ...] = ("index.html", "**/index.html")
    state_file: str = ""
    on_change: Literal["object", "site"] = "object"
    invalidate_on_start: bool = False

    @field_validator("watch")
    @classmethod
    def _watch_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _readable_globs(value)


class InvalidationSettings(Section):
    """`[invalidation]`: batching and planning."""

    quiet_period_seconds: Annotated[float, Field(ge=0, le=3600)] = 5
    max_delay_seconds: Annotated[float, Field(gt=0, le=36_000)] = 60
    max_paths_per_request: Annotated[int, Field(ge=1, le=3000)] = 100
    max_wildcards_in_progress: Annotated[int, Field(ge=0, le=15)] = 13
    wait_for_completion: bool = False
    strategy: Literal["exact", "balanced", "frugal"] = "exact"
    collateral_weight: Annotated[float, Field(ge=0, le=1_000_000)] | None = None
    index_refresh_seconds: Annotated[float, Field(ge=60, le=86_400)] = 3600
    requests_per_second: Annotated[float, Field(gt=0, le=100)] = 0.5  # per process: replicas share 0.5
    # Wildcards a burst leaves free for the next one, unless it cannot fit otherwise.
    wildcard_reserve: Annotated[int, Field(ge=0, le=15)] = 2
    # The planner's deadline: past it, the best cover found so far (never worse than exact).
    planner_budget_ms: Annotated[float, Field(gt=0, le=60_000)] = 50
    # Versioned buckets: a write with the same bytes and cached headers as the version
    # before it is acknowledged without an invalidation (watcher.core.content).
    skip_unchanged: bool = True

    @model_validator(mode="after")
    def _delay_covers_quiet_period(self) -> InvalidationSettings:
        if self.max_delay_seconds < self.quiet_period_seconds:
            raise ValueError(
                "max_delay_seconds must be at least quiet_period_seconds "
                f"({self.max_delay_seconds} < {self.quiet_period_seconds})"
            )
        return self


class NotifySettings(Section):
    """`[notify]`: completion events (EventBridge PutEvents) to a bus name or ARN; "" = off."""

    eventbridge_bus: str = ""

    @field_validator("eventbridge_bus")
    @classmethod
    def _bus_name_or_arn(cls, value: str) -> str:
        if value and not _whole("notify", "eventbridge_bus", value):
            raise ValueError(f"not an EventBridge bus name or ARN: {value!r}")
        return value


class SiteSettings(Section):
    """One `[[sites]]` entry: a bucket (and prefix) served by one distribution."""

    bucket: str
    distribution_id: str
    prefix: str = ""
    include: tuple[str, ...] = ("**",)
    exclude: tuple[str, ...] = ()
    role_arn: RoleArn = ""  # another account's distribution/bucket: see watcher.core.roles
    external_id: ExternalId = ""

    @field_validator("bucket", "distribution_id")
    @classmethod
    def _aws_name(cls, value: str, info: ValidationInfo) -> str:
        key = str(info.field_name)
        if not _whole("sites", key, value):
            raise ValueError(f"not {_AWS_NAMES[key]}: {value!r}")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, value: str) -> str:
        if value and not value.endswith("/"):
            raise ValueError(f"must be empty or end with '/' (got {value!r})")
        if value.startswith("/"):
            raise ValueError(f"S3 keys do not start with '/' (got {value!r})")
        return value

    @field_validator("include", "exclude")
    @classmethod
    def _globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _readable_globs(value)

    @property
    def name(self) -> str:
        """A short label for logs: bucket/prefix -> distribution."""
        return f"s3://{self.bucket}/{self.prefix} -> {self.distribution_id}"


def _readable_globs(globs: tuple[str, ...]) -> tuple[str, ...]:
    for glob in globs:
        if not glob or glob.startswith("/"):
            raise ValueError(f"globs are relative to the prefix, non-empty (got {glob!r})")
    check_globs(globs)  # GlobError is a ValueError: one line naming the glob
    return globs
