"""The test proxies: FaultProxy's faults as botocore sees them, StrictCloudFront's rules.

Every test talks to moto's server over real HTTP through a proxy on loopback.
Retries are off (``total_max_attempts: 1``: botocore's ``max_attempts`` counts
*retries*) except where a test proves that botocore retries an injected error.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.fault_proxy import FaultProxy, Request

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_sqs import SQSClient

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=5)


def _cloudfront(url: str, config: Config = NO_RETRIES) -> CloudFrontClient:
    return boto3.client("cloudfront", endpoint_url=url, config=config)


def _sqs(url: str, config: Config = NO_RETRIES) -> SQSClient:
    return boto3.client("sqs", endpoint_url=url, config=config)


def _batch(*paths: str, reference: str | None = None) -> Any:
    return {
        "Paths": {"Quantity": len(paths), "Items": list(paths)},
        "CallerReference": reference or uuid.uuid4().hex,
    }


def _invalidate(
    cloudfront: CloudFrontClient, distribution_id: str, *paths: str, reference: str | None = None
) -> Any:
    return cloudfront.create_invalidation(
        DistributionId=distribution_id, InvalidationBatch=_batch(*paths, reference=reference)
    )


def _error(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def strict(moto_server: str) -> Iterator[StrictCloudFront]:
    """A strict CloudFront whose invalidations stay InProgress until completed."""
    with StrictCloudFront(moto_server, complete_after=3600, slow_seconds=1.0) as proxy:
        yield proxy


@pytest.fixture
def cloudfront(strict: StrictCloudFront) -> CloudFrontClient:
    return _cloudfront(strict.url)


@pytest.fixture
def distribution_id(cloudfront: CloudFrontClient) -> str:
    """A distribution created through the proxy (so in moto)."""
    return _distribution(cloudfront)


@pytest.fixture
def fault_proxy(moto_server: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_server, seed=1, slow_seconds=1.0) as proxy:
        yield proxy


# -- StrictCloudFront: the invalidation API ------------------------------------------


def test_create_invalidation_answers_like_cloudfront(
    strict: StrictCloudFront, cloudfront: CloudFrontClient, distribution_id: str
) -> None:
    # WHEN an invalidation is created
    created = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch=_batch("/index.html", "/docs/*", reference="r1"),
    )
    # THEN boto3 parses CloudFront's 201 answer: Location header, Invalidation element
    invalidation = created["Invalidation"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["Location"].endswith(f"/distribution/{distribution_id}/invalidation/{invalidation['Id']}")
    assert invalidation["Status"] == "InProgress"
    assert invalidation["CreateTime"].tzinfo is not None
    assert invalidation["InvalidationBatch"] == _batch("/index.html", "/docs/*", reference="r1")
    # AND the stand-in recorded it, and knows what it covers
    (recorded,) = strict.invalidations
    assert (recorded.id, recorded.paths) == (invalidation["Id"], ("/index.html", "/docs/*"))
    assert strict.covered(distribution_id, "/docs/a/b.html")
    assert strict.covered(distribution_id, "/index.html")
    assert not strict.covered(distribution_id, "/other.html")
    assert strict.count("CreateDistribution") == 1


# One moto server for all cases: a server per case would double the file's run time.
BAD_PATHS = {
    "no leading slash": "index.html",
    "inner star": "/a*b",
    "double star": "/**",
    "too long": "/" + "a" * 4000,
    "non-ASCII": "/caf\u00e9",
    "space": "/a b",
    "control character": "/tab\t",
}


def test_invalid_paths_are_invalid_argument(
    strict: StrictCloudFront, cloudfront: CloudFrontClient, distribution_id: str
) -> None:
    for reason, path in BAD_PATHS.items():
        # WHEN a batch holds one path that breaks CloudFront's rules
        with pytest.raises(ClientError) as raised:
            cloudfront.create_invalidation(
                DistributionId=distribution_id, InvalidationBatch=_batch("/ok.html", path)
            )
        # THEN the whole batch is refused with InvalidArgument
        assert _error(raised) == ("InvalidArgument", 400), reason
    # AND nothing was created
    assert strict.invalidations == []
    assert strict.create_calls == len(BAD_PATHS)


def test_edge_paths_that_cloudfront_accepts(cloudfront: CloudFrontClient, distribution_id: str) -> None:
    # GIVEN the longest allowed path, a trailing wildcard, percent-encoded characters
    paths = ("/" + "a" * 3999, "/*", "/caf%C3%A9/a%20b.html", "/a+b~c")
    # WHEN they are sent THEN they are accepted
    created = cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch=_batch(*paths))
    assert created["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == list(paths)


def test_quantity_must_match_the_paths(cloudfront: CloudFrontClient, distribution_id: str) -> None:
    batch = _batch("/a", "/b")
    batch["Paths"]["Quantity"] = 3
    with pytest.raises(ClientError) as raised:
        cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch=batch)
    assert _error(raised) == ("InconsistentQuantities", 400)


def test_unknown_distribution(cloudfront: CloudFrontClient, distribution_id: str) -> None:
    with pytest.raises(cloudfront.exceptions.NoSuchDistribution) as raised:
        cloudfront.create_invalidation(DistributionId="E0MISSING", InvalidationBatch=_batch("/a"))
    assert _error(raised) == ("NoSuchDistribution", 404)
    with pytest.raises(cloudfront.exceptions.NoSuchInvalidation):
        cloudfront.get_invalidation(DistributionId=distribution_id, Id="INOTTHERE")


def test_wildcard_quota_is_counted_apart_from_file_paths(
    strict: StrictCloudFront, cloudfront: CloudFrontClient, distribution_id: str
) -> None:
    create = cloudfront.create_invalidation
    # GIVEN 15 wildcard paths in progress
    create(DistributionId=distribution_id, InvalidationBatch=_batch(*(f"/w{n}/*" for n in range(14))))
    create(DistributionId=distribution_id, InvalidationBatch=_batch("/last/*"))
    # WHEN one more wildcard is asked THEN TooManyInvalidationsInProgress
    with pytest.raises(cloudfront.exceptions.TooManyInvalidationsInProgress) as raised:
        _invalidate(cloudfront, distribution_id, "/x.html", "/one-more/*")
    assert _error(raised) == ("TooManyInvalidationsInProgress", 400)
    # AND file paths still have their own quota: 3,000 of them go through
    create(DistributionId=distribution_id, InvalidationBatch=_batch(*(f"/f{n}" for n in range(3000))))
    with pytest.raises(cloudfront.exceptions.TooManyInvalidationsInProgress):
        create(DistributionId=distribution_id, InvalidationBatch=_batch("/f-3001"))
    # WHEN the invalidations complete THEN the quota is free again
    strict.complete_all()
    _invalidate(cloudfront, distribution_id, "/f-3001", "/again/*")
    assert len(strict.invalidations) == 4


def test_caller_reference_reuse(
    strict: StrictCloudFront, cloudfront: CloudFrontClient, distribution_id: str
) -> None:
    first = cloudfront.create_invalidation(
        DistributionId=distribution_id, InvalidationBatch=_batch("/a", "/b", reference="deploy-1")
    )
    # WHEN the same reference comes again with the same paths (any order)
    again = cloudfront.create_invalidation(
        DistributionId=distribution_id, InvalidationBatch=_batch("/b", "/a", reference="deploy-1")
    )
    # THEN it is the same invalidation, none new
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert again["Invalidation"]["Id"] == first["Invalidation"]["Id"]
    # WHEN the same reference comes with other paths THEN InvalidationBatchAlreadyExists
    with pytest.raises(ClientError) as raised:
        cloudfront.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch=_batch("/a", "/c", reference="deploy-1"),
        )
    assert _error(raised) == ("InvalidationBatchAlreadyExists", 409)
    assert len(strict.invalidations) == 1
    assert strict.create_calls == 3


def test_in_progress_until_complete_after(moto_server: str) -> None:
    # GIVEN a stand-in on a clock the test moves
    now = [1000.0]
    with StrictCloudFront(moto_server, complete_after=25.0, clock=lambda: now[0]) as strict:
        cloudfront = _cloudfront(strict.url)
        distribution = _distribution(cloudfront)
        created = cloudfront.create_invalidation(DistributionId=distribution, InvalidationBatch=_batch("/a"))[
            "Invalidation"
        ]

        def status() -> str:
            got = cloudfront.get_invalidation(DistributionId=distribution, Id=created["Id"])
            return got["Invalidation"]["Status"]

        # THEN it is InProgress until 25 s have passed, then Completed
        now[0] += 24.9
        assert status() == "InProgress"
        now[0] += 0.1
        assert status() == "Completed"
        assert strict.status(strict.invalidations[0]) == "Completed"


def _distribution(cloudfront: CloudFrontClient) -> str:
    created = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": uuid.uuid4().hex,
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "o",
                        "DomainName": "o.example.com",
                        "CustomOriginConfig": {
                            "HTTPPort": 80,
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "https-only",
                        },
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "o",
                "ViewerProtocolPolicy": "allow-all",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )
    return created["Distribution"]["Id"]


def test_list_invalidations_newest_first_with_paging(
    strict: StrictCloudFront, cloudfront: CloudFrontClient, distribution_id: str
) -> None:
    # GIVEN five invalidations, the oldest two completed
    for n in range(2):
        cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch=_batch(f"/{n}"))
    strict.complete_all()
    for n in range(2, 5):
        cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch=_batch(f"/{n}"))
    newest_first = [i.id for i in reversed(strict.invalidations)]
    # WHEN they are listed two at a time
    seen, statuses, marker, pages = [], [], "", 0
    while True:
        page = cloudfront.list_invalidations(DistributionId=distribution_id, MaxItems="2", Marker=marker)[
            "InvalidationList"
        ]
        pages += 1
        seen += [item["Id"] for item in page.get("Items", [])]
        statuses += [item["Status"] for item in page.get("Items", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    # THEN all come, newest first, each with its status
    assert (seen, pages) == (newest_first, 3)
    assert statuses == ["InProgress"] * 3 + ["Completed"] * 2
    # AND boto3's paginator walks them too
    paginator = cloudfront.get_paginator("list_invalidations")
    ids = [
        item["Id"]
        for page in paginator.paginate(DistributionId=distribution_id, PaginationConfig={"PageSize": 2})
        for item in page["InvalidationList"].get("Items", [])
    ]
    assert ids == newest_first


# -- faults as botocore sees them -------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("503", "ServiceUnavailable", 503),
        ("500", "InternalFailure", 500),
        ("throttle", "Throttling", 400),
    ],
)
def test_cloudfront_error_faults(
    strict: StrictCloudFront, distribution_id: str, kind: str, code: str, status: int
) -> None:
    cloudfront = _cloudfront(strict.url)
    # GIVEN the next CreateInvalidation fails with `kind`
    strict.inject(kind, match=lambda r: r.action == "CreateInvalidation")
    # WHEN the client calls THEN botocore reads CloudFront's error code
    with pytest.raises(ClientError) as raised:
        cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch=_batch("/a"))
    assert _error(raised) == (code, status)
    assert raised.value.response["Error"]["Message"]
    # AND the request never reached the invalidation store
    assert strict.invalidations == []
    assert strict.count("CreateInvalidation", fault=kind) == 1


def test_botocore_retries_injected_throttling(strict: StrictCloudFront, distribution_id: str) -> None:
    # GIVEN botocore's standard retries, and a throttle then a 503 on CreateInvalidation
    cloudfront = _cloudfront(strict.url, Config(retries={"total_max_attempts": 3, "mode": "standard"}))
    strict.inject("throttle", match=lambda r: r.action == "CreateInvalidation")
    strict.inject("503", match=lambda r: r.action == "CreateInvalidation")
    # WHEN the client calls THEN botocore classified both as retryable and the third try won
    created = cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch=_batch("/a"))
    assert created["ResponseMetadata"]["RetryAttempts"] == 2
    assert [r.fault for r in strict.requests if r.action == "CreateInvalidation"] == [
        "throttle",
        "503",
        None,
    ]


def test_lost_response_is_applied_and_a_retry_gets_the_same_invalidation(
    strict: StrictCloudFront, cloudfront: CloudFrontClient, distribution_id: str
) -> None:
    # GIVEN the answer to the next CreateInvalidation is lost
    strict.inject("lost_response", match=lambda r: r.action == "CreateInvalidation")
    # WHEN the client calls THEN it sees the connection close
    with pytest.raises(ConnectionClosedError):
        cloudfront.create_invalidation(
            DistributionId=distribution_id, InvalidationBatch=_batch("/a", reference="ref")
        )
    # BUT the invalidation exists, and the retry with the same reference returns it
    (made,) = strict.invalidations
    retried = cloudfront.create_invalidation(
        DistributionId=distribution_id, InvalidationBatch=_batch("/a", reference="ref")
    )
    assert retried["Invalidation"]["Id"] == made.id
    assert (strict.create_calls, len(strict.invalidations)) == (2, 1)


def test_slow_reset_and_down(strict: StrictCloudFront, distribution_id: str) -> None:
    impatient = _cloudfront(strict.url, NO_RETRIES.merge(Config(read_timeout=0.3)))
    # WHEN the answer is slower than the client's read timeout THEN a read timeout
    strict.inject("slow")
    with pytest.raises(ReadTimeoutError):
        impatient.get_distribution(Id=distribution_id)
    # WHEN the connection is reset THEN the client sees it closed
    strict.inject("reset")
    with pytest.raises(ConnectionClosedError):
        impatient.get_distribution(Id=distribution_id)
    # WHEN the service is down THEN every call fails, until it is up again
    strict.set_down(True)
    for _ in range(2):
        with pytest.raises(ConnectionClosedError):
            impatient.list_invalidations(DistributionId=distribution_id)
    strict.set_down(False)
    impatient.list_invalidations(DistributionId=distribution_id)
    assert [(r.action, r.fault) for r in strict.requests[1:]] == [
        ("GetDistribution", "slow"),
        ("GetDistribution", "reset"),
        ("ListInvalidations", "down"),
        ("ListInvalidations", "down"),
        ("ListInvalidations", None),
    ]


def test_sqs_through_the_fault_proxy(fault_proxy: FaultProxy) -> None:
    # GIVEN a queue with one message, made through the proxy
    sqs = _sqs(fault_proxy.url)
    queue_url = sqs.create_queue(QueueName="changes")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="hello")
    # WHEN the next receive gets a 503 THEN botocore reads SQS's JSON error
    fault_proxy.inject("503", match=lambda r: r.action == "AmazonSQS.ReceiveMessage")
    with pytest.raises(ClientError) as raised:
        sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
    assert _error(raised) == ("ServiceUnavailable", 503)
    # AND a throttle is SQS's modeled RequestThrottled
    fault_proxy.inject("throttle", match=lambda r: r.action.endswith("ReceiveMessage"))
    with pytest.raises(sqs.exceptions.RequestThrottled):
        sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
    # AND the next receive gets the message
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)["Messages"]
    assert [m["Body"] for m in messages] == ["hello"]
    assert fault_proxy.count("AmazonSQS.ReceiveMessage") == 3
    assert fault_proxy.count("ReceiveMessage", fault=None) == 1
    assert fault_proxy.count("SendMessage") == 1


def test_sqs_lost_response_is_applied_upstream(fault_proxy: FaultProxy, moto_server: str) -> None:
    sqs = _sqs(fault_proxy.url)
    queue_url = sqs.create_queue(QueueName="lost")["QueueUrl"]
    # WHEN the answer to a send is lost THEN the client sees a connection error
    fault_proxy.inject("lost_response", match=lambda r: r.action.endswith("SendMessage"))
    with pytest.raises(ConnectionClosedError):
        sqs.send_message(QueueUrl=queue_url, MessageBody="sent once")
    # BUT the message is on the queue (asked of moto directly)
    direct = _sqs(moto_server)
    messages = direct.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)["Messages"]
    assert [m["Body"] for m in messages] == ["sent once"]


def test_fault_rate_is_deterministic_per_seed(moto_server: str) -> None:
    def run(seed: int) -> list[str | None]:
        with FaultProxy(moto_server, seed=seed) as proxy:
            proxy.set_fault_rate(0.5, ["503", "throttle"], match=lambda r: "ListQueues" in r.action)
            sqs = _sqs(proxy.url)
            for _ in range(12):
                with contextlib.suppress(ClientError):
                    sqs.list_queues()
            return [r.fault for r in proxy.requests]

    first = run(seed=7)
    # THEN the same seed gives the same faults, and some of each kind and none
    assert run(seed=7) == first
    assert {"503", "throttle", None} <= set(first)


def test_rest_actions_are_named(fault_proxy: FaultProxy) -> None:
    s3 = boto3.client("s3", endpoint_url=fault_proxy.url, config=NO_RETRIES)
    s3.create_bucket(Bucket="site-bucket")
    s3.put_object(Bucket="site-bucket", Key="docs/index.html", Body=b"<p>hi</p>")
    s3.head_object(Bucket="site-bucket", Key="docs/index.html")
    s3.list_objects_v2(Bucket="site-bucket")
    fault_proxy.inject("throttle", match=lambda r: r.action == "GetObject")
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="site-bucket", Key="docs/index.html")
    assert _error(raised) == ("SlowDown", 503)
    assert [r.action for r in fault_proxy.requests] == [
        "CreateBucket",
        "PutObject",
        "HeadObject",
        "ListObjectsV2",
        "GetObject",
    ]


def test_match_filters_what_a_script_faults(fault_proxy: FaultProxy) -> None:
    sqs = _sqs(fault_proxy.url)

    def is_send(request: Request) -> bool:
        return request.action == "AmazonSQS.SendMessage"

    queue_url = sqs.create_queue(QueueName="q")["QueueUrl"]
    fault_proxy.inject("500", count=2, match=is_send)
    sqs.get_queue_attributes(QueueUrl=queue_url)  # not matching: untouched
    for _ in range(2):
        with pytest.raises(ClientError):
            sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    assert fault_proxy.count("SendMessage", fault="500") == 2


def test_a_hanging_endpoint_accepts_and_never_answers_until_released(moto_server: str) -> None:
    short = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=1)
    with FaultProxy(moto_server) as proxy:
        sqs = _sqs(proxy.url, short)
        # GIVEN a hanging SQS endpoint
        proxy.set_hanging(True)
        # THEN a call times out on reading (the connection was accepted), and nothing reached moto
        with pytest.raises(ReadTimeoutError):
            sqs.create_queue(QueueName="never-made")
        assert proxy.count("CreateQueue", fault="hang") == 1
        assert "never-made" not in str(_sqs(moto_server).list_queues())
        # AND once it stops hanging, calls go through again
        proxy.set_hanging(False)
        assert sqs.create_queue(QueueName="made")["QueueUrl"].endswith("/made")


def test_a_slow_endpoint_answers_after_n_seconds(moto_server: str) -> None:
    with FaultProxy(moto_server) as proxy:
        sqs = _sqs(proxy.url)
        # GIVEN an endpoint answering after 1.5 s
        proxy.set_slow(1.5)
        started = time.monotonic()
        sqs.create_queue(QueueName="slowly-made")
        # THEN the answer came, late
        assert time.monotonic() - started >= 1.4
        proxy.set_slow(None)
        assert proxy.count("CreateQueue", fault=None) == 0
