"""A versioned bucket whose writes are announced as real S3 announces them: with `versionId`.

moto's S3 notifications leave `versionId` out, where real S3 puts it in every record of
a versioned bucket (and EventBridge in `detail.object.version-id`). So the bucket here
has no notification of its own: each write made through `VersionedSite` publishes the
record S3 would have sent to the queue, with the version id and ETag S3 answered.
`announce` publishes any record (reverse order, a replica's share, a lifecycle event).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.support import events
from tests.support.site import Stack, aws_clients
from watcher.commands.demo.emulator import create_distribution
from watcher.core.model import Change, ChangeKind

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["VersionedSite", "Written", "versioned_site"]


@dataclass(frozen=True, slots=True)
class Written:
    """One write: the key, the version S3 gave it, its ETag."""

    key: str
    version_id: str
    etag: str


@dataclass
class VersionedSite:
    """A stack (bucket, queue, distribution) whose bucket keeps versions; writes announce themselves."""

    stack: Stack
    sequence: int = 0

    @property
    def s3(self) -> S3Client:
        """The raw emulator's S3 client."""
        return self.stack.s3

    def put(self, key: str, body: str | bytes, *, announce: bool = True, **headers: Any) -> Written:
        """PutObject (headers as boto3 names them: CacheControl=..., Metadata=...), then its event."""
        data = body.encode() if isinstance(body, str) else body
        answer = self.s3.put_object(Bucket=self.stack.bucket, Key=key, Body=data, **headers)
        written = Written(key, answer["VersionId"], answer["ETag"].strip('"'))
        if announce:
            self.announce("ObjectCreated:Put", written)
        return written

    def delete(self, key: str) -> Written:
        """DeleteObject without a version: a delete marker, announced."""
        answer = self.s3.delete_object(Bucket=self.stack.bucket, Key=key)
        written = Written(key, answer["VersionId"], "")
        self.announce("ObjectRemoved:DeleteMarkerCreated", written)
        return written

    def expire(self, written: Written) -> None:
        """What a noncurrent-version lifecycle rule does: delete that version, announce it."""
        self.s3.delete_object(Bucket=self.stack.bucket, Key=written.key, VersionId=written.version_id)
        self.announce("LifecycleExpiration:Delete", written)

    def announce(self, event_name: str, *writes: Written) -> None:
        """Publish one S3 notification with a record per write, shaped as S3 sends it."""
        records = []
        for written in writes:
            self.sequence += 1
            records.append(
                events.s3_record(
                    event_name,
                    bucket=self.stack.bucket,
                    key=written.key,
                    sequence=self.sequence,
                    version_id=written.version_id,
                    etag=written.etag or None,
                )
            )
        self.stack.sqs.send_message(QueueUrl=self.stack.queue_url, MessageBody=events.s3_body(*records))

    def change(self, written: Written) -> Change:
        """The change a parsed ObjectCreated record of this write becomes."""
        return Change(
            bucket=self.stack.bucket,
            key=written.key,
            kind=ChangeKind.CREATED,
            identity=f"{written.key}@{written.version_id}",
            version_id=written.version_id,
        )


def versioned_site(endpoint: str, bucket: str = "site-bucket", queue: str = "site-changes") -> VersionedSite:
    """GIVEN a bucket with versioning enabled, a queue (fed by `VersionedSite`), a distribution."""
    s3, sqs, cloudfront = aws_clients(endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    distribution_id = create_distribution(cloudfront, bucket)
    return VersionedSite(Stack(endpoint, bucket, queue_url, distribution_id, s3, sqs, cloudfront))
