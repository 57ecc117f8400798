"""wait_for_completion: each invalidation followed until CloudFront says Completed, flushes never wait."""

from __future__ import annotations

import threading

import boto3
import pytest
from prometheus_client import CollectorRegistry

from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.site import make_stack, running_watcher, settings_for
from tests.support.waiting import wait_until
from watcher.cloudfront.completion import CompletionTracker
from watcher.cloudfront.inprogress import InProgress
from watcher.ops.metrics import Metrics
from watcher.sources.queue_depth import QueueDepth


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        self.now += seconds
        return False


def test_an_invalidation_is_followed_with_backoff_until_completed(moto_server: str) -> None:
    # GIVEN CloudFront that completes an invalidation 25 s after accepting it, on a fake clock
    stack = make_stack(moto_server)
    clock = FakeClock()
    with StrictCloudFront(moto_server, complete_after=25, clock=clock.monotonic) as cloudfront:
        client = boto3.client("cloudfront", endpoint_url=cloudfront.url, region_name="us-east-1")
        metrics = Metrics(CollectorRegistry())
        in_progress = InProgress(client, clock=clock, metrics=metrics)
        tracker = CompletionTracker(client, clock=clock, metrics=metrics, in_progress=in_progress)
        dist = stack.distribution_id
        created = client.create_invalidation(
            DistributionId=dist,
            InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/index.html"]}, "CallerReference": "r1"},
        )["Invalidation"]
        in_progress.record(dist, created["Id"], ["/index.html"], created=clock.time())
        tracker.track(dist, created["Id"])
        in_progress_now = "cloudfront_watcher_invalidations_in_progress"
        assert metrics.registry.get_sample_value(in_progress_now, {"distribution": dist}) == 1
        # WHEN time passes, a step a second
        for _ in range(60):
            clock.now += 1
            tracker.step()
        # THEN it was seen Completed soon after 25 s, with few GetInvalidation calls
        completion = metrics.registry.get_sample_value(
            "cloudfront_watcher_invalidation_completion_seconds_sum", {"distribution": dist}
        )
        assert completion is not None
        assert 25 <= completion <= 25 + 15
        assert cloudfront.count("GetInvalidation") <= 8
        assert tracker.pending == 0
        # AND the in-progress gauge is back to 0 without another flush
        assert metrics.registry.get_sample_value(in_progress_now, {"distribution": dist}) == 0


def test_flushes_go_on_while_earlier_invalidations_are_still_in_progress(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a watcher with wait_for_completion and CloudFront keeping invalidations in progress
    stack = make_stack(moto_server)
    with StrictCloudFront(moto_server, complete_after=1000) as cloudfront:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        settings = settings_for(
            stack, invalidation={"quiet_period_seconds": 0.2, "wait_for_completion": True}
        )
        with running_watcher(settings) as watcher:
            # WHEN two deploys land one after the other
            stack.deploy({"a.html": "1"})
            wait_until(lambda: len(cloudfront.invalidations) == 1, what="first invalidation")
            stack.deploy({"b.html": "2"})
            wait_until(lambda: len(cloudfront.invalidations) == 2, what="second invalidation")
            # THEN the second was created while the first was still in progress
            first = cloudfront.invalidations[0]
            assert cloudfront.status(first) == "InProgress"
            registry = watcher.metrics.registry
            labels = {"distribution": stack.distribution_id}
            name = "cloudfront_watcher_invalidation_completion_seconds_count"
            # AND both are recorded as completed once CloudFront says so
            cloudfront.complete_all()
            wait_until(lambda: registry.get_sample_value(name, labels) == 2, timeout=20, what="completions")
            in_progress = registry.get_sample_value("cloudfront_watcher_invalidations_in_progress", labels)
            assert in_progress == 0


def test_queue_depth_reads_the_dead_letter_queue_named_by_the_redrive_policy(moto_server: str) -> None:
    # GIVEN a queue whose redrive policy names a DLQ holding two messages
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    dlq_url = sqs.create_queue(QueueName="site-changes-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "5"}}'
    queue_url = sqs.create_queue(QueueName="site-changes", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    for body in ("x", "y"):
        sqs.send_message(QueueUrl=dlq_url, MessageBody=body)
    sqs.send_message(QueueUrl=queue_url, MessageBody="z")
    metrics = Metrics(CollectorRegistry())
    # WHEN the depth is sampled
    QueueDepth(sqs, queue_url, metrics=metrics).sample()
    # THEN both depths are exported
    depth = "cloudfront_watcher_queue_messages"
    assert metrics.registry.get_sample_value(depth, {"queue": "dlq"}) == 2
    assert metrics.registry.get_sample_value(depth, {"queue": "source"}) == 1
