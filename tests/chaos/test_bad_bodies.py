"""Whatever lands on the queue: parse_body never raises, rejects with a reason, and the queue keeps moving."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.chaos import chaos_site
from tests.support.s3_events import s3_body, s3_record
from tests.support.site import aws_clients, running_watcher
from tests.support.waiting import wait_until
from watcher.commands.demo.emulator import environment
from watcher.core.events import parse_body

pytestmark = pytest.mark.chaos

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
_wrong = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.lists(st.integers(), max_size=2)
)
# (path into a record, where a wrong type goes)
_FIELDS = (
    ("s3",),
    ("s3", "bucket"),
    ("s3", "object"),
    ("s3", "bucket", "name"),
    ("s3", "object", "key"),
    ("eventName",),
)


def _with_wrong_type(record: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    parent = record
    for name in path[:-1]:
        parent = parent[name]
    parent[path[-1]] = value
    return record


@st.composite
def bad_bodies(draw: st.DrawFn) -> str:
    """Random JSON, truncated JSON, huge bodies, wrong types in Records, foreign event sources."""
    kind = draw(st.sampled_from(["random", "truncated", "huge", "wrong_type", "foreign", "eventbridge"]))
    valid = s3_body(["docs/index.html", "a b.html"], 1)
    if kind == "random":
        return json.dumps(draw(_json))
    if kind == "truncated":
        return valid[: draw(st.integers(0, len(valid) - 1))]
    if kind == "huge":
        return json.dumps({"Records": [s3_record("k" * draw(st.integers(1025, 300_000)), 1)]})
    if kind == "wrong_type":
        path = draw(st.sampled_from(_FIELDS))
        record = _with_wrong_type(s3_record("x.html", 1), path, draw(_wrong))
        return json.dumps({"Records": [record]})
    if kind == "foreign":
        source = draw(st.text(max_size=12).filter(lambda s: s != "aws:s3"))
        return json.dumps({"Records": [{**s3_record("x.html", 1), "eventSource": source}]})
    source = draw(st.text(max_size=12).filter(lambda s: s != "aws.s3"))
    return json.dumps({"source": source, "detail-type": "Object Created", "detail": {}})


@given(bad_bodies())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parse_body_rejects_every_bad_body_with_a_reason(body: str) -> None:
    result = parse_body(body, message_id="m-1")
    assert result.changes == ()
    if result.ignored and not result.rejected:
        # random JSON may, rarely, spell an SNS control message or a test event: ignored, never a crash
        return
    assert result.rejected
    assert all(isinstance(reason, str) and 0 < len(reason) <= 200 for reason in result.rejected)


def test_a_running_watcher_keeps_the_queue_moving_through_poison(moto_server: str) -> None:
    rng = random.Random(5)
    poison = [
        "{not json",
        json.dumps([1, 2, 3]),
        json.dumps({"Records": "nope"}),
        json.dumps({"Records": [{**s3_record("x.html", 1), "eventSource": "aws:dynamodb"}]}),
        json.dumps({"Records": [_with_wrong_type(s3_record("y.html", 1), ("s3", "object", "key"), 7)]}),
        json.dumps({"Records": [s3_record("k" * 200_000, 1)]}),
        s3_body(["z.html"], 1)[: rng.randrange(10, 100)],
        json.dumps({"source": "aws.ec2", "detail-type": "Object Created", "detail": {}}),
    ]
    with chaos_site(moto_server) as site, environment(site.env):
        raw_sqs = aws_clients(site.endpoint)[1]  # the bodies go straight to moto, as S3's would
        with running_watcher(site.settings(), requests_per_second=20, request_burst=20) as watcher:
            # WHEN poison and a real change share the queue
            for body in poison:
                raw_sqs.send_message(QueueUrl=site.queue_url, MessageBody=body)
            site.publish(["after/the/poison.html"])
            # THEN the real change is covered, the poison deleted (on_poison=delete), each counted as rejected
            wait_until(lambda: not site.uncovered() and site.depth() == 0, timeout=30)
            rejected = watcher.metrics.registry.get_sample_value(
                "cloudfront_watcher_events_total", {"source": "sqs", "outcome": "rejected"}
            )
        assert rejected == len(poison)
