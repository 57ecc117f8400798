"""Make the planned changes, in the plan's order, stopping at the first failure."""

from __future__ import annotations

from typing import Any

from watcher.aws import ClientFactory
from watcher.awserrors import AWS_ERRORS
from watcher.commands.setup.discover import describe_error
from watcher.commands.setup.plan import Action

__all__ = ["apply_actions"]

_IAM_ACTION = {
    "create_queue": "sqs:CreateQueue",
    "set_queue_attributes": "sqs:SetQueueAttributes",
    "put_rule": "events:PutRule",
    "put_targets": "events:PutTargets",
    "put_bucket_notification": "s3:PutBucketNotification",
    "put_bucket_versioning": "s3:PutBucketVersioning",
    "put_bucket_lifecycle": "s3:PutLifecycleConfiguration",
}


def _apply(clients: ClientFactory, action: Action) -> None:
    params: Any = action.params
    if action.kind == "create_queue":
        clients.sqs().create_queue(QueueName=params["QueueName"], Attributes=params["Attributes"])
    elif action.kind == "set_queue_attributes":
        sqs = clients.sqs()
        url = sqs.get_queue_url(QueueName=params["QueueName"])["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=params["Attributes"])
    elif action.kind == "put_rule":
        clients.events().put_rule(
            Name=params["Name"], EventPattern=params["EventPattern"], State=params["State"]
        )
    elif action.kind == "put_targets":
        answer = clients.events().put_targets(Rule=params["Rule"], Targets=params["Targets"])
        if answer.get("FailedEntryCount"):
            failed = answer.get("FailedEntries", [{}])[0]
            raise RuntimeError(f"{failed.get('ErrorCode', 'failed')}: {failed.get('ErrorMessage', '')}")
    elif action.kind == "put_bucket_notification":
        clients.s3().put_bucket_notification_configuration(
            Bucket=params["Bucket"], NotificationConfiguration=params["Configuration"]
        )
    elif action.kind == "put_bucket_versioning":
        clients.s3().put_bucket_versioning(
            Bucket=params["Bucket"], VersioningConfiguration={"Status": "Enabled"}
        )
    elif action.kind == "put_bucket_lifecycle":
        clients.s3().put_bucket_lifecycle_configuration(
            Bucket=params["Bucket"], LifecycleConfiguration={"Rules": params["Rules"]}
        )
    else:
        raise ValueError(f"unknown setup action {action.kind!r}")


def apply_actions(clients: ClientFactory, actions: list[Action], log: Any = print) -> list[str]:
    """Apply each action; returns the problem lines (empty when every change was made)."""
    for action in actions:
        try:
            _apply(clients, action)
        except AWS_ERRORS as exc:
            return [describe_error(exc, f"{_IAM_ACTION[action.kind]} ({action.summary})")]
        except RuntimeError as exc:
            return [f"{_IAM_ACTION[action.kind]} ({action.summary}): {exc}"]
        log(f"  done: {action.summary}")
    return []
