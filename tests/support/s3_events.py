"""S3 event notifications as AWS writes them (moto's own differ: no sequencer, `/` as %2F)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote_plus

__all__ = ["BUCKET", "s3_body", "s3_record"]

BUCKET = "bench-site"


def s3_record(
    key: str, sequence: int, bucket: str = BUCKET, event: str = "ObjectCreated:Put"
) -> dict[str, object]:
    """One record as S3 writes it (eventVersion 2.1), key form-URL-encoded."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "eventName": event,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {"x-amz-request-id": f"REQ{sequence:013d}", "x-amz-id-2": "h" * 76},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "site-changes",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3EXAMPLE"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": 1024 + sequence % 4096,
                "eTag": f"{sequence:032x}",
                "sequencer": f"{sequence:018X}",
            },
        },
    }


def s3_body(keys: list[str], first_sequence: int, bucket: str = BUCKET) -> str:
    """An SQS body holding one S3 notification with a record per key."""
    return json.dumps({"Records": [s3_record(k, first_sequence + i, bucket) for i, k in enumerate(keys)]})
