"""GET /status: per distribution, what is pending, in flight and last invalidated."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.site import make_stack, running_watcher, settings_for
from tests.support.waiting import wait_until


def _status(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/status", timeout=5) as response:  # noqa: S310 - loopback
        assert response.headers["Content-Type"] == "application/json"
        document: dict[str, Any] = json.loads(response.read())
    return document


def test_status_shows_pending_paths_then_the_invalidation_in_flight(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a watcher with a 2 s quiet period, and CloudFront keeping invalidations InProgress for a minute
    stack = make_stack(moto_server)
    with StrictCloudFront(moto_server, complete_after=60) as cloudfront:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.url)
        settings = settings_for(stack, invalidation={"quiet_period_seconds": 2})
        with running_watcher(settings) as watcher:
            assert watcher.http is not None
            url = watcher.http.url
            dist = stack.distribution_id
            before = _status(url)["distributions"][dist]
            assert before == {
                "pending_paths": 0,
                "oldest_pending_seconds": None,
                "in_flight_count": 0,
                "in_flight": [],
                "last_invalidation": None,
                "unchanged_writes": 0,
            }
            # WHEN a deploy lands
            stack.deploy({"index.html": "home"})
            # THEN its paths show as pending, with the age of the oldest change
            wait_until(lambda: _status(url)["distributions"][dist]["pending_paths"] == 2, what="pending")
            pending = _status(url)["distributions"][dist]
            assert pending["oldest_pending_seconds"] >= 0
            # AND after the flush, the invalidation is the last one and in flight
            wait_until(
                lambda: _status(url)["distributions"][dist]["last_invalidation"] is not None,
                timeout=20,
                what="last invalidation",
            )
            after = _status(url)["distributions"][dist]
    [invalidation] = cloudfront.invalidations
    assert after["pending_paths"] == 0
    assert after["last_invalidation"]["id"] == invalidation.id
    assert after["last_invalidation"]["paths"] == 2
    assert after["last_invalidation"]["time"].endswith("Z")
    assert after["in_flight"] == [
        {"id": invalidation.id, "state": "InProgress", "created_time": after["in_flight"][0]["created_time"]}
    ]
    assert after["in_flight_count"] == 1
