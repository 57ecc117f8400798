"""While CloudFront is failing, a cheap read every few seconds tells readiness when it is back.

Readiness turns 503 once CreateInvalidation has failed for long enough; the next
CreateInvalidation may be a minute away (the invalidator backs off), so without
this probe /readyz would lag behind a recovery by as long.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from watcher.awserrors import AWS_ERRORS, error_code

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["PROBE_SECONDS", "CloudFrontProbe", "Health"]

PROBE_SECONDS = 5.0


class Health(Protocol):
    """What the probe needs of a readiness tracker (sources/health.py's SourceHealth)."""

    @property
    def failing(self) -> bool: ...

    def record(self, error: str | None) -> None: ...


class CloudFrontProbe:
    """`step()`: when `health.failing`, one ListInvalidations (MaxItems 1), recorded in `health`."""

    def __init__(self, client: CloudFrontClient, distribution_id: str, health: Health) -> None:
        self._client = client
        self._distribution_id = distribution_id
        self._health = health

    def step(self) -> None:
        """Probe once, only while CloudFront is believed failing (no calls on a good day)."""
        if not self._health.failing:
            return
        try:
            self._client.list_invalidations(DistributionId=self._distribution_id, MaxItems="1")
        except AWS_ERRORS as exc:
            self._health.record(f"ListInvalidations failed: {error_code(exc)}")
            return
        self._health.record(None)
