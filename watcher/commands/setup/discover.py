"""Read what exists: the account, the queue and its DLQ, the buckets, the rule, the distributions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from watcher.arns import is_arn, parse_arn, partition_for_region
from watcher.aws import ClientFactory
from watcher.awserrors import AWS_ERRORS, classify
from watcher.commands.setup.state import (
    BucketState,
    Observed,
    QueueState,
    RuleState,
    Target,
)
from watcher.core.config import Settings
from watcher.core.sites import prefixes_by_bucket, queue_address

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

__all__ = [
    "SetupClients",
    "SetupError",
    "describe_error",
    "distribution_problems",
    "observe",
    "resolve_target",
]


class SetupError(Exception):
    """Setup cannot go on: `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class SetupClients(ClientFactory):
    """One client per service for the whole run: building a boto3 client costs ~0.15 s."""

    def __init__(self, *, region: str = "") -> None:
        super().__init__(region=region)
        self._made: dict[str, Any] = {}

    def _once(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self._made:
            self._made[name] = make()
        return self._made[name]

    def sqs(self, *, wait_time_seconds: int = 20) -> SQSClient:
        """SQS (setup never long-polls)."""
        return self._once("sqs", super().sqs)  # type: ignore[no-any-return]

    def s3(self) -> S3Client:
        """S3."""
        return self._once("s3", super().s3)  # type: ignore[no-any-return]

    def cloudfront(self) -> CloudFrontClient:
        """CloudFront."""
        return self._once("cloudfront", super().cloudfront)  # type: ignore[no-any-return]

    def sts(self) -> STSClient:
        """STS."""
        return self._once("sts", super().sts)  # type: ignore[no-any-return]

    def events(self) -> EventBridgeClient:
        """EventBridge."""
        return self._once("events", super().events)  # type: ignore[no-any-return]


def describe_error(exc: BaseException, what: str) -> str:
    """One line: AccessDenied says which policy to attach; anything else its code and message."""
    error = classify(exc)
    code = error.code
    if error.denied:
        return (
            f"AccessDenied on {what}: attach the policy printed by `watcher iam-policy --for setup` "
            "to the identity running setup"
        )
    message = error.message
    return f"{what}: {code}" + (f" ({message})" if message and message != code else "")


def resolve_target(settings: Settings, queue_name: str, clients: ClientFactory) -> Target:
    """The account, region and names setup works on; SetupError when they cannot be known."""
    try:
        identity = clients.sts().get_caller_identity()
    except AWS_ERRORS as exc:
        raise SetupError([describe_error(exc, "sts:GetCallerIdentity (are AWS credentials set?)")]) from exc
    account = identity["Account"]
    region = clients.sqs().meta.region_name or settings.aws.region
    caller = identity.get("Arn", "")
    partition = parse_arn(caller).partition if is_arn(caller) else partition_for_region(region)
    problems = []
    address = queue_address(settings.sqs.queue_url)
    if address and address.region != region:
        problems.append(
            f"sqs.queue_url is in {address.region} but the AWS region is {region}: "
            "set [aws] region or AWS_REGION to the queue's region"
        )
    if address and address.account != account:
        problems.append(
            f"sqs.queue_url is in account {address.account} but the credentials are for {account}"
        )
    if problems:
        raise SetupError(problems)
    return Target(
        account=account,
        region=region,
        queue_name=queue_name,
        bucket_prefixes=prefixes_by_bucket(settings.sites),
        visibility_timeout_seconds=settings.sqs.visibility_timeout_seconds,
        partition=partition,
    )


def _queue(sqs: SQSClient, name: str, problems: list[str]) -> QueueState:
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    except AWS_ERRORS as exc:
        if classify(exc).missing:
            return QueueState(exists=False)
        problems.append(describe_error(exc, f"sqs:GetQueueAttributes of queue {name}"))
        return QueueState(exists=False)
    return QueueState(exists=True, url=url, attributes={str(k): v for k, v in attributes.items()})


def _bucket(clients: ClientFactory, name: str, problems: list[str]) -> BucketState:
    s3 = clients.s3()
    try:
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
    except AWS_ERRORS as exc:
        if classify(exc).missing:
            problems.append(f"bucket {name} does not exist: check sites[].bucket")
        else:
            problems.append(describe_error(exc, f"s3:GetBucketLocation of bucket {name}"))
        return BucketState(name, None, None)
    region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)
    try:
        notification: dict[str, Any] = dict(s3.get_bucket_notification_configuration(Bucket=name))
    except AWS_ERRORS as exc:
        problems.append(describe_error(exc, f"s3:GetBucketNotification of bucket {name}"))
        return BucketState(name, region, None)
    notification.pop("ResponseMetadata", None)
    return BucketState(name, region, notification)


def _rule(clients: ClientFactory, target: Target, problems: list[str]) -> RuleState:
    events = clients.events()
    try:
        rule = events.describe_rule(Name=target.rule_name)
        targets = events.list_targets_by_rule(Rule=target.rule_name).get("Targets", [])
    except AWS_ERRORS as exc:
        if not classify(exc).missing:
            problems.append(describe_error(exc, f"events:DescribeRule of {target.rule_name}"))
        return RuleState(exists=False)
    arns = tuple(item["Arn"] for item in targets)
    return RuleState(True, rule.get("EventPattern", ""), rule.get("State", ""), arns)


def distribution_problems(clients: ClientFactory, settings: Settings) -> list[str]:
    """One line for each configured distribution that GetDistribution cannot read."""
    problems: list[str] = []
    site_clients = clients.for_sites(settings.sites)  # a site's role_arn, where it names one
    for distribution_id in sorted({site.distribution_id for site in settings.sites}):
        try:
            site_clients.cloudfront(distribution_id).get_distribution(Id=distribution_id)
        except AWS_ERRORS as exc:
            if classify(exc).missing:
                problems.append(
                    f"distribution {distribution_id} does not exist in account: check sites[].distribution_id"
                )
            else:
                problems.append(describe_error(exc, f"cloudfront:GetDistribution of {distribution_id}"))
    return problems


def observe(settings: Settings, target: Target, clients: ClientFactory) -> Observed:
    """Everything setup needs to know, read-only; unreadable parts become problem lines."""
    problems: list[str] = []
    sqs = clients.sqs()
    queue = _queue(sqs, target.queue_name, problems)
    dlq = _queue(sqs, target.dlq_name, problems)
    buckets = tuple(_bucket(clients, name, problems) for name in target.buckets)
    rule = _rule(clients, target, problems)
    problems += distribution_problems(clients, settings)
    return Observed(queue=queue, dlq=dlq, buckets=buckets, rule=rule, problems=tuple(problems))
