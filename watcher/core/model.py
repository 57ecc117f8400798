"""Values that flow between the stages: plain, frozen data, no AWS, no I/O."""

from __future__ import annotations

import enum
import threading
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
    `failed(retry_in)` when it cannot be covered now (permanent error, shutdown):
    the change should come back in `retry_in` seconds. The source decides what
    that means (delete or release the SQS message, commit a poll ETag).
    """

    def covered(self) -> None: ...

    def failed(self, retry_in: float = 0.0) -> None: ...


class NullAck:
    """An acknowledgement that does nothing (explain, tests)."""

    def covered(self) -> None:
        """Nothing to acknowledge."""

    def failed(self, retry_in: float = 0.0) -> None:
        """Nothing to release."""


class FanOutAck:
    """One change routed to several distributions: covered once every route is covered."""

    def __init__(self, inner: Ack, routes: int) -> None:
        self._inner = inner
        self._remaining = routes
        self._failed = False
        self._retry_in = 0.0
        self._lock = threading.Lock()

    def covered(self) -> None:
        """One route covered."""
        self._settle(failed=False, retry_in=0.0)

    def failed(self, retry_in: float = 0.0) -> None:
        """One route failed."""
        self._settle(failed=True, retry_in=retry_in)

    def _settle(self, *, failed: bool, retry_in: float) -> None:
        with self._lock:
            self._remaining -= 1
            self._failed = self._failed or failed
            self._retry_in = max(self._retry_in, retry_in)
            if self._remaining != 0:
                return
        if self._failed:
            self._inner.failed(self._retry_in)
        else:
            self._inner.covered()


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a write changed what is served, and why (one short line, for logs)."""

    unchanged: bool
    reason: str


class PendingVerdict(Protocol):
    """A content comparison running off the main loop (see `watcher.core.content`).

    `settle(timeout)` waits for it at most `timeout` seconds (past that: a change) and
    gives the verdict; every call gives the first one (a change routed to several
    distributions is settled once).
    """

    def settle(self, timeout: float) -> Verdict: ...


@dataclass(frozen=True, slots=True)
class Change:
    """One object changed in one bucket.

    `identity` names the change for idempotency: the SQS message id (plus record
    index) or, for poll mode, key + ETag. It feeds the CallerReference.
    `site_wide` (poll's `on_change = "site"`) asks routing for one wildcard over
    the whole site instead of the key's own paths.
    `version_id` is the S3 version the event names (versioned buckets only): a write
    with one can be compared with the version before it (see `watcher.core.content`);
    `content` is that comparison, started when the change was submitted.
    """

    bucket: str
    key: str
    kind: ChangeKind
    identity: str
    event_time: datetime | None = None
    source: str = "sqs"
    ack: Ack = field(default_factory=NullAck, compare=False, repr=False)
    site_wide: bool = False
    version_id: str | None = None
    content: PendingVerdict | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Route:
    """A change mapped to one site: the distribution and the URL paths (not encoded)."""

    site_name: str
    distribution_id: str
    paths: tuple[str, ...]
