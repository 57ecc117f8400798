"""LocalStack in host mode really runs here, and its S3 notifications reach SQS
with keys encoded the way LocalStack encodes them (see
tests/fixtures/localstack/README.md)."""

from __future__ import annotations

from urllib.parse import unquote_plus

import pytest

from tests.support.localstack import (
    LOCALSTACK_TIMEOUT,
    localstack_client,
    receive_bodies,
    wire_bucket_to_queue,
)

pytestmark = [pytest.mark.localstack, pytest.mark.timeout(LOCALSTACK_TIMEOUT)]

KEYS = {
    # key in S3 -> key in the event (urllib.parse.quote: space %20, "+" %2B, UTF-8, "/" kept)
    "docs/a b.html": "docs/a%20b.html",
    "café/index.html": "caf%C3%A9/index.html",
    "x+y.txt": "x%2By.txt",
}


def test_upload_notification_arrives_with_encoded_key(localstack: str) -> None:
    queue_url = wire_bucket_to_queue(localstack, "smoke-site", "smoke-changes")
    s3 = localstack_client(localstack, "s3")
    for key in KEYS:
        s3.put_object(Bucket="smoke-site", Key=key, Body=b"<html></html>")
    s3.delete_object(Bucket="smoke-site", Key="x+y.txt")

    bodies = receive_bodies(localstack, queue_url, count=len(KEYS) + 1)

    records = [record for body in bodies for record in body["Records"]]
    seen = {(r["eventName"], r["s3"]["object"]["key"]) for r in records}
    expected = {("ObjectCreated:Put", encoded) for encoded in KEYS.values()}
    expected.add(("ObjectRemoved:Delete", "x%2By.txt"))
    assert seen == expected
    for record in records:
        assert record["eventSource"] == "aws:s3"
        assert record["s3"]["bucket"]["name"] == "smoke-site"
        assert record["s3"]["object"]["sequencer"]
        # The decoding real S3 needs (space sent as "+") also decodes LocalStack's form.
        assert unquote_plus(record["s3"]["object"]["key"]) in KEYS
