"""Parsing SQS bodies: real S3, SNS and EventBridge samples, odd keys, and garbage.

Samples live in tests/fixtures/events (shaped as AWS documents them); bodies a
test varies are built with tests/support/events.py. LocalStack samples, when
someone drops them into tests/fixtures/localstack, are parsed too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.events import (
    FIXTURES,
    eventbridge_event,
    fixture_body,
    s3_body,
    s3_record,
    sns_envelope,
)
from watcher.core.events import parse_body
from watcher.core.model import ChangeKind


def _keys(body: str) -> list[str]:
    return [change.key for change in parse_body(body, message_id="m-1").changes]


# -- direct S3 notifications ----------------------------------------------------------


def test_a_direct_s3_put_becomes_one_created_change_named_after_the_message() -> None:
    # GIVEN the S3 documentation's sample notification, received as message "m-1"
    body = fixture_body("events/s3_put.json")
    # WHEN it is parsed
    result = parse_body(body, message_id="m-1")
    # THEN one change: the object, created, named "m-1#0", with the event time
    (change,) = result.changes
    assert (change.bucket, change.key, change.kind) == (
        "amzn-s3-demo-bucket",
        "HappyFace.jpg",
        ChangeKind.CREATED,
    )
    assert change.identity == "m-1#0"
    assert change.event_time == datetime(1970, 1, 1, tzinfo=UTC)
    assert change.source == "sqs"
    assert not result.ignored
    assert not result.rejected
    assert not result.poison


def test_several_records_of_every_changing_kind_become_changes_and_tagging_is_ignored() -> None:
    # GIVEN one body with Post, Copy, CompleteMultipartUpload, Delete, DeleteMarkerCreated,
    # LifecycleExpiration and an ObjectTagging record
    body = fixture_body("events/s3_several_records.json")
    # WHEN it is parsed
    result = parse_body(body, message_id="m-7")
    # THEN six changes in record order, each with its own identity, and the tagging record ignored
    assert [(c.key, c.kind) for c in result.changes] == [
        ("uploads/form.html", ChangeKind.CREATED),
        ("docs/index.html", ChangeKind.CREATED),
        ("media/video.mp4", ChangeKind.CREATED),
        ("old/page.html", ChangeKind.REMOVED),
        ("old/versioned.html", ChangeKind.REMOVED),
        ("tmp/preview.html", ChangeKind.REMOVED),
    ]
    assert [c.identity for c in result.changes] == [f"m-7#{i}" for i in range(6)]
    assert result.ignored == ("event ObjectTagging:Put",)
    assert not result.poison


@pytest.mark.parametrize(
    "event_name",
    [
        "ObjectRestore:Completed",
        "ObjectAcl:Put",
        "Replication:OperationFailedReplication",
        "IntelligentTiering",
    ],
)
def test_s3_events_that_change_no_content_are_ignored(event_name: str) -> None:
    result = parse_body(s3_body(s3_record(event_name)), message_id="m")
    assert result.changes == ()
    assert result.ignored == (f"event {event_name}",)
    assert not result.poison


def test_event_names_with_the_s3_prefix_are_understood() -> None:
    # S3 itself omits "s3:" in records, but configurations and other emitters use it
    result = parse_body(s3_body(s3_record("s3:ObjectRemoved:Delete")), message_id="m")
    assert [c.kind for c in result.changes] == [ChangeKind.REMOVED]


def test_the_s3_test_event_is_ignored_not_rejected() -> None:
    result = parse_body(fixture_body("events/s3_test_event.json"), message_id="m")
    assert result.changes == ()
    assert result.ignored == ("s3:TestEvent",)
    assert not result.poison


# -- SNS -------------------------------------------------------------------------------


def test_an_sns_envelope_is_unwrapped() -> None:
    # GIVEN the sample notification delivered through SNS without raw delivery
    result = parse_body(fixture_body("events/sns_notification.json"), message_id="m-2")
    # THEN the inner S3 record becomes the change
    assert [(c.bucket, c.key, c.identity) for c in result.changes] == [
        ("amzn-s3-demo-bucket", "HappyFace.jpg", "m-2#0")
    ]


def test_sns_raw_delivery_is_the_s3_notification_itself() -> None:
    # Raw delivery hands SQS the S3 document unchanged: the direct sample is that body
    assert _keys(fixture_body("events/s3_put.json")) == ["HappyFace.jpg"]


def test_an_s3_test_event_inside_sns_is_ignored() -> None:
    result = parse_body(sns_envelope(fixture_body("events/s3_test_event.json")), message_id="m")
    assert result.ignored == ("s3:TestEvent",)
    assert not result.poison


def test_an_sns_subscription_confirmation_is_ignored() -> None:
    result = parse_body(fixture_body("events/sns_subscription_confirmation.json"), message_id="m")
    assert result.changes == ()
    assert result.ignored == ("SNS SubscriptionConfirmation",)
    assert not result.poison


def test_an_sns_envelope_holding_something_else_is_rejected() -> None:
    result = parse_body(fixture_body("events/sns_foreign_cloudwatch_alarm.json"), message_id="m")
    assert result.changes == ()
    assert result.poison
    assert "not an S3 notification" in result.rejected[0]


def test_an_sns_envelope_inside_an_sns_envelope_is_rejected() -> None:
    inner = sns_envelope(s3_body(s3_record()))
    result = parse_body(sns_envelope(inner), message_id="m")
    assert result.poison
    assert "inside an SNS envelope" in result.rejected[0]


def test_an_sns_message_that_is_not_json_is_rejected() -> None:
    result = parse_body(sns_envelope("hello"), message_id="m")
    assert result.poison
    assert "SNS Message is not JSON" in result.rejected[0]


# -- EventBridge -------------------------------------------------------------------------


def test_eventbridge_object_created_and_deleted_are_changes() -> None:
    created = parse_body(fixture_body("events/eventbridge_object_created.json"), message_id="e-1")
    deleted = parse_body(fixture_body("events/eventbridge_object_deleted.json"), message_id="e-2")
    assert [(c.bucket, c.key, c.kind, c.identity) for c in created.changes + deleted.changes] == [
        ("amzn-s3-demo-bucket1", "example-key", ChangeKind.CREATED, "e-1#0"),
        ("amzn-s3-demo-bucket1", "example-key", ChangeKind.REMOVED, "e-2#0"),
    ]
    assert created.changes[0].event_time == datetime(2021, 11, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "detail_type", ["Object Tags Added", "Object Restore Completed", "Object ACL Updated"]
)
def test_other_eventbridge_s3_detail_types_are_ignored(detail_type: str) -> None:
    result = parse_body(eventbridge_event(detail_type), message_id="m")
    assert result.changes == ()
    assert result.ignored == (f"EventBridge {detail_type}",)
    assert not result.poison


def test_the_tags_added_sample_is_ignored() -> None:
    result = parse_body(fixture_body("events/eventbridge_object_tags_added.json"), message_id="m")
    assert result.ignored == ("EventBridge Object Tags Added",)


# -- versions (versioned buckets) ------------------------------------------------------------


def test_a_record_of_a_versioned_bucket_carries_its_version_id_into_the_change() -> None:
    # GIVEN an ObjectCreated record as S3 writes it in a versioned bucket
    body = s3_body(s3_record(key="a.html", version_id="3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"))
    # WHEN it is parsed
    (change,) = parse_body(body, message_id="m").changes
    # THEN the change names that version, for the content check
    assert change.version_id == "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"


def test_a_record_without_a_version_or_of_the_null_version_has_none() -> None:
    # GIVEN records of an unversioned bucket (no versionId) and of a suspended one ("null")
    body = s3_body(s3_record(key="a.html"), s3_record(key="b.html", version_id="null"))
    # WHEN parsed, THEN neither names a version: nothing to compare with, always a change
    assert [c.version_id for c in parse_body(body, message_id="m").changes] == [None, None]


def test_an_eventbridge_event_carries_its_version_id() -> None:
    body = eventbridge_event(version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e")
    (change,) = parse_body(body, message_id="m").changes
    assert change.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"


def test_a_lifecycle_expiration_of_a_noncurrent_version_is_not_a_change() -> None:
    # GIVEN a lifecycle rule permanently deleting one (noncurrent) version of a.html
    body = s3_body(s3_record("LifecycleExpiration:Delete", key="a.html", version_id="v1"))
    # WHEN parsed
    result = parse_body(body, message_id="m")
    # THEN nothing served changed: ignored, with the reason, not rejected
    assert result.changes == ()
    assert result.ignored == ("noncurrent version expired by lifecycle: a.html",)
    assert not result.poison


def test_eventbridge_lifecycle_permanent_deletion_of_a_version_is_not_a_change() -> None:
    body = eventbridge_event(
        "Object Deleted",
        version_id="v1",
        reason="Lifecycle Expiration",
        deletion_type="Permanently Deleted",
    )
    result = parse_body(body, message_id="m")
    assert result.changes == ()
    assert result.ignored == ("noncurrent version expired by lifecycle: index.html",)


@pytest.mark.parametrize(
    ("event_name", "version_id"),
    [
        ("LifecycleExpiration:DeleteMarkerCreated", "dm1"),  # the current version now 404s
        ("LifecycleExpiration:Delete", None),  # unversioned: the object itself is gone
        ("ObjectRemoved:Delete", "v1"),  # a user deleting a version: may be a rollback
        ("ObjectRemoved:DeleteMarkerCreated", "dm1"),
    ],
)
def test_removals_that_may_change_what_is_served_stay_changes(
    event_name: str, version_id: str | None
) -> None:
    body = s3_body(s3_record(event_name, key="a.html", version_id=version_id))
    (change,) = parse_body(body, message_id="m").changes
    assert change.kind == ChangeKind.REMOVED


def test_eventbridge_delete_marker_from_lifecycle_stays_a_change() -> None:
    body = eventbridge_event(
        "Object Deleted",
        version_id="dm1",
        reason="Lifecycle Expiration",
        deletion_type="Delete Marker Created",
    )
    assert [c.kind for c in parse_body(body, message_id="m").changes] == [ChangeKind.REMOVED]


# -- foreign sources -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("events/eventbridge_foreign_ec2.json", "foreign EventBridge source 'aws.ec2'"),
        ("events/foreign_dynamodb_stream.json", "foreign event source 'aws:dynamodb'"),
    ],
)
def test_events_from_other_services_are_rejected_with_the_reason(fixture: str, reason: str) -> None:
    result = parse_body(fixture_body(fixture), message_id="m")
    assert result.changes == ()
    assert result.poison
    assert reason in result.rejected[0]


def test_one_foreign_record_does_not_sink_its_neighbours() -> None:
    # GIVEN a body with a good record, a foreign one and another good one
    body = s3_body(s3_record(key="a.html"), s3_record(source="aws:sqs"), s3_record(key="b.html"))
    # WHEN parsed
    result = parse_body(body, message_id="m")
    # THEN both good records are changes (keeping their record index) and the foreign one is rejected
    assert [(c.key, c.identity) for c in result.changes] == [("a.html", "m#0"), ("b.html", "m#2")]
    assert result.rejected == ("record 1: foreign event source 'aws:sqs'",)


# -- keys as S3 encodes them ---------------------------------------------------------------


def test_keys_are_decoded_the_way_s3_encodes_them() -> None:
    # GIVEN S3's form-URL-encoding: space as '+', '+' as %2B; moto's %2F for '/'; %20; UTF-8
    body = fixture_body("events/s3_encoded_keys.json")
    # THEN the keys come out as stored in S3
    assert _keys(body) == [
        "docs/red flower.jpg",
        "pkg/c++-1.0.tar.gz",
        "blog/2026/post.html",
        "my file.html",
        "café/日本.html",
        "100% done?.html",
    ]


@pytest.mark.parametrize(
    "key",
    ["a b+c.html", "docs/100%.html", "ünïcødé/ß.html", "q?x=1&y=2#frag", "tilde~/[x]{y}.html", "a%2Fb"],
)
def test_any_key_survives_the_round_trip_through_s3_encoding(key: str) -> None:
    assert _keys(s3_body(s3_record(key=key))) == [key]


def test_a_key_that_is_not_utf8_once_decoded_is_rejected() -> None:
    result = parse_body(s3_body(s3_record(encoded_key="bad%FF.html")), message_id="m")
    assert result.changes == ()
    assert "not valid UTF-8" in result.rejected[0]


def test_a_key_longer_than_s3_allows_is_rejected() -> None:
    result = parse_body(s3_body(s3_record(key="k" * 1025)), message_id="m")
    assert "1,024 bytes" in result.rejected[0]


# -- malformed bodies ----------------------------------------------------------------------

_GOOD = s3_body(s3_record())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_GOOD[: len(_GOOD) // 2], "body is not JSON"),
        ("", "body is not JSON"),
        ("[1, 2]", "body is a JSON list"),
        ('"Records"', "body is a JSON str"),
        ('{"Records": []}', "Records is empty"),
        ('{"Records": {"eventName": "ObjectCreated:Put"}}', "Records is not a list"),
        ('{"hello": "world"}', "not an S3 notification, SNS envelope or EventBridge event"),
        ("[" * 100_000 + "]" * 100_000, ""),
    ],
)
def test_malformed_bodies_are_rejected_with_a_reason_never_raised(body: str, reason: str) -> None:
    result = parse_body(body, message_id="m")
    assert result.changes == ()
    assert result.poison
    assert reason in result.rejected[0]
    assert len(result.rejected[0]) <= 200


def _mutated(**changes: object) -> str:
    record = s3_record()
    for path, value in changes.items():
        target = record
        *parents, last = path.split("__")
        for parent in parents:
            target = target[parent]
        target[last] = value
    return s3_body(record)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (s3_body("not a record"), "record 0: record is not an object"),  # type: ignore[arg-type]
        (_mutated(eventName=42), "eventName is missing or not a string"),
        (_mutated(s3=None), "s3 is missing or not an object"),
        (_mutated(s3__bucket__name=["b"]), "name is missing or not a string"),
        (_mutated(s3__object__key=""), "key is missing or not a string"),
        (_mutated(s3__object={"size": 1}), "key is missing or not a string"),
        (
            json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": "x"}),
            "detail is missing",
        ),
    ],
)
def test_records_of_the_wrong_shape_are_rejected(body: str, reason: str) -> None:
    result = parse_body(body, message_id="m")
    assert result.changes == ()
    assert reason in result.rejected[0]


def test_an_unparseable_event_time_leaves_the_time_unknown() -> None:
    (change,) = parse_body(s3_body(s3_record(event_time="yesterday")), message_id="m").changes
    assert change.event_time is None


# -- LocalStack samples (another engineer's fixtures, when present) -------------------------

_LOCALSTACK = sorted((FIXTURES / "localstack").glob("*.json")) if (FIXTURES / "localstack").is_dir() else []


@pytest.mark.skipif(not _LOCALSTACK, reason="no LocalStack sample bodies in tests/fixtures/localstack")
@pytest.mark.parametrize("path", _LOCALSTACK, ids=[p.name for p in _LOCALSTACK])
def test_localstack_sample_bodies_parse_without_rejection(path: object) -> None:
    body = path.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    result = parse_body(body, message_id="ls")
    assert not result.poison, result.rejected
    assert result.changes or result.ignored


# -- any body, however odd: a rejection, never an exception --------------------------------


@pytest.mark.parametrize(
    "record",
    [
        s3_record(encoded_key="bad\ud800.html"),
        s3_record(bucket="bucket\udfff"),
        s3_record(event_name="ObjectCreated:\ud83d"),
    ],
    ids=["key", "bucket", "event-name"],
)
def test_a_lone_surrogate_in_a_record_rejects_that_record_not_the_body(record: dict[str, object]) -> None:
    # GIVEN valid JSON whose record holds a lone surrogate (JSON's "\ud800" escape), next to a good record
    body = s3_body(record, s3_record(key="good.html"))
    # WHEN parsed
    result = parse_body(body, message_id="m")
    # THEN the odd record is rejected with a reason, and the good one is still a change
    assert [c.key for c in result.changes] == ["good.html"]
    assert result.poison
    assert "record 0:" in result.rejected[0]
    # AND every reason can be written to a UTF-8 log
    for reason in result.rejected + result.ignored:
        reason.encode("utf-8")


def test_a_lone_surrogate_in_an_eventbridge_key_or_detail_type_is_rejected_or_ignored_safely() -> None:
    result = parse_body(eventbridge_event(key="x\udc80.html"), message_id="m")
    assert result.changes == ()
    assert result.poison
    ignored = parse_body(eventbridge_event(detail_type="Object \ud800"), message_id="m")
    assert ignored.changes == ()
    for reason in ignored.rejected + ignored.ignored:
        reason.encode("utf-8")


# Any code point, lone surrogates included (hypothesis leaves them out unless asked).
_SURROGATE = st.characters(categories=["Cs"])
_ANY_TEXT = st.text(max_size=30) | st.builds(
    lambda head, odd, tail: head + odd + tail, st.text(max_size=10), _SURROGATE, st.text(max_size=10)
)
_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_ANY_TEXT, inner, max_size=4),
    max_leaves=25,
)


@st.composite
def _odd_bodies(draw: st.DrawFn) -> str:
    """Arbitrary JSON, alone or spliced into the places a real notification has strings and tables."""
    value = draw(_ANY_JSON)
    where = draw(st.sampled_from(["alone", "records", "record", "key", "bucket", "sns", "eventbridge"]))
    record = s3_record()
    if where == "records":
        document: object = {"Records": value}
    elif where == "record":
        document = {"Records": [s3_record(), value]}
    elif where in ("key", "bucket"):
        value = draw(_ANY_TEXT | st.just(value))
        record["s3"]["object" if where == "key" else "bucket"]["key" if where == "key" else "name"] = value
        document = {"Records": [record]}
    elif where == "sns":
        document = json.loads(sns_envelope(json.dumps(value)))
    elif where == "eventbridge":
        document = json.loads(eventbridge_event())
        document["detail"] = value  # type: ignore[index]
    else:
        document = value
    return json.dumps(document, allow_nan=True)


@pytest.mark.property
@given(_odd_bodies())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_no_json_body_however_odd_raises_out_of_the_parser(body: str) -> None:
    # GIVEN any JSON body (surrogates, NaN, wrong types anywhere)
    # WHEN parsed THEN a result, never an exception
    result = parse_body(body, message_id="m")
    # AND every change and every reason is text a UTF-8 log and CloudFront can take
    for change in result.changes:
        change.key.encode("utf-8")
        change.bucket.encode("utf-8")
    for reason in result.rejected + result.ignored:
        reason.encode("utf-8")


@pytest.mark.parametrize("event_time", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_event_time_off_the_utc_calendar_leaves_the_time_unknown(event_time: str) -> None:
    # GIVEN an eventTime that is valid ISO 8601 but outside years 1..9999 once in UTC
    (change,) = parse_body(s3_body(s3_record(event_time=event_time)), message_id="m").changes
    # THEN the change stands, its time unknown (lag metrics and event details could not use it)
    assert change.event_time is None
