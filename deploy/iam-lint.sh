#!/usr/bin/env bash
# Lints every IAM policy `watcher iam-policy` generates with parliament: zero findings.
#
#   deploy/iam-lint.sh
#
# Policies: the watcher's role in each mode (sqs with a dead-letter queue and a
# customer KMS key by ARN and by alias, with [notify] events, with a cost strategy's
# site index; poll with and without a site prefix; both), the identity running
# `watcher setup`, `watcher wait`, and a site role's permission policies (--for
# site-role: the daemon's, wait's and setup's; not its trust policy, which has no
# Resource by design and which parliament, a linter of identity policies, rejects).
# parliament is installed once into the gitignored .cache/iam-lint-venv from the
# pinned deploy/iam-lint-requirements.txt.
# Its community auditors are not run: they flag sqs:SetQueueAttributes/CreateQueue
# in the setup policy as "permissions management", which is what setup is for
# (it writes the queue policy that lets S3 or EventBridge send).
# One known false positive is dropped, by its exact text: kms:ResourceAliases on
# kms:Decrypt (the policy for a queue key named by alias). AWS documents that key
# as a condition of the KMS key resource, so it applies to Decrypt; parliament's
# bundled database lists it per resource type, not per action, and reports it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.cache/iam-lint-venv"
stamp="$venv/.installed-$(sha256sum "$root/deploy/iam-lint-requirements.txt" | cut -c1-16)"
out="$root/.cache/iam-policies"
if [ ! -f "$stamp" ]; then
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$root/deploy/iam-lint-requirements.txt" > "$venv/pip.log" 2>&1 \
        || { cat "$venv/pip.log" >&2; exit 1; }
    touch "$stamp"
fi
rm -rf "$out" && mkdir -p "$out"
"$root/.venv/bin/python" - "$out" << 'PY'
import json
import pathlib
import sys

from watcher.commands.iam import Account, setup_policy, watcher_policy
from watcher.commands.iam_roles import site_role_policies
from watcher.commands.wait.policy import wait_policy
from watcher.core.config import Settings

out = pathlib.Path(sys.argv[1])
account = Account("123456789012", "eu-west-1")
queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/site-changes"
dlq = "arn:aws:sqs:eu-west-1:123456789012:site-changes-dlq"
sites = [
    {"bucket": "site", "prefix": "www/", "distribution_id": "E2EXAMPLE"},
    {"bucket": "site", "prefix": "docs/", "distribution_id": "E2EXAMPLE"},
    {"bucket": "blog", "distribution_id": "E3EXAMPLE"},
]
settings = Settings.model_validate({"sqs": {"queue_url": queue}, "sites": sites})
notifying = Settings.model_validate(
    {"sqs": {"queue_url": queue}, "sites": sites, "notify": {"eventbridge_bus": "deploys"}}
)
indexing = Settings.model_validate(
    {"sqs": {"queue_url": queue}, "sites": sites, "invalidation": {"strategy": "balanced"}}
)
key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
policies = {
    "sqs": watcher_policy(settings, account, mode="sqs", dlq_arn=dlq),
    "sqs-kms-key": watcher_policy(settings, account, mode="sqs", dlq_arn=dlq, kms_key=key),
    "sqs-kms-alias": watcher_policy(settings, account, mode="sqs", kms_key="alias/site-queue"),
    "poll": watcher_policy(settings, account, mode="poll"),
    "both": watcher_policy(settings, account, mode="both", dlq_arn=dlq),
    "sqs-notify": watcher_policy(notifying, account, mode="sqs", dlq_arn=dlq),
    "sqs-balanced": watcher_policy(indexing, account, mode="sqs", dlq_arn=dlq),
    "setup": setup_policy(settings, account),
    "wait": wait_policy(settings, partition=account.partition, account_id=account.account_id),
}
role = "arn:aws:iam::210987654321:role/site-invalidator"
theirs = {"bucket": "client-site", "prefix": "www/", "distribution_id": "E4EXAMPLE", "role_arn": role}
roles = Settings.model_validate(
    {"sqs": {"queue_url": queue}, "sites": [*sites, {**theirs, "external_id": "agency-42"}]}
)
for document, policy in site_role_policies(roles, account, mode="both")[role].items():
    if document != "TrustPolicy":
        policies[f"site-role-{document}"] = policy
for name, policy in policies.items():
    (out / f"{name}.json").write_text(json.dumps(policy, indent=2))
PY
failed=0
for policy in "$out"/*.json; do
    findings="$("$venv/bin/parliament" < "$policy" 2>&1 \
        | grep -v -F "Unknown condition kms:ResourceAliases for action kms:Decrypt")" || true
    if [ -n "$findings" ]; then
        echo "parliament: $(basename "$policy"):" >&2
        echo "$findings" >&2
        failed=1
    else
        echo "parliament: $(basename "$policy"): no findings"
    fi
done
exit "$failed"
