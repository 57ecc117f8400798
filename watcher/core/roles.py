"""A role per site: what `[[sites]] role_arn` / `external_id` may hold (the config checks them here)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

__all__ = ["role_conflicts", "site_role_problem"]

# IAM role ARNs of every partition (aws, aws-cn, aws-us-gov, ...), path allowed.
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")


class _SiteRole(Protocol):
    @property
    def distribution_id(self) -> str: ...
    @property
    def role_arn(self) -> str: ...
    @property
    def external_id(self) -> str: ...


def site_role_problem(role_arn: str, external_id: str) -> str | None:
    """One line saying what is wrong with a site's role, or None."""
    if role_arn and not _ROLE_ARN_RE.match(role_arn):
        return f"role_arn: not an IAM role ARN (like arn:aws:iam::123456789012:role/NAME): {role_arn!r}"
    if external_id and not role_arn:
        return "external_id is only used with role_arn"
    if external_id and not _EXTERNAL_ID_RE.match(external_id):
        return "external_id: 2..1224 characters of letters, digits and +=,.@:/-"
    return None


def role_conflicts(sites: Iterable[_SiteRole]) -> list[str]:
    """One line per distribution given different roles: a distribution lives in one account."""
    roles: dict[str, set[tuple[str, str]]] = {}
    for site in sites:
        roles.setdefault(site.distribution_id, set()).add((site.role_arn, site.external_id))
    return [
        f"sites: distribution {distribution_id} is given different roles (role_arn/external_id): "
        "a distribution lives in one account"
        for distribution_id, given in roles.items()
        if len(given) > 1
    ]
