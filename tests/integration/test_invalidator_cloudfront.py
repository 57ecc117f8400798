"""The invalidator against a strict CloudFront in front of moto, on a fake clock.

Backoff sleeps advance the fake clock, which is also the stand-in's clock, so
"wait until the invalidations in progress complete" takes no real time.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from prometheus_client import CollectorRegistry

from tests.support.clock import FakeClock
from tests.support.scripted_cloudfront import ScriptedCloudFront, is_create_invalidation
from watcher.cloudfront.inprogress import InProgress
from watcher.cloudfront.invalidator import FlushResult, Invalidator
from watcher.cloudfront.ratelimit import RateLimiter
from watcher.commands.demo.emulator import create_distribution
from watcher.core.batching import Batch
from watcher.core.model import Change, ChangeKind
from watcher.core.site_index import DistributionIndex, SiteIndex
from watcher.core.strategy import Strategy
from watcher.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=5)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cloudfront(moto_server: str, clock: FakeClock) -> Iterator[ScriptedCloudFront]:
    """Invalidations stay InProgress for 30 s of fake time."""
    with ScriptedCloudFront(moto_server, complete_after=30, clock=clock.monotonic) as proxy:
        yield proxy


@pytest.fixture
def client(cloudfront: ScriptedCloudFront) -> CloudFrontClient:
    return boto3.client("cloudfront", endpoint_url=cloudfront.url, region_name="us-east-1", config=NO_RETRIES)


@pytest.fixture
def distribution(client: CloudFrontClient) -> str:
    return create_distribution(client, f"bucket-{random.getrandbits(32):x}")


def _invalidator(
    client: CloudFrontClient, clock: FakeClock, *, max_paths: int = 100, max_wildcards: int = 13
) -> tuple[Invalidator, Metrics]:
    metrics = Metrics(CollectorRegistry())
    invalidator = Invalidator(
        client,
        clock=clock,
        metrics=metrics,
        limiter=RateLimiter(rate=100, burst=100, clock=clock),
        in_progress=InProgress(client, clock=clock, metrics=metrics),
        max_paths_per_request=max_paths,
        max_wildcards_in_progress=max_wildcards,
        rng=random.Random(7),
    )
    return invalidator, metrics


def _batch(distribution_id: str, keys: list[str], *, message: str = "msg") -> Batch:
    entries = tuple(
        (Change("site-bucket", key, ChangeKind.CREATED, identity=f"{message}-{i}#0"), ("/" + key,))
        for i, key in enumerate(keys)
    )
    return Batch(distribution_id=distribution_id, entries=entries, first_seen=0.0)


def _flush(invalidator: Invalidator, batch: Batch) -> FlushResult:
    return invalidator.flush(batch, abort=threading.Event())


def _retries(metrics: Metrics) -> dict[str, float]:
    return {
        sample.labels["reason"]: sample.value
        for family in metrics.registry.collect()
        if family.name == "cloudfront_watcher_retries"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


KEYS = [f"page{i}.html" for i in range(8)]


# -- idempotency ------------------------------------------


def test_the_same_batch_retried_even_after_a_restart_makes_one_invalidation(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN a batch flushed once
    first = _flush(_invalidator(client, clock)[0], _batch(distribution, KEYS))
    # WHEN a restarted process (a new invalidator) flushes the same messages again
    again = _flush(_invalidator(client, clock)[0], _batch(distribution, KEYS))
    # THEN CloudFront got two calls with one CallerReference, and holds one invalidation
    assert first.outcome == again.outcome == "created"
    assert first.invalidation_ids == again.invalidation_ids
    assert cloudfront.create_calls == 2
    assert len(cloudfront.invalidations) == 1
    # AND a later deploy of the same files (new messages) is a new invalidation
    later = _flush(_invalidator(client, clock)[0], _batch(distribution, KEYS, message="next"))
    assert later.invalidation_ids != first.invalidation_ids
    assert len(cloudfront.invalidations) == 2


def test_with_tight_quotas_a_retry_after_a_restart_gets_the_same_caller_reference(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN people hold 12 wildcards in progress, so a wide batch gets the last one we may use
    _people_hold_wildcards(client, distribution, 12)
    first = _flush(_invalidator(client, clock, max_paths=10)[0], _wide_batch(distribution))
    assert first.outcome == "created"
    made = len(cloudfront.invalidations)
    # WHEN a restarted process flushes the same messages again, with the first attempt still in
    # progress (it now holds that last wildcard)
    again = _flush(_invalidator(client, clock, max_paths=10)[0], _wide_batch(distribution))
    # THEN it recognised its own invalidation: the same plan and CallerReference, no new invalidation
    assert again.outcome == "created"
    assert again.invalidation_ids == first.invalidation_ids
    assert len(cloudfront.invalidations) == made
    assert cloudfront.refusals == []


def test_a_restarted_process_that_would_plan_otherwise_resends_its_own_invalidation_in_progress(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN a wide batch flushed as six directory wildcards (a path budget of 10), still in progress
    first = _flush(_invalidator(client, clock, max_paths=10)[0], _wide_batch(distribution))
    assert first.outcome == "created"
    made = len(cloudfront.invalidations)
    # WHEN a restarted process whose planner would answer otherwise (a new path budget here; a
    # planner stopped by its deadline, or a site index listed anew, does the same) flushes the
    # same messages again before their delete
    again = _flush(_invalidator(client, clock, max_paths=100)[0], _wide_batch(distribution))
    # THEN it recognised its own invalidation in progress by the batch's CallerReference prefix
    # and sent exactly what the first attempt sent: CloudFront answered with that invalidation
    assert again.outcome == "created"
    assert again.invalidation_ids == first.invalidation_ids
    assert len(again.covered) == 60
    assert len(cloudfront.invalidations) == made
    assert cloudfront.refusals == []


def test_no_create_invalidation_starts_that_could_not_finish_before_the_drain_deadline(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN a flush whose first call fails (503) and that retries with backoff
    cloudfront.inject("503", 100, match=is_create_invalidation)
    invalidator, _metrics = _invalidator(client, clock)
    drain: list[float] = []

    def deadline() -> float | None:
        if cloudfront.create_calls >= 1 and not drain:
            # WHEN shutdown begins during the backoff: the drain ends in 5 s, less than one
            # call may take (the CloudFront call budget, 10 s)
            drain.append(clock.monotonic() + 5.0)
        return drain[0] if drain else None

    result = invalidator.flush(_batch(distribution, KEYS), abort=threading.Event(), deadline=deadline)
    # THEN no second CreateInvalidation was started: it could have been accepted after the
    # messages were released (a duplicate); the changes fail, to be released at once
    assert cloudfront.create_calls == 1
    assert result.outcome == "failed"
    assert "deadline" in result.reason


def test_a_lost_response_is_retried_without_a_duplicate(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN CloudFront applies the first CreateInvalidation but the answer is lost
    cloudfront.inject("lost_response", 1, match=is_create_invalidation)
    invalidator, metrics = _invalidator(client, clock)
    # WHEN the batch is flushed
    result = _flush(invalidator, _batch(distribution, KEYS))
    # THEN the retry got the invalidation the lost call created: one invalidation, every change covered
    assert result.outcome == "created"
    assert len(result.covered) == len(KEYS)
    assert cloudfront.create_calls == 2
    (invalidation,) = cloudfront.invalidations
    assert result.invalidation_ids == (invalidation.id,)
    assert len(clock.sleeps) == 1
    assert sum(_retries(metrics).values()) == 1


# -- transient errors ------------------------------------------


@pytest.mark.parametrize("fault", ["503", "throttle", "TooManyInvalidationsInProgress"])
def test_transient_errors_are_retried_with_backoff(
    fault: str, cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN CloudFront refuses the first three calls
    if fault == "TooManyInvalidationsInProgress":
        cloudfront.answer_next(fault, 3)
    else:
        cloudfront.inject(fault, 3, match=is_create_invalidation)
    invalidator, metrics = _invalidator(client, clock)
    # WHEN the batch is flushed
    result = _flush(invalidator, _batch(distribution, KEYS))
    # THEN it is created on the fourth call, after three jittered waits within the backoff ceilings
    assert result.outcome == "created"
    assert cloudfront.create_calls == 4
    assert len(cloudfront.invalidations) == 1
    base = 5.0 if fault == "TooManyInvalidationsInProgress" else 1.0
    assert len(clock.sleeps) == 3
    for attempt, slept in enumerate(clock.sleeps):
        assert 0.5 <= slept <= base * 2**attempt
    assert sum(_retries(metrics).values()) == 3


def test_file_paths_in_progress_count_and_a_full_distribution_makes_the_batch_wait(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN people filled the distribution's 3,000 file paths in progress (done in 30 s of fake time)
    people = [f"/people/{i}.html" for i in range(3000)]
    client.create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={"Paths": {"Quantity": 3000, "Items": people}, "CallerReference": "people"},
    )
    invalidator = _invalidator(client, clock)[0]
    # WHEN our batch is flushed
    result = _flush(invalidator, _batch(distribution, KEYS))
    # THEN nothing is sent (CloudFront would refuse it): the changes wait to come back later
    assert cloudfront.create_calls == 1
    assert cloudfront.refusals == []
    assert len(result.failed) == len(KEYS)
    assert result.retry_in > 0
    # AND once the people's invalidation completed, the same batch goes out
    clock.advance(31)
    again = _flush(invalidator, _batch(distribution, KEYS))
    assert again.outcome == "created"
    assert len(cloudfront.invalidations) == 2


# -- permanent errors ------------------------------------------


def test_no_such_distribution_fails_at_once(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock
) -> None:
    result = _flush(_invalidator(client, clock)[0], _batch("ENOSUCHDIST", KEYS))
    assert result.outcome == "failed"
    assert len(result.failed) == len(KEYS)
    assert "NoSuchDistribution" in result.reason
    assert cloudfront.create_calls == 1
    assert clock.sleeps == []


def test_access_denied_fails_at_once(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    cloudfront.answer_next("AccessDenied")
    result = _flush(_invalidator(client, clock)[0], _batch(distribution, KEYS))
    assert result.outcome == "failed"
    assert result.covered == ()
    assert "AccessDenied" in result.reason
    assert cloudfront.create_calls == 1
    assert clock.sleeps == []
    assert cloudfront.invalidations == []


# -- InvalidArgument: isolate the one bad path ------------------------------------------


def test_invalid_argument_on_one_path_is_isolated_and_the_rest_covered(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN CloudFront rejects one path of an 8-change batch
    cloudfront.rejected_paths = {"/page5.html"}
    # WHEN the batch is flushed
    result = _flush(_invalidator(client, clock)[0], _batch(distribution, KEYS))
    # THEN the seven other changes are covered; only the odd one fails (it goes to the DLQ alone)
    assert [c.key for c in result.failed] == ["page5.html"]
    assert sorted(c.key for c in result.covered) == sorted(k for k in KEYS if k != "page5.html")
    for key in KEYS:
        assert cloudfront.covered(distribution, "/" + key) is (key != "page5.html")
    # AND bisection needed few calls: log2(8) levels, one invalidation per good half
    assert len(cloudfront.invalidations) == 3
    assert cloudfront.create_calls == 7
    assert clock.sleeps == []


def test_a_wildcard_cloudfront_rejects_is_not_planned_again(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN a balanced strategy over a site of 50 pages and 6 sections of 10 pages, all of
    # which changed (cheapest cover: "/section*"), and CloudFront rejects that wildcard
    batch = _wide_batch(distribution)
    pages = [f"/about{i}.html" for i in range(50)]
    index = DistributionIndex([SiteIndex([*pages, *("/" + change.key for change in batch.changes)])])
    metrics = Metrics(CollectorRegistry())
    invalidator = Invalidator(
        client,
        clock=clock,
        metrics=metrics,
        limiter=RateLimiter(rate=100, burst=100, clock=clock),
        in_progress=InProgress(client, clock=clock, metrics=metrics),
        max_paths_per_request=10,
        max_wildcards_in_progress=13,
        strategies={distribution: Strategy("balanced", 1.0, index)},
    )
    cloudfront.rejected_paths = {"/section*"}
    # WHEN the batch is flushed: its changes fail with the rejected wildcard
    first = _flush(invalidator, batch)
    assert len(first.failed) == 60
    # AND flushed again (its changes came back)
    second = _flush(invalidator, _batch(distribution, [c.key for c in first.failed], message="again"))
    # THEN the rejected wildcard is not planned again: another cover is accepted
    assert second.outcome == "created"
    assert len(second.covered) == 60
    assert all("/section*" not in i.paths for i in cloudfront.invalidations)


# -- wildcard budget from ListInvalidations ------------------------------------------


def _wide_batch(distribution_id: str) -> Batch:
    keys = [f"section{d}/page{i}.html" for d in range(6) for i in range(10)]
    return _batch(distribution_id, keys)


def test_without_people_the_plan_uses_specific_wildcards(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    result = _flush(_invalidator(client, clock, max_paths=10)[0], _wide_batch(distribution))
    assert result.outcome == "created"
    (invalidation,) = cloudfront.invalidations
    assert sorted(invalidation.paths) == [f"/section{d}/*" for d in range(6)]


def test_with_12_wildcards_in_progress_from_people_the_plan_uses_at_most_one(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN people have 12 wildcard invalidations in progress (13 may be ours to use in all)
    for i in range(12):
        client.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": [f"/people{i}/*"]},
                "CallerReference": f"p{i}",
            },
        )
    # WHEN a batch too big for the path budget is flushed
    result = _flush(_invalidator(client, clock, max_paths=10)[0], _wide_batch(distribution))
    # THEN the plan used at most one wildcard, CloudFront accepted it, and every change is covered
    assert result.outcome == "created"
    ours = cloudfront.invalidations[-1]
    assert sum(path.endswith("*") for path in ours.paths) <= 1
    assert len(result.covered) == 60
    assert cloudfront.refusals == []


def _people_hold_wildcards(client: CloudFrontClient, distribution: str, count: int) -> None:
    for i in range(count):
        client.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": [f"/people{i}/*"]},
                "CallerReference": f"people-{i}",
            },
        )


def test_with_no_free_wildcard_a_big_deploy_goes_out_in_requests_within_the_budget(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN people hold all 13 wildcards we may use
    _people_hold_wildcards(client, distribution, 13)
    # WHEN a 2,500-file deploy is flushed with a budget of 100 paths a request
    keys = [f"assets/a{i}.js" for i in range(2500)]
    result = _flush(_invalidator(client, clock, max_paths=100)[0], _batch(distribution, keys))
    # THEN 25 requests of at most 100 exact paths, every change covered, nothing refused
    ours = cloudfront.invalidations[13:]
    assert len(ours) == 25
    assert all(len(invalidation.paths) <= 100 for invalidation in ours)
    assert not any(path.endswith("*") for invalidation in ours for path in invalidation.paths)
    assert result.outcome == "created"
    assert len(result.covered) == 2500
    assert cloudfront.refusals == []


def test_with_no_free_wildcard_a_key_holding_a_star_waits_instead_of_a_14th_wildcard(
    cloudfront: ScriptedCloudFront, client: CloudFrontClient, clock: FakeClock, distribution: str
) -> None:
    # GIVEN people hold all 13 wildcards we may use
    _people_hold_wildcards(client, distribution, 13)
    # WHEN a deploy with a key holding '*' is flushed
    batch = Batch(
        distribution_id=distribution,
        entries=(
            (Change("b", "page.html", ChangeKind.CREATED, identity="m-0#0"), ("/page.html",)),
            (Change("b", "odd*name", ChangeKind.CREATED, identity="m-1#0"), ("/odd*",)),
        ),
        first_seen=0.0,
    )
    result = _flush(_invalidator(client, clock)[0], batch)
    # THEN the page is invalidated; the starred key waits (it comes back once a wildcard frees up)
    assert [c.key for c in result.covered] == ["page.html"]
    assert [c.key for c in result.failed] == ["odd*name"]
    assert result.retry_in > 0
    assert all("*" not in path for path in cloudfront.invalidations[-1].paths)
    assert cloudfront.refusals == []
