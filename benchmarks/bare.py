"""The baseline: a bare boto3 loop that only receives and batch-deletes, until one receive is empty.

Run as `python -m benchmarks.bare QUEUE_URL WAIT_SECONDS` with the same
environment (endpoint, credentials) as the watcher.
"""

from __future__ import annotations

import sys

import boto3


def main() -> int:
    """Drain the queue; prints the messages drained."""
    queue_url, wait = sys.argv[1], int(sys.argv[2])
    sqs = boto3.client("sqs")
    drained = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, VisibilityTimeout=300
        ).get("Messages", [])
        if not messages:
            break
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
        drained += len(messages)
    print(drained)
    return 0


if __name__ == "__main__":
    sys.exit(main())
