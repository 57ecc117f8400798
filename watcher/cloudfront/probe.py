"""While a distribution has an outage, a cheap read every few seconds tells readiness when it is back.

Readiness turns 503 once a distribution's CreateInvalidation has failed for long
enough; the next CreateInvalidation may be a minute away (the invalidator backs
off), so without this probe /readyz would lag behind a recovery by as long. The
probe reads the failing distribution itself, through its own client (a site's
role), and only an outage (throttling, 5xx, timeouts) can be cleared by it: a
refusal stays until a CreateInvalidation of that distribution succeeds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from watcher.awserrors import AWS_ERRORS, error_code
from watcher.cloudfront.readiness import CloudFrontHealth

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = ["PROBE_SECONDS", "CloudFrontProbe"]

PROBE_SECONDS = 5.0


class CloudFrontProbe:
    """`step()`: one ListInvalidations (MaxItems 1) per distribution with an outage, recorded in `health`."""

    def __init__(self, client_for: Callable[[str], CloudFrontClient], health: CloudFrontHealth) -> None:
        self._client_for = client_for
        self._health = health

    def step(self) -> None:
        """Probe each distribution with an outage once (no calls on a good day)."""
        for distribution_id in self._health.probe_targets():
            try:
                self._client_for(distribution_id).list_invalidations(
                    DistributionId=distribution_id, MaxItems="1"
                )
            except AWS_ERRORS as exc:
                self._health.probed(distribution_id, f"ListInvalidations failed: {error_code(exc)}")
                continue
            self._health.probed(distribution_id, None)
