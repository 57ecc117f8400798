"""moto's server for the benchmark, with costs of its models that AWS does not have removed.

moto's SQS scans every message of a queue several times per call, so the
emulator, not the consumers, would dominate every figure:

- each look at a message builds two naive datetimes to learn the time (about
  16 µs): swapped for `time.time()` (the same value, seconds since the epoch);
- ReceiveMessage checks each message it returns against the queue's retention
  period by computing *all* the queue's attributes, three of which scan the
  whole queue: 31 scans of the queue for a receive of 10 (1.27 s at 20,000
  messages; 17 ms with this change). It reads the one attribute it needs instead.

And one of its S3 model's (benchmarks/unchanged.py, the content check):

- ListObjectVersions deep-copies every version of every key of the bucket (bodies
  included, each into a new temporary file), sorts them all and only then filters by
  the prefix: about 0.7 s a call on a 2,000-file site, where S3 seeks to the key. The
  scan is restricted to the keys under the prefix (a thread-local seen by the key
  store's `iterlists`), and each version is copied by its attributes (the listing
  reads no body; moto copies only to mark the latest): the same versions and delete
  markers are returned.

Nothing else changes: the same messages are returned, and deletes, visibility
and attributes cost what they cost in moto. The bare loop and the watcher run
against the same server. Run as `python -m benchmarks.moto_server PORT`.
"""

from __future__ import annotations

import copy
import datetime
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import moto.s3.models as s3_models
import moto.sqs.models as sqs_models
from moto.core import utils
from moto.s3.utils import _VersionedKeyStore
from moto.server import main


def _unix_time(dt: datetime.datetime | None = None) -> float:
    return time.time() if dt is None else utils.unix_time(dt)


def _unix_time_millis(dt: datetime.datetime | None = None) -> float:
    return _unix_time(dt) * 1000.0


def _within_retention(self: sqs_models.SQSBackend, queue_name: str, message: sqs_models.Message) -> bool:
    """moto's check, reading the queue's retention period alone (not all its attributes)."""
    retention = int(getattr(self.get_queue(queue_name), "message_retention_period"))  # noqa: B009
    return retention + (message.sent_timestamp or 0) / 1000 > time.time()


_scan = threading.local()  # the prefix of the ListObjectVersions this thread serves, if any
_list_object_versions = s3_models.S3Backend.list_object_versions
_iterlists = _VersionedKeyStore.iterlists


class _ListingCopy:
    """moto.s3.models' `copy`, whose deepcopy copies versions by attribute inside a listing."""

    def __init__(self) -> None:
        self.copy = copy.copy

    @staticmethod
    def deepcopy(value: Any) -> Any:
        if getattr(_scan, "prefix", None) is None or not isinstance(value, list):
            return copy.deepcopy(value)
        copies = []
        for version in value:
            twin = object.__new__(type(version))
            twin.__dict__.update(version.__dict__)  # body and lock shared: a listing reads neither
            copies.append(twin)
        return copies


def _versions_under_prefix(self: s3_models.S3Backend, bucket_name: str, **kwargs: Any) -> Any:
    _scan.prefix = kwargs.get("prefix") or ""
    try:
        return _list_object_versions(self, bucket_name, **kwargs)
    finally:
        _scan.prefix = None


def _lists_under_prefix(self: _VersionedKeyStore) -> Iterator[tuple[str, list[Any]]]:
    prefix = getattr(_scan, "prefix", None) or ""
    for key, versions in _iterlists(self):
        if key.startswith(prefix):
            yield key, versions


if __name__ == "__main__":
    setattr(sqs_models, "unix_time", _unix_time)  # noqa: B010 - moto does not export it
    setattr(sqs_models, "unix_time_millis", _unix_time_millis)  # noqa: B010
    setattr(sqs_models.SQSBackend, "is_message_valid_based_on_retention_period", _within_retention)  # noqa: B010
    setattr(s3_models.S3Backend, "list_object_versions", _versions_under_prefix)  # noqa: B010
    setattr(_VersionedKeyStore, "iterlists", _lists_under_prefix)  # noqa: B010
    setattr(s3_models, "copy", _ListingCopy())  # noqa: B010
    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
