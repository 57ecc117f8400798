"""`watcher iam-policy --for site-role`: what each `[[sites]] role_arn` (another account) needs.

The watcher assumes the role for the site's CloudFront calls and its S3 listing (poll
mode, or the site index of a cost strategy); `watcher wait` assumes it for its reads.
The role needs those permissions in its own account (the daemon's and wait's apart,
each least-privilege), and a trust policy that lets the watcher's account assume it
(with the site's external id, if any).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from watcher.arns import parse_arn
from watcher.commands.iam import CLOUDFRONT_INVALIDATE, Account, _distribution_arns, site_listing_statements
from watcher.commands.wait.policy import wait_policy
from watcher.core.config import Settings, SiteSettings

__all__ = ["assume_site_roles", "site_role_document", "site_role_policies", "with_site_roles"]


def assume_site_roles(settings: Settings) -> tuple[Settings, list[dict[str, Any]]]:
    """The watcher's side: the settings without the sites it reaches through a role (not its
    to invalidate or list), and the statement that lets it assume those roles (if any)."""
    roles = sorted({site.role_arn for site in settings.sites if site.role_arn})
    own = settings.model_copy(update={"sites": tuple(s for s in settings.sites if not s.role_arn)})
    if not roles:
        return own, []
    return own, [{"Sid": "AssumeSiteRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": roles}]


def with_site_roles(
    policy: Callable[..., dict[str, Any]], settings: Settings, account: Account, **options: Any
) -> dict[str, Any]:
    """`policy` (the watcher's) built for the sites it reaches as itself, plus sts:AssumeRole on
    the roles of the others; a statement left with no resource (every site has a role) is dropped."""
    own, assume = assume_site_roles(settings)
    document = policy(own, account, **options)
    kept = [s for s in document["Statement"] if s.get("Resource") != []]
    return {**document, "Statement": kept + assume}


def site_role_document(settings: Settings, account: Account, *, mode: str) -> dict[str, Any] | None:
    """`--for site-role`'s document (notes on stderr); None, said on stderr, when no site has a role."""
    if not any(site.role_arn for site in settings.sites):
        print("watcher iam-policy: --for site-role: no [[sites]] entry names a role_arn", file=sys.stderr)
        return None
    print(
        "note: each role's trust policy names the watcher's account; narrow it to the watcher's role ARN",
        file=sys.stderr,
    )
    return site_role_policies(settings, account, mode=mode)


def site_role_policies(settings: Settings, account: Account, *, mode: str) -> dict[str, Any]:
    """For each `role_arn` of the sites: the permission policy it needs and the trust policy
    that lets the watcher (in `account`) assume it, with the site's external id as a condition."""
    roles: dict[tuple[str, str], list[SiteSettings]] = {}
    for site in settings.sites:
        if site.role_arn:
            roles.setdefault((site.role_arn, site.external_id), []).append(site)
    documents: dict[str, Any] = {}
    for (role_arn, external_id), sites in sorted(roles.items()):
        role = parse_arn(role_arn)
        owner = Account(role.account, account.region, role.partition)
        theirs = settings.model_copy(update={"sites": tuple(sites)})
        distributions = _distribution_arns(theirs, owner)
        statements: list[dict[str, Any]] = [
            {
                "Sid": "InvalidateSiteDistributions",
                "Effect": "Allow",
                "Action": list(CLOUDFRONT_INVALIDATE),
                "Resource": distributions,
            }
        ]
        statements.extend(site_listing_statements(theirs, owner, mode=mode))
        trust: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{account.partition}:iam::{account.account_id}:root"},
            "Action": "sts:AssumeRole",
        }
        if external_id:
            trust["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
        waiting = wait_policy(theirs, partition=owner.partition, account_id=owner.account_id)
        documents[role_arn] = {
            "PermissionPolicy": {"Version": "2012-10-17", "Statement": statements},
            # `watcher wait` reads the site through the same role: add this where a CI job runs it.
            "WaitPermissionPolicy": waiting,
            # `watcher setup` and `check --aws` read each distribution through the role (never the daemon).
            "CheckPermissionPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "CheckSiteDistributions",
                        "Effect": "Allow",
                        "Action": "cloudfront:GetDistribution",
                        "Resource": distributions,
                    }
                ],
            },
            "TrustPolicy": {"Version": "2012-10-17", "Statement": [trust]},
        }
    return documents
