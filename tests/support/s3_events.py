"""S3 event streams for the benchmark and the chaos suite: records as AWS writes them
(moto's own differ: no sequencer, `/` as %2F), each a distinct upload by sequence number."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.support import events

__all__ = ["BUCKET", "s3_body", "s3_record"]

BUCKET = "bench-site"


def s3_record(
    key: str, sequence: int, bucket: str = BUCKET, event: str = "ObjectCreated:Put"
) -> dict[str, Any]:
    """One record as S3 writes it (eventVersion 2.1), key form-URL-encoded, stamped now."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return events.s3_record(event, bucket=bucket, key=key, event_time=now, sequence=sequence)


def s3_body(keys: list[str], first_sequence: int, bucket: str = BUCKET) -> str:
    """An SQS body holding one S3 notification with a record per key."""
    return json.dumps({"Records": [s3_record(k, first_sequence + i, bucket) for i, k in enumerate(keys)]})
