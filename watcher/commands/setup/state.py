"""What `watcher setup` wants (Target) and what it found in the account (Observed): plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from watcher.arns import DEFAULT_PARTITION, format_arn

__all__ = ["BucketState", "Observed", "QueueState", "RuleState", "Target"]

DLQ_SUFFIX = "-dlq"
RULE_PREFIX = "cloudfront-watcher-"


@dataclass(frozen=True, slots=True)
class Target:
    """The wiring wanted: one queue (+ DLQ) fed by every site bucket."""

    account: str
    region: str
    queue_name: str
    bucket_prefixes: Mapping[str, tuple[str, ...]]  # bucket -> minimal site prefixes
    visibility_timeout_seconds: int = 300
    partition: str = DEFAULT_PARTITION

    @property
    def buckets(self) -> tuple[str, ...]:
        """Site buckets, sorted."""
        return tuple(sorted(self.bucket_prefixes))

    def sqs_arn(self, name: str) -> str:
        """The ARN of a queue of this account and region."""
        return format_arn("sqs", name, partition=self.partition, region=self.region, account=self.account)

    @property
    def queue_arn(self) -> str:
        """The watcher's queue."""
        return self.sqs_arn(self.queue_name)

    @property
    def dlq_name(self) -> str:
        """Its dead-letter queue."""
        return self.queue_name + DLQ_SUFFIX

    @property
    def rule_name(self) -> str:
        """The EventBridge rule used for buckets whose events another consumer takes."""
        return (RULE_PREFIX + self.queue_name)[:64]

    @property
    def rule_arn(self) -> str:
        """ARN of that rule (on the default event bus)."""
        resource = f"rule/{self.rule_name}"
        return format_arn(
            "events", resource, partition=self.partition, region=self.region, account=self.account
        )


@dataclass(frozen=True, slots=True)
class QueueState:
    """A queue as found: absent, or its URL and attributes."""

    exists: bool
    url: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BucketState:
    """A bucket as found: its region and notification configuration (None when unreadable)."""

    name: str
    region: str | None
    notification: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class RuleState:
    """The EventBridge rule as found."""

    exists: bool
    event_pattern: str = ""
    state: str = ""
    target_arns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Observed:
    """Everything read from the account; `problems` are lines discovery could not get past."""

    queue: QueueState
    dlq: QueueState
    buckets: tuple[BucketState, ...]
    rule: RuleState
    problems: tuple[str, ...] = ()
