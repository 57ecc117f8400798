"""The site index kept current: a listing racing with uploads, and its size and age as metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable

import boto3
from prometheus_client import CollectorRegistry

from tests.support.aws_wire import Request, Response
from tests.support.clock import FakeClock
from tests.support.fault_proxy import FaultProxy
from watcher.core.config import SiteSettings
from watcher.core.model import Change, ChangeKind
from watcher.ops.metrics import Metrics
from watcher.sources.site_listing import SiteIndexer


class _UploadDuringListing(FaultProxy):
    """S3 whose first ListObjectsV2 answer leaves after `during` ran (an upload and its event)."""

    def __init__(self, upstream: str, during: Callable[[], None]) -> None:
        super().__init__(upstream)
        self._during: Callable[[], None] | None = during

    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        if request.action == "ListObjectsV2" and self._during is not None:
            during, self._during = self._during, None
            during()  # the listing's snapshot is taken; its answer is still on the way
        return response


def _site(bucket: str) -> SiteSettings:
    return SiteSettings(bucket=bucket, distribution_id="E1", prefix="www/")


def test_a_change_observed_during_a_listing_is_applied_again_after_it(moto_server: str) -> None:
    # GIVEN a site of two pages, one to be deleted and one uploaded while the index lists it
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="racing-site")
    for key in ("www/a.html", "www/old.html"):
        s3.put_object(Bucket="racing-site", Key=key, Body=b"x")
    clock = FakeClock()
    indexer: SiteIndexer

    def upload_and_delete() -> None:
        s3.put_object(Bucket="racing-site", Key="www/new.html", Body=b"x")
        s3.delete_object(Bucket="racing-site", Key="www/old.html")
        indexer.observe(Change("racing-site", "www/new.html", ChangeKind.CREATED, identity="m-1#0"))
        indexer.observe(Change("racing-site", "www/old.html", ChangeKind.REMOVED, identity="m-2#0"))

    with _UploadDuringListing(moto_server, upload_and_delete) as proxy:
        client = boto3.client("s3", endpoint_url=proxy.url, region_name="us-east-1")
        indexer = SiteIndexer(
            lambda _bucket: client,
            [_site("racing-site")],
            refresh_seconds=3600,
            clock=clock,
            stop=threading.Event(),
        )
        # WHEN the listing completes (its snapshot has old.html and lacks new.html)
        indexer.refresh()
    # THEN the changes seen meanwhile were applied again: new.html is in, old.html is out
    index = indexer.distribution_index("E1")
    assert "/new.html" in index
    assert "/old.html" not in index
    assert len(index) == 2


def test_each_site_exports_its_index_size_and_age(moto_server: str) -> None:
    # GIVEN a listed site of three pages
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="metered-site")
    for key in ("www/a.html", "www/b.html", "www/c.html"):
        s3.put_object(Bucket="metered-site", Key=key, Body=b"x")
    clock = FakeClock()
    metrics = Metrics(CollectorRegistry())
    site = _site("metered-site")
    indexer = SiteIndexer(
        lambda _bucket: s3,
        [site],
        refresh_seconds=3600,
        clock=clock,
        stop=threading.Event(),
        metrics=metrics,
    )
    indexer.refresh()
    # WHEN 90 s pass and one more page is observed
    clock.advance(90)
    indexer.observe(Change("metered-site", "www/d.html", ChangeKind.CREATED, identity="m-1#0"))
    # THEN the scrape shows 4 objects in an index listed 90 s ago, labelled by the site
    labels = {"site": site.name}
    registry = metrics.registry
    assert registry.get_sample_value("cloudfront_watcher_site_index_objects", labels) == 4
    assert registry.get_sample_value("cloudfront_watcher_site_index_age_seconds", labels) == 90
