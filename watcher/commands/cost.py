"""`watcher cost`: this month's invalidations, billed paths and estimated cost per distribution."""

from __future__ import annotations

import re
import sys
import time

from watcher.aws import ClientFactory
from watcher.awserrors import AWS_ERRORS, error_code
from watcher.cloudfront.bill import FREE_PATHS_PER_MONTH, month_of, month_usage
from watcher.core.config import Settings

__all__ = ["DEFAULT_PRICE", "print_cost", "usage_error", "valid_month"]

DEFAULT_PRICE = 0.005  # USD per path past the free tier (2026)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def valid_month(value: str) -> bool:
    """Whether `value` is YYYY-MM."""
    return bool(_MONTH.match(value))


def usage_error(month: str | None, price: float) -> str:
    """One line when --month or --price is unusable, else ""."""
    if month is not None and not valid_month(month):
        return f"--month must be YYYY-MM, not {month!r}"
    if price < 0:
        return "--price must not be negative"
    return ""


def print_cost(settings: Settings, *, month: str | None, price: float) -> int:
    """Print the bill of the configured distributions; 0 when shown, 1 when CloudFront could not be read."""
    month = month or month_of(time.time())
    factory = ClientFactory(
        region=settings.aws.region,
        connect_timeout=settings.aws.connect_timeout_seconds,
        read_timeout=settings.aws.read_timeout_seconds,
    )
    client = factory.cloudfront()
    distributions = sorted({site.distribution_id for site in settings.sites})
    print(f"CloudFront invalidations in {month} (UTC)")
    print(f"{'distribution':<20} {'invalidations':>13} {'billed paths':>12}")
    total = 0
    failed = 0
    for dist in distributions:
        try:
            usage = month_usage(client, dist, month)
        except AWS_ERRORS as exc:
            print(f"{dist:<20} cannot list invalidations: {error_code(exc)}", file=sys.stderr)
            failed += 1
            continue
        total += usage.paths
        print(f"{dist:<20} {usage.invalidations:>13} {usage.paths:>12}")
    free_left = max(0, FREE_PATHS_PER_MONTH - total)
    billable = max(0, total - FREE_PATHS_PER_MONTH)
    print(f"{'total':<20} {'':>13} {total:>12}")
    print(f"free tier: {free_left} of {FREE_PATHS_PER_MONTH} paths left this month")
    print(
        f"estimated cost: ${billable * price:.2f} ({billable} paths past the free tier at ${price:g} a path)"
    )
    print(
        "note: the free tier is per AWS account; other distributions of the account share it "
        "and are not counted here"
    )
    return 1 if failed and failed == len(distributions) else 0
