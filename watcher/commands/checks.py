"""`watcher check --aws`: reachability of the queue and the distributions; versioning per site."""

from __future__ import annotations

from watcher.aws import ClientFactory
from watcher.awserrors import AWS_ERRORS, error_code
from watcher.commands.setup.discover import distribution_problems
from watcher.core.config import Settings
from watcher.core.sites import is_fifo, queue_address

__all__ = ["check_aws"]


def check_aws(settings: Settings, clients: ClientFactory | None = None) -> list[str]:
    """One line per problem; empty when the queue and every distribution answer."""
    factory = clients or ClientFactory(region=settings.aws.region)
    problems: list[str] = []
    if "sqs" in settings.watcher.sources:
        sqs = factory.sqs()
        url = settings.sqs.queue_url
        address = queue_address(url)
        region = sqs.meta.region_name
        if address and region and address.region != region:
            problems.append(f"sqs.queue_url: queue is in {address.region} but the AWS region is {region}")
        try:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        except AWS_ERRORS as exc:
            problems.append(f"sqs.queue_url: cannot read the queue {url}: {error_code(exc)}")
        else:
            if is_fifo(attributes=attributes):
                problems.append("sqs.queue_url: FIFO queues cannot receive S3 notifications")
    problems += distribution_problems(factory, settings)
    for line in versioning_report(settings, factory):
        print(line)
    if not problems:
        print("AWS OK: queue and distributions reachable")
    return problems


def versioning_report(settings: Settings, factory: ClientFactory) -> list[str]:
    """Per site: is its bucket versioned, so that unchanged writes can be skipped? (Not problems.)"""
    clients = factory.for_sites(settings.sites)
    statuses: dict[str, str] = {}
    lines = []
    for site in settings.sites:
        if site.bucket not in statuses:
            try:
                answer = clients.s3(site.bucket).get_bucket_versioning(Bucket=site.bucket)
                statuses[site.bucket] = answer.get("Status") or "never enabled"
            except AWS_ERRORS as exc:
                statuses[site.bucket] = f"unknown ({error_code(exc)})"
        status = statuses[site.bucket]
        where = f"site s3://{site.bucket}/{site.prefix} -> {site.distribution_id}: versioning {status}"
        if not settings.invalidation.skip_unchanged:
            lines.append(f"{where}; skip_unchanged = false: every write is invalidated")
        elif status == "Enabled":
            lines.append(f"{where}: unchanged writes are skipped")
        else:
            lines.append(
                f"{where}: every write is a change"
                " (watcher setup --enable-versioning to skip unchanged writes)"
            )
    return lines
