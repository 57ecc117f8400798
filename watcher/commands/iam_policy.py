"""`watcher iam-policy`: the command. It prints the document that iam.py (the watcher's and
setup's policies), wait/policy.py (wait's) or iam_roles.py (the sites' roles) builds."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from watcher.commands import iam_roles
from watcher.commands.iam import setup_policy, watcher_policy
from watcher.commands.iam_account import dead_letter_arn, offline_account, online_account
from watcher.commands.wait.policy import wait_policy
from watcher.core.config import Settings

__all__ = ["print_policy"]

_OFFLINE_KMS_NOTE = "note: offline: if the queue uses a customer KMS key, add kms:Decrypt on it"


def print_policy(
    settings: Settings,
    *,
    mode: str | None,
    account_id: str | None,
    for_: str,
    queue_name: str = "",
    dlq_name: str | None = None,
    enable_versioning: bool = False,
) -> int:
    """Print the policy JSON; 0, or 2 with one line when it cannot be built from the config."""
    if account_id is not None and not re.fullmatch(r"\d{12}", account_id):
        print(f"watcher iam-policy: --account-id must be 12 digits (got {account_id!r})", file=sys.stderr)
        return 2
    chosen = mode or ("both" if len(settings.watcher.sources) == 2 else settings.watcher.sources[0])
    needs_queue = for_ == "setup" or (for_ == "watcher" and chosen != "poll")
    if needs_queue and not (settings.sqs.queue_url or queue_name):
        print("watcher iam-policy: [sqs] queue_url is empty (or pass --queue-name NAME)", file=sys.stderr)
        return 2
    if account_id:
        account, kms_key, dlq = offline_account(settings, account_id), "", None
        if chosen != "poll" and for_ == "watcher":
            print(_OFFLINE_KMS_NOTE, file=sys.stderr)
    else:
        try:
            account, kms_key, dlq = online_account(settings)
        except Exception as exc:  # noqa: BLE001 - one line, whatever botocore raised
            print(
                f"watcher iam-policy: cannot get the account id ({exc}); pass --account-id ID",
                file=sys.stderr,
            )
            return 1
    if not account.region:
        print("watcher iam-policy: no AWS region: set [aws] region or AWS_REGION", file=sys.stderr)
        return 2
    document: dict[str, Any] | None
    if for_ == "setup":
        document = setup_policy(settings, account, queue_name=queue_name, versioning=enable_versioning)
    elif for_ == "wait":
        # Sites with a role_arn are read through it, as the daemon does: sts:AssumeRole on those.
        document = iam_roles.with_site_roles(
            lambda own, acc: wait_policy(own, partition=acc.partition, account_id=acc.account_id),
            settings,
            account,
        )
    elif for_ == "site-role":
        document = iam_roles.site_role_document(settings, account, mode=chosen)
    else:
        dlq_arn = dead_letter_arn(settings, account, dlq, dlq_name) if chosen != "poll" else ""
        # Sites with a role_arn are reached through it: the role's, not ours (iam_roles.py).
        document = iam_roles.with_site_roles(
            watcher_policy, settings, account, mode=chosen, kms_key=kms_key, dlq_arn=dlq_arn
        )
    if document is None:
        return 2
    print(json.dumps(document, indent=2))
    return 0
