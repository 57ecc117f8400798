"""`watcher check --aws`: reachability of the queue and the distributions."""

from __future__ import annotations

import re

from botocore.exceptions import BotoCoreError, ClientError

from watcher.aws import ClientFactory, error_code
from watcher.core.config import Settings

__all__ = ["check_aws"]

_QUEUE_REGION = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com/")


def check_aws(settings: Settings, clients: ClientFactory | None = None) -> list[str]:
    """One line per problem; empty when the queue and every distribution answer."""
    factory = clients or ClientFactory(region=settings.aws.region)
    problems: list[str] = []
    if "sqs" in settings.watcher.sources:
        sqs = factory.sqs()
        url = settings.sqs.queue_url
        match = _QUEUE_REGION.match(url)
        region = sqs.meta.region_name
        if match and region and match.group(1) != region:
            problems.append(f"sqs.queue_url: queue is in {match.group(1)} but the AWS region is {region}")
        try:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        except (ClientError, BotoCoreError) as exc:
            problems.append(f"sqs.queue_url: cannot read the queue {url}: {error_code(exc)}")
        else:
            if attributes.get("FifoQueue") == "true":
                problems.append("sqs.queue_url: FIFO queues cannot receive S3 notifications")
    site_clients = factory.for_sites(settings.sites)  # a site's role_arn, where it names one
    for distribution_id in sorted({site.distribution_id for site in settings.sites}):
        try:
            site_clients.cloudfront(distribution_id).get_distribution(Id=distribution_id)
        except (ClientError, BotoCoreError) as exc:
            problems.append(f"sites: distribution {distribution_id}: {error_code(exc)}")
    if not problems:
        print("AWS OK: queue and distributions reachable")
    return problems
