"""Event factories: SQS bodies as S3, SNS and EventBridge deliver them.

Keys are passed as stored in S3; the factories encode them the way S3 does in
notifications (form-URL-encoding: space as '+', '+' as '%2B'), unless a test
hands over an already encoded key with `encoded_key`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

__all__ = [
    "FIXTURES",
    "eventbridge_event",
    "fixture_body",
    "s3_body",
    "s3_record",
    "sns_envelope",
]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture_body(name: str) -> str:
    """A sample body stored under tests/fixtures (e.g. "events/s3_put.json")."""
    return (FIXTURES / name).read_text(encoding="utf-8")


def s3_record(
    event_name: str = "ObjectCreated:Put",
    *,
    bucket: str = "site-bucket",
    key: str = "index.html",
    encoded_key: str | None = None,
    event_time: str = "2026-03-01T12:00:00.000Z",
    source: str = "aws:s3",
    sequence: int | None = None,
    version_id: str | None = None,
    etag: str | None = None,
) -> dict[str, Any]:
    """One record of an S3 event notification (event version 2.1).

    With `sequence`, the record's size, ETag, sequencer and request id derive from
    it, so a stream of records looks like distinct real uploads. With `version_id`,
    the record names the version as S3 does in a versioned bucket (moto's own
    notifications leave `versionId` out: tests of the content check publish these).
    """
    record: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": source,
        "awsRegion": "us-east-1",
        "eventTime": event_time,
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "192.0.2.10"},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "site-changes",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": quote_plus(key, safe="/") if encoded_key is None else encoded_key,
                "size": 1024,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "sequencer": "0055AED6DCD90281E5",
            },
        },
    }
    if sequence is not None:
        record["responseElements"]["x-amz-request-id"] = f"REQ{sequence:013d}"
        record["s3"]["object"].update(
            {"size": 1024 + sequence % 4096, "eTag": f"{sequence:032x}", "sequencer": f"{sequence:018X}"}
        )
    if version_id is not None:
        record["s3"]["object"]["versionId"] = version_id
    if etag is not None:
        record["s3"]["object"]["eTag"] = etag
    return record


def s3_body(*records: dict[str, Any]) -> str:
    """A direct S3 notification (or SNS raw delivery): {"Records": [...]}."""
    return json.dumps({"Records": list(records)})


def sns_envelope(message: str, *, kind: str = "Notification") -> str:
    """An SNS envelope (non-raw delivery) holding `message` as a JSON string."""
    return json.dumps(
        {
            "Type": kind,
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:site-changes",
            "Subject": "Amazon S3 Notification",
            "Message": message,
            "Timestamp": "2026-03-01T12:00:00.123Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        }
    )


def eventbridge_event(
    detail_type: str = "Object Created",
    *,
    bucket: str = "site-bucket",
    key: str = "index.html",
    source: str = "aws.s3",
    time: str = "2026-03-01T12:00:00Z",
    version_id: str | None = None,
    reason: str = "PutObject",
    deletion_type: str | None = None,
) -> str:
    """An EventBridge event from S3 (as an SQS target receives it).

    `version_id` adds `detail.object.version-id` as S3 sends it for a versioned bucket;
    `deletion_type` ("Permanently Deleted", "Delete Marker Created") as in Object Deleted.
    """
    event: dict[str, Any] = {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "reason": reason,
        },
    }
    if version_id is not None:
        event["detail"]["object"]["version-id"] = version_id
    if deletion_type is not None:
        event["detail"]["deletion-type"] = deletion_type
    return json.dumps(event)
