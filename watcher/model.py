"""Values that flow between the stages: plain, frozen data, no AWS, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class ChangeKind(enum.StrEnum):
    """What happened to an object."""

    CREATED = "created"
    REMOVED = "removed"


class Ack(Protocol):
    """The acknowledgement a change carries from its source to the invalidator.

    `covered()` is called once an accepted invalidation covers the change;
    `failed()` when it cannot be covered (permanent error, shutdown). The source
    decides what that means (delete the SQS message, commit a poll ETag).
    """

    def covered(self) -> None: ...

    def failed(self) -> None: ...


class NullAck:
    """An acknowledgement that does nothing (explain, tests)."""

    def covered(self) -> None:
        """Nothing to acknowledge."""

    def failed(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True, slots=True)
class Change:
    """One object changed in one bucket.

    `identity` names the change for idempotency: the SQS message id (plus record
    index) or, for poll mode, key + ETag. It feeds the CallerReference.
    """

    bucket: str
    key: str
    kind: ChangeKind
    identity: str
    event_time: datetime | None = None
    source: str = "sqs"
    ack: Ack = field(default_factory=NullAck, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Route:
    """A change mapped to one site: the distribution and the URL paths (not encoded)."""

    site_name: str
    distribution_id: str
    paths: tuple[str, ...]
