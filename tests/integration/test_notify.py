"""Completion events: EventBridge hears Created and Completed; a failing PutEvents never delays anything."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from prometheus_client import CollectorRegistry

from tests.support.aws_wire import Request, Response
from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.events import s3_body, s3_record
from tests.support.fault_proxy import FaultProxy
from tests.support.site import make_stack, running_watcher, settings_for
from tests.support.waiting import wait_until
from watcher.cloudfront.notify import InvalidationNotice, Notifier
from watcher.core.clock import SystemClock
from watcher.ops.metrics import Metrics

BUS = "deploys"


def _rule_to_queue(endpoint: str) -> tuple[Any, str]:
    """GIVEN an event bus with a rule on source cloudfront-watcher that targets an SQS queue."""
    events = boto3.client("events", endpoint_url=endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="deploy-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["cloudfront-watcher"], "detail-type": [{"prefix": "CloudFront Invalidation"}]}
    events.put_rule(Name="site-live", EventBusName=BUS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="site-live", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])
    return sqs, queue_url


def _received(sqs: Any, queue_url: str, seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        seen.append(json.loads(message["Body"]))
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def test_a_rule_on_the_bus_receives_created_and_completed_with_the_documented_detail(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = make_stack(moto_server)
    sqs, queue_url = _rule_to_queue(moto_server)
    with StrictCloudFront(moto_server, complete_after=2) as cloudfront:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        settings = settings_for(
            stack,
            invalidation={"quiet_period_seconds": 0.3, "wait_for_completion": True},
            notify={"eventbridge_bus": BUS},
        )
        with running_watcher(settings) as watcher:
            # WHEN a deploy of two files lands
            stack.deploy({"index.html": "home", "app.js": "v2"})
            # THEN the queue behind the rule receives a Created and then a Completed event
            seen: list[dict[str, Any]] = []
            wait_until(lambda: len(_received(sqs, queue_url, seen)) >= 2, timeout=30, what="two events")
            registry = watcher.metrics.registry
            sent = registry.get_sample_value("cloudfront_watcher_notifications_total", {"outcome": "sent"})
    [invalidation] = cloudfront.invalidations
    created, completed = sorted(seen, key=lambda e: e["detail-type"] != "CloudFront Invalidation Created")
    assert created["source"] == completed["source"] == "cloudfront-watcher"
    assert created["detail-type"] == "CloudFront Invalidation Created"
    assert completed["detail-type"] == "CloudFront Invalidation Completed"
    detail = created["detail"]
    assert detail["distribution_id"] == stack.distribution_id
    assert detail["invalidation_id"] == invalidation.id
    assert detail["caller_reference"] == invalidation.caller_reference
    assert detail["paths_count"] == 3
    assert detail["wildcards_count"] == 0
    assert sorted(detail["paths"]) == ["/", "/app.js", "/index.html"]
    assert detail["changes_count"] == 2
    assert detail["oldest_change_time"].endswith("Z")
    assert 0 <= detail["lag_seconds"] < 30
    done = completed["detail"]
    assert done["invalidation_id"] == invalidation.id
    assert done["seconds_to_complete"] >= 1.5  # CloudFront kept it InProgress for 2 s
    assert done["lag_seconds"] >= detail["lag_seconds"]
    assert sent == 2


def test_a_failing_put_events_never_delays_an_invalidation(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN EventBridge behind a proxy that holds every request for 8 s, and CloudFront behind the stand-in
    stack = make_stack(moto_server)
    _rule_to_queue(moto_server)
    with (
        StrictCloudFront(moto_server) as cloudfront,
        FaultProxy(moto_server, slow_seconds=8) as events,
    ):
        events.set_fault_rate(1.0, ("slow",))
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", events.url)
        settings = settings_for(
            stack, invalidation={"quiet_period_seconds": 0.3}, notify={"eventbridge_bus": BUS}
        )
        with running_watcher(settings) as watcher:
            # WHEN two deploys land one after the other, while the first event is stuck in PutEvents
            stack.deploy({"a.html": "1"})
            wait_until(lambda: len(cloudfront.invalidations) == 1, timeout=10, what="first invalidation")
            wait_until(lambda: events.count("PutEvents") >= 1, timeout=10, what="a PutEvents in flight")
            started = time.monotonic()
            stack.deploy({"b.html": "2"})
            wait_until(lambda: len(cloudfront.invalidations) == 2, timeout=10, what="second invalidation")
            # THEN the second invalidation did not wait for EventBridge (8 s per request)
            assert time.monotonic() - started < 6
            # AND the held events are still delivered once EventBridge answers again
            events.clear_faults()
            registry = watcher.metrics.registry

            def sent() -> float:
                value = registry.get_sample_value(
                    "cloudfront_watcher_notifications_total", {"outcome": "sent"}
                )
                return value or 0.0

            wait_until(lambda: sent() == 2, timeout=60, what="both events sent")


def test_a_full_queue_drops_and_counts_instead_of_blocking(moto_server: str) -> None:
    # GIVEN a notifier with room for one event, and EventBridge holding each request for 3 s
    events = boto3.client("events", endpoint_url=moto_server, region_name="us-east-1")
    events.create_event_bus(Name=BUS)
    with FaultProxy(moto_server, slow_seconds=3) as proxy:
        proxy.set_fault_rate(1.0, ("slow",))
        client = boto3.client("events", endpoint_url=proxy.url, region_name="us-east-1")
        metrics = Metrics(CollectorRegistry())
        notifier = Notifier(client, bus=BUS, metrics=metrics, clock=SystemClock(), queue_size=1)
        notifier.start()
        notices = [
            InvalidationNotice("E1", f"I{n}", f"r{n}", ("/a",), 1, None, time.time()) for n in range(4)
        ]
        # WHEN four invalidations are created while the first event is still being sent
        notifier.created(notices[:1])
        wait_until(lambda: proxy.count("PutEvents") >= 1, timeout=5, what="first PutEvents")
        started = time.monotonic()
        notifier.created(notices[1:])
        # THEN handing them over did not wait, one is queued and two are dropped (counted)
        assert time.monotonic() - started < 0.5

        def outcome(name: str) -> float:
            value = metrics.registry.get_sample_value(
                "cloudfront_watcher_notifications_total", {"outcome": name}
            )
            return value or 0.0

        assert outcome("dropped") == 2
        proxy.clear_faults()
        wait_until(lambda: outcome("sent") == 2, timeout=20, what="the queued events sent")
        notifier.close(grace=1)


def _outcome(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value("cloudfront_watcher_notifications_total", {"outcome": name})
    return value or 0.0


class _OddEventBridge(FaultProxy):
    """EventBridge whose first PutEvents answer says one entry failed but lists none (odd, not an error)."""

    odd = 1

    def dispatch(self, request: Request) -> Response:
        if request.action.endswith("PutEvents") and self.odd:
            self.odd -= 1
            body = json.dumps({"FailedEntryCount": 1, "Entries": []}).encode()
            return Response(200, (("Content-Type", "application/x-amz-json-1.1"),), body)
        return super().dispatch(request)


def test_an_exception_that_is_not_aws_never_kills_the_notifier_for_good(moto_server: str) -> None:
    # GIVEN a notifier whose first PutEvents gets an answer it cannot read (not an AWS error)
    boto3.client("events", endpoint_url=moto_server, region_name="us-east-1").create_event_bus(Name=BUS)
    with _OddEventBridge(moto_server) as proxy:
        client = boto3.client("events", endpoint_url=proxy.url, region_name="us-east-1")
        metrics = Metrics(CollectorRegistry())
        notifier = Notifier(client, bus=BUS, metrics=metrics, clock=SystemClock(), base_delay=0.05)
        notices = [
            InvalidationNotice("E1", f"I{n}", f"r{n}", ("/a",), 1, None, time.time()) for n in range(3)
        ]
        # WHEN three invalidations are announced, one after the other
        for notice in notices:
            notifier.created([notice])
            time.sleep(0.2)
        # THEN every event is sent in the end: the odd answer was one failed attempt, not a dead thread
        wait_until(lambda: _outcome(metrics, "sent") == 3, timeout=20, what="all three events sent")
        notifier.close(grace=1)


def test_a_hostile_event_time_does_not_drop_the_batch_events(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a watcher publishing events, and a notification whose eventTime is the first instant there is
    stack = make_stack(moto_server)
    _rule_to_queue(moto_server)
    with StrictCloudFront(moto_server) as cloudfront:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        settings = settings_for(
            stack, invalidation={"quiet_period_seconds": 0.3}, notify={"eventbridge_bus": BUS}
        )
        body = s3_body(
            s3_record(bucket=stack.bucket, key="page.html", event_time="0001-01-01T00:00:00+14:00")
        )
        with running_watcher(settings) as watcher:
            # WHEN it is received
            stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
            # THEN the change is invalidated, its message deleted, and its Created event sent
            wait_until(lambda: len(cloudfront.invalidations) == 1, timeout=20, what="the invalidation")
            wait_until(lambda: _outcome(watcher.metrics, "sent") == 1, timeout=20, what="the Created event")
            wait_until(lambda: stack.queue_depth() == 0, timeout=20, what="the message deleted")


def test_a_restarted_daemon_follows_its_own_invalidations_in_progress_and_counts_what_it_gives_up(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN CloudFront holding two invalidations in progress: one a previous run of this daemon made
    # (its CallerReference prefix), one made by people
    stack = make_stack(moto_server)
    sqs, queue_url = _rule_to_queue(moto_server)
    with StrictCloudFront(moto_server, complete_after=1000) as cloudfront:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        client = boto3.client("cloudfront", endpoint_url=cloudfront.url, region_name="us-east-1")
        for reference in ("cfw-0123456789abcdef0123-0123456789abcdef01234567", "people-deploy-1"):
            client.create_invalidation(
                DistributionId=stack.distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": 1, "Items": ["/x.html"]},
                    "CallerReference": reference,
                },
            )
        ours = cloudfront.invalidations[0].id
        settings = settings_for(
            stack,
            invalidation={"quiet_period_seconds": 0.3, "wait_for_completion": True},
            notify={"eventbridge_bus": BUS},
        )
        # WHEN the daemon starts
        with running_watcher(settings) as watcher:
            # AND both complete once it has read them (on its start: listed, then described)
            wait_until(lambda: cloudfront.count("GetInvalidation") >= 2, timeout=30, what="both described")
            cloudfront.complete_all()
            # THEN it follows its own and announces its completion (not people's)
            seen: list[dict[str, Any]] = []
            wait_until(
                lambda: len(_received(sqs, queue_url, seen)) >= 1, timeout=30, what="a Completed event"
            )
            time.sleep(1.5)
            _received(sqs, queue_url, seen)
            assert [(e["detail-type"], e["detail"]["invalidation_id"]) for e in seen] == [
                ("CloudFront Invalidation Completed", ours)
            ]
            # WHEN it stops while one of its own invalidations is still in progress
            stack.deploy({"later.html": "x"})
            wait_until(lambda: len(cloudfront.invalidations) == 3, timeout=20, what="a new invalidation")
            wait_until(lambda: _outcome(watcher.metrics, "sent") == 2, timeout=20, what="its Created event")
        # THEN the Completed event it gives up on is counted as dropped
        assert _outcome(watcher.metrics, "dropped") == 1
