"""`watcher cost`: this month's invalidations, billed paths and estimated cost per distribution.

Each distribution is read as its site reads it (the site's `role_arn`: another
account's distribution is invisible to ours), and the free tier (1,000 paths a
month) is per AWS account, so the bill is summed per account. Money is Decimal,
rounded half-up to the cent. Exit 1 when a figure is incomplete: a distribution
that cannot be read, or a month longer than the page cap.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from watcher.aws import ClientFactory
from watcher.awserrors import AWS_ERRORS, error_code
from watcher.cloudfront.bill import FREE_PATHS_PER_MONTH, MAX_PAGES, MonthUsage, month_of, month_usage
from watcher.core.config import Settings, SiteSettings

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

__all__ = [
    "DEFAULT_PRICE",
    "OWN_ACCOUNT",
    "account_of",
    "billable_cost",
    "money",
    "past_free_tier",
    "print_cost",
    "usage_error",
    "valid_month",
]

DEFAULT_PRICE = 0.005  # USD per path past the free tier (2026)
OWN_ACCOUNT = "this account"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_ROLE_ACCOUNT = re.compile(r"^arn:[a-z-]+:iam::(\d{12}):")
_CENT = Decimal("0.01")


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


def money(amount: Decimal) -> str:
    """'$1.01' for 1.005: Decimal, half-up to the cent (floats round half a cent either way)."""
    return f"${amount.quantize(_CENT, rounding=ROUND_HALF_UP)}"


def billable_cost(paths: int, price: float | Decimal) -> Decimal:
    """What `paths` past the free tier cost at `price` a path, exactly (round with `money`)."""
    return Decimal(paths) * Decimal(str(price))


def past_free_tier(paths: int, month_paths: int) -> int:
    """How many of `paths` (part of a month of `month_paths`) fall past the free tier."""
    return max(0, min(paths, month_paths - FREE_PATHS_PER_MONTH))


def account_of(site: SiteSettings) -> str:
    """The account that owns a site's distribution: its role's, else ours."""
    match = _ROLE_ACCOUNT.match(site.role_arn)
    return match.group(1) if match else OWN_ACCOUNT


@dataclass(slots=True)
class _Row:
    distribution: str
    account: str
    usage: MonthUsage | None  # None: could not be read
    problem: str = ""


def _read(client: CloudFrontClient, dist: str, account: str, month: str, max_pages: int) -> _Row:
    try:
        usage = month_usage(client, dist, month, max_pages=max_pages)
    except AWS_ERRORS as exc:
        return _Row(dist, account, None, f"cannot list invalidations: {error_code(exc)}")
    if not usage.complete:
        return _Row(dist, account, usage, f"more than {max_pages * 100} invalidations: at least this much")
    return _Row(dist, account, usage)


def _rows(settings: Settings, month: str, max_pages: int) -> list[_Row]:
    """One row per distribution, read through its site's role."""
    factory = ClientFactory(
        region=settings.aws.region,
        connect_timeout=settings.aws.connect_timeout_seconds,
        read_timeout=settings.aws.read_timeout_seconds,
    )
    clients = factory.for_sites(settings.sites)
    sites = {site.distribution_id: site for site in reversed(settings.sites)}
    return [
        _read(clients.cloudfront(dist), dist, account_of(sites[dist]), month, max_pages)
        for dist in sorted(sites)
    ]


def _print_accounts(rows: Sequence[_Row], price: float) -> Decimal:
    """The free tier and the cost of each account; returns the total cost."""
    total = Decimal(0)
    for account in sorted({row.account for row in rows}, key=lambda a: (a != OWN_ACCOUNT, a)):
        paths = sum(row.usage.paths for row in rows if row.account == account and row.usage is not None)
        billable = max(0, paths - FREE_PATHS_PER_MONTH)
        cost = billable_cost(billable, price)
        total += cost
        incomplete = any(row.problem for row in rows if row.account == account)
        print(
            f"account {account}: {paths} billed paths{' (incomplete)' if incomplete else ''}; "
            f"free tier: {max(0, FREE_PATHS_PER_MONTH - paths)} of {FREE_PATHS_PER_MONTH} paths left "
            f"this month; {billable} past it: {money(cost)}"
        )
    return total


def print_cost(settings: Settings, *, month: str | None, price: float, max_pages: int = MAX_PAGES) -> int:
    """Print the bill of the configured distributions; 0 when complete, 1 when a figure is incomplete."""
    month = month or month_of(time.time())
    rows = _rows(settings, month, max_pages)
    print(f"CloudFront invalidations in {month} (UTC)")
    print(f"{'distribution':<20} {'invalidations':>13} {'billed paths':>12}  account")
    for row in rows:
        if row.usage is None:
            print(f"{row.distribution:<20} {'?':>13} {'?':>12}  {row.account}: incomplete, {row.problem}")
            print(f"watcher cost: {row.distribution}: {row.problem}", file=sys.stderr)
            continue
        note = f": incomplete, {row.problem}" if row.problem else ""
        print(
            f"{row.distribution:<20} {row.usage.invalidations:>13} {row.usage.paths:>12}  {row.account}{note}"
        )
    total = _print_accounts(rows, price)
    print(f"estimated cost: {money(total)} (paths past each account's free tier at ${price:g} a path)")
    print(
        "note: the free tier is per AWS account; other distributions of the account share it "
        "and are not counted here"
    )
    if any(row.problem for row in rows):
        print(
            "watcher cost: incomplete: some figures are lower bounds or missing (see above)", file=sys.stderr
        )
        return 1
    return 0
