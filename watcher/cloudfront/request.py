"""One CreateInvalidation request of a flush: its idempotent CallerReference, how it ended, what a flush got.

The reference is derived from the identities of the batch's changes and the
request's paths, so a retry after a lost response, even from a restarted
process, returns the same invalidation. It starts with a prefix derived from
the batch alone, by which a retry recognises the invalidations of its own
first attempt among those in progress (see Invalidator.plan).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import structlog

__all__ = [
    "OWN_REFERENCE_PREFIX",
    "CreatedInvalidation",
    "Progress",
    "Request",
    "Sent",
    "batch_prefix",
    "caller_reference",
]

# Every CallerReference this daemon sends starts with it: on start, it follows its own
# invalidations in progress (their Completed events), made by a previous run too.
OWN_REFERENCE_PREFIX = "cfw-"


@dataclass(frozen=True, slots=True)
class Sent:
    """How one request ended."""

    status: Literal["accepted", "invalid", "failed"]
    invalidation_id: str = ""
    reason: str = ""
    permanent: bool = False


@dataclass(frozen=True, slots=True)
class Request:
    """One CreateInvalidation to make: its paths and reference, and how long it may try."""

    dist: str
    paths: list[str]
    identities: list[str]
    abort: threading.Event
    deadline_at: Callable[[], float | None]  # asked anew before each attempt: a drain may set it
    log: structlog.typing.FilteringBoundLogger

    @property
    def deadline(self) -> float | None:
        """When (monotonic) the request must have ended, if it must (a shutdown's drain)."""
        return self.deadline_at()

    @property
    def ref(self) -> str:
        """The CallerReference: same changes and paths, same reference."""
        return caller_reference(self.dist, self.identities, self.paths)

    def part(self, paths: list[str]) -> Request:
        """The same request for some of its paths (isolating a bad one)."""
        return Request(self.dist, paths, self.identities, self.abort, self.deadline_at, self.log)


@dataclass(frozen=True, slots=True)
class CreatedInvalidation:
    """One invalidation CloudFront accepted for a flush (for completion events and /status)."""

    invalidation_id: str
    caller_reference: str
    paths: tuple[str, ...]


@dataclass(slots=True)
class Progress:
    """What the requests of one flush achieved so far."""

    accepted: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    permanent: bool = False
    created: list[CreatedInvalidation] = field(default_factory=list)


def batch_prefix(distribution_id: str, identities: Sequence[str]) -> str:
    """The part of a CallerReference that names the batch alone (its distribution and changes).

    Every request of a batch starts with it, so the batch recognises its own invalidations
    among those in progress (after a restart too) and plans as if they were not there.
    """
    digest = hashlib.sha256()
    digest.update(distribution_id.encode())
    for identity in sorted(set(identities)):
        digest.update(b"\0" + identity.encode())
    return OWN_REFERENCE_PREFIX + digest.hexdigest()[:20] + "-"


def caller_reference(distribution_id: str, identities: Sequence[str], paths: Sequence[str]) -> str:
    """The batch's prefix, then a digest of the frozen paths: same batch and paths, same reference."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(b"\0" + path.encode())
    return batch_prefix(distribution_id, identities) + digest.hexdigest()[:24]
