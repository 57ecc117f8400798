"""A role per site: what `[[sites]] role_arn` / `external_id` may hold (the config checks them here)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Protocol

from pydantic import AfterValidator

__all__ = ["EXTERNAL_ID_PATTERN", "ROLE_ARN_PATTERN", "ExternalId", "RoleArn", "role_problems"]

# IAM role ARNs of every partition (aws, aws-cn, aws-us-gov, ...), path allowed. Matched whole,
# ASCII only (`\w` and `\d` of Python also take other scripts' letters and digits).
ROLE_ARN_PATTERN = r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}"
# 2..1224 characters, written as 2..1000 then 0..224: the chart's values.schema.json takes
# this pattern, and helm checks it with Go's regexp, which allows no count above 1000.
EXTERNAL_ID_PATTERN = r"[A-Za-z0-9_+=,.@:/-]{2,1000}[A-Za-z0-9_+=,.@:/-]{0,224}"


def _role_arn(value: str) -> str:
    if value and not re.fullmatch(ROLE_ARN_PATTERN, value):
        raise ValueError(f"not an IAM role ARN (like arn:aws:iam::123456789012:role/NAME): {value!r}")
    return value


def _external_id(value: str) -> str:
    if value and not re.fullmatch(EXTERNAL_ID_PATTERN, value):
        raise ValueError("2..1224 characters of letters, digits and +=,.@:/-")
    return value


# Another account's distribution/bucket: the role to assume for the site's CloudFront
# calls and its S3 listing (SQS stays on the watcher's own identity); "" = none.
RoleArn = Annotated[str, AfterValidator(_role_arn)]
ExternalId = Annotated[str, AfterValidator(_external_id)]


class _SiteRole(Protocol):
    @property
    def distribution_id(self) -> str: ...
    @property
    def role_arn(self) -> str: ...
    @property
    def external_id(self) -> str: ...


def role_problems(sites: Sequence[_SiteRole]) -> list[str]:
    """One line per site with an external id but no role, and per distribution given two roles."""
    problems = [
        f"sites[{index}]: external_id is only used with role_arn"
        for index, site in enumerate(sites)
        if site.external_id and not site.role_arn
    ]
    roles: dict[str, set[tuple[str, str]]] = {}
    for site in sites:
        roles.setdefault(site.distribution_id, set()).add((site.role_arn, site.external_id))
    problems += [
        f"sites: distribution {distribution_id} is given different roles (role_arn/external_id): "
        "a distribution lives in one account"
        for distribution_id, given in roles.items()
        if len(given) > 1
    ]
    return problems
