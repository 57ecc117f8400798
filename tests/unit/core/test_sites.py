"""Prefixes, site groups and queue URLs: the one copy every command uses."""

from __future__ import annotations

from watcher.core.config import SiteSettings
from watcher.core.sites import (
    QueueAddress,
    is_fifo,
    prefix_free,
    prefixes_by_bucket,
    queue_address,
    queue_name,
    sites_by_bucket,
)


def _site(bucket: str, prefix: str = "", distribution_id: str = "E1") -> SiteSettings:
    return SiteSettings(bucket=bucket, prefix=prefix, distribution_id=distribution_id)


def test_prefix_free_drops_the_covered_ones() -> None:
    assert prefix_free(["blog/", "", "docs/"]) == ("",)
    assert prefix_free(["blog/2026/", "blog/", "docs/"]) == ("blog/", "docs/")
    assert prefix_free(["blog/", "blog-old/", "blog/a/"]) == ("blog-old/", "blog/")


def test_sites_group_by_bucket_in_configuration_order() -> None:
    # GIVEN two buckets, one served by two distributions
    sites = [_site("b", "", "E1"), _site("a"), _site("b", "blog/", "E2")]
    # THEN each bucket keeps its sites in order, and the prefixes that cover them
    assert [s.distribution_id for s in sites_by_bucket(sites)["b"]] == ["E1", "E2"]
    assert prefixes_by_bucket(sites) == {"a": ("",), "b": ("",)}
    assert prefixes_by_bucket([_site("b", "docs/"), _site("b", "blog/")]) == {"b": ("blog/", "docs/")}


def test_queue_urls_name_their_region_account_and_name() -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/site-changes"
    assert queue_address(url) == QueueAddress("eu-west-1", "123456789012")
    assert queue_address("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q") == QueueAddress(
        "cn-north-1", "123456789012"
    )
    assert queue_address("http://127.0.0.1:4566/000000000000/q") is None
    assert queue_name(url) == "site-changes"
    assert queue_name(url + "/") == "site-changes"


def test_fifo_queues_are_known_by_name_or_attribute() -> None:
    assert is_fifo("https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo")
    assert is_fifo(attributes={"FifoQueue": "true"})
    assert not is_fifo("https://sqs.us-east-1.amazonaws.com/123456789012/q", {"FifoQueue": "false"})
