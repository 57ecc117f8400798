"""Queue depth for the dashboard: the source queue and, when its RedrivePolicy names one, the DLQ.

A growing DLQ is the one sign that changes were given up on; it is read from
GetQueueAttributes (free of receive side effects) every minute or so.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import structlog

from watcher.arns import parse_arn
from watcher.awserrors import AWS_ERRORS, error_code
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["QueueDepth", "dlq_arn"]


def dlq_arn(redrive_policy: str | None) -> str | None:
    """The deadLetterTargetArn of a RedrivePolicy attribute, or None."""
    if not redrive_policy:
        return None
    try:
        target = json.loads(redrive_policy).get("deadLetterTargetArn")
    except (ValueError, AttributeError):
        return None
    return str(target) if target else None


class QueueDepth:
    """Samples `queue_messages{queue="source"}` and `{queue="dlq"}`; errors are counted, logged on change."""

    def __init__(self, client: SQSClient, queue_url: str, *, metrics: Metrics) -> None:
        self._client = client
        self._queue_url = queue_url
        self._metrics = metrics
        self._dlq_url: str | None = None
        self._dlq_arn: str | None = None
        self._last_problem = ""
        self._log = structlog.get_logger("watcher.sqs").bind(queue=queue_url)

    def sample(self) -> None:
        """Read both depths now (two or three cheap calls)."""
        try:
            attributes = self._client.get_queue_attributes(
                QueueUrl=self._queue_url, AttributeNames=["ApproximateNumberOfMessages", "RedrivePolicy"]
            )["Attributes"]
            self._metrics.queue_messages.labels(queue="source").set(
                int(attributes.get("ApproximateNumberOfMessages", "0"))
            )
            dlq_url = self._resolve_dlq(dlq_arn(attributes.get("RedrivePolicy")))
            if dlq_url is not None:
                dlq = self._client.get_queue_attributes(
                    QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
                )
                self._metrics.queue_messages.labels(queue="dlq").set(
                    int(dlq["Attributes"].get("ApproximateNumberOfMessages", "0"))
                )
        except AWS_ERRORS as exc:
            code = error_code(exc)
            if code != self._last_problem:  # once per kind of problem, not once a minute
                self._log.warning("queue depth unavailable", code=code, error=str(exc)[:300])
            self._last_problem = code
            return
        self._last_problem = ""

    def _resolve_dlq(self, arn: str | None) -> str | None:
        if arn is None:
            self._dlq_arn = self._dlq_url = None
            return None
        if arn != self._dlq_arn or self._dlq_url is None:
            try:
                queue = parse_arn(arn)
                name, owner = queue.resource, queue.account
            except ValueError:  # not an ARN: SQS says what is wrong with the name
                name, owner = arn.rsplit(":", 1)[-1], ""
            kwargs = {"QueueOwnerAWSAccountId": owner} if owner else {}
            url = self._client.get_queue_url(QueueName=name, **kwargs)["QueueUrl"]
            self._dlq_arn, self._dlq_url = arn, url
            self._log.info("dead-letter queue found", dlq=url)
        return self._dlq_url
