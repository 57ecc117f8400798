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


FUZZ_BODIES = 10_000


def _random_text(rng: random.Random) -> str:
    """Text of any size and kind: ASCII, any code point, lone surrogates, S3-encoded escapes."""
    size = rng.choice([0, 1, 5, 30, 300, 3000])
    kind = rng.randrange(4)
    if kind == 0:
        return "".join(chr(rng.randrange(32, 127)) for _ in range(size))
    if kind == 1:
        return "".join(chr(rng.randrange(0x110000)) for _ in range(size))  # surrogates included
    if kind == 2:
        return "".join(
            rng.choice(["%FF", "%ED%A0%80", "+", "%2F", "\ud800", "\udfff", "a"]) for _ in range(size)
        )
    return "x" * size + chr(rng.randrange(0xD800, 0xE000))


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 6 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False, 0, -1, 2**64, 1e308, -0.0, float("nan"), float("inf")])
    if kind in (2, 3, 4):
        return _random_text(rng)
    if kind == 5:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_random_text(rng)[:20]: _random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def _random_body(rng: random.Random) -> str:
    """Arbitrary JSON, alone or spliced into every place a real notification has a value."""
    value = _random_json(rng)
    record = s3_record("x.html", 1)
    where = rng.randrange(9)
    if where == 0:
        return json.dumps(value)
    if where == 1:
        return json.dumps({"Records": [record, value] * rng.choice([1, 50])})
    if where == 2:
        record["s3"]["object"]["key"] = value
    elif where == 3:
        record["s3"]["bucket"]["name"] = value
    elif where == 4:
        record["eventName"] = value
    elif where == 5:
        record["eventTime"] = value
    elif where == 6:
        inner = json.dumps({"Records": [record]})
        return json.dumps({"Type": "Notification", "Message": rng.choice([inner, json.dumps(value)])})
    elif where == 7:
        return json.dumps(
            {"source": "aws.s3", "detail-type": "Object Created", "detail": value, "time": value}
        )
    else:
        text = json.dumps({"Records": [record]})
        return text[: rng.randrange(len(text))]
    return json.dumps({"Records": [record]})


def test_ten_thousand_random_bodies_raise_nothing_out_of_the_parser() -> None:
    # GIVEN 10,000 random bodies: arbitrary JSON, any unicode, lone surrogates, small to large
    rng = random.Random(22)
    raised: list[str] = []
    unloggable = 0
    for n in range(FUZZ_BODIES):
        body = _random_body(rng)
        # WHEN each is parsed
        try:
            result = parse_body(body, message_id=f"m-{n}")
        except Exception as exc:  # the test counts them
            raised.append(f"{type(exc).__name__}: {body[:120]!r}")
            continue
        # THEN a result, whose changes and reasons are all valid UTF-8 text
        texts = [*result.rejected, *result.ignored, *(c.key for c in result.changes)]
        unloggable += sum(1 for text in texts if not _is_utf8(text))
    assert (len(raised), unloggable) == (0, 0), f"{len(raised)} of {FUZZ_BODIES} raised: {raised[:3]}"


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
