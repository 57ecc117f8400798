"""Parse one SQS message body into `Change`s, or say why not.

Bodies come in four shapes: an S3 event notification (direct, or SNS with raw
delivery), the same wrapped in an SNS envelope, an EventBridge event from
`aws.s3`, or the `s3:TestEvent` S3 sends when a notification is configured.
Keys arrive form-URL-encoded (space as `+`); they leave here as stored in S3.
In a versioned bucket a record names the object's version (`versionId`; EventBridge:
`detail.object.version-id`): it travels with the change, for the content check.
A lifecycle rule's permanent deletion of a version (`LifecycleExpiration:Delete`
with a version id) only ever removes a noncurrent version (expiring a current one
creates a delete marker), so it changes nothing served and is ignored.

Pure: no AWS, no metrics. Every outcome is data: changes, ignored records
(with a reason), rejected records (with a reason). Nothing here raises: whatever a
body holds (lone surrogates from JSON escapes, odd types, a bug of ours), the worst
it gets is a rejection, so one odd message is one poison message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from watcher.core.model import Change, ChangeKind

__all__ = ["MAX_RECORDS_PER_BODY", "ParseResult", "change_kind", "parse_body"]

# S3 sends one record per notification; a body with more than this many is not S3's
# and is rejected whole (poison), so that no body can fill the hold by itself
# (a 256 KiB body has room for ~1,900 records).
MAX_RECORDS_PER_BODY = 100

_CREATED_PREFIXES = ("ObjectCreated:",)
_REMOVED_PREFIXES = ("ObjectRemoved:", "LifecycleExpiration:")
_EVENTBRIDGE_KINDS = {"Object Created": ChangeKind.CREATED, "Object Deleted": ChangeKind.REMOVED}
_MAX_REASON = 200
_NONCURRENT_EXPIRED = "noncurrent version expired by lifecycle"


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one body held: changes to act on, records ignored and rejected (with reasons)."""

    changes: tuple[Change, ...] = ()
    ignored: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()

    @property
    def poison(self) -> bool:
        """True when part of the body could not be understood."""
        return bool(self.rejected)


class _Reject(Exception):
    """A record or body that is not something we understand."""


def change_kind(event_name: str) -> ChangeKind | None:
    """The kind of change an S3 event name means, None for events that change nothing."""
    name = event_name.removeprefix("s3:")
    if name.startswith(_CREATED_PREFIXES):
        return ChangeKind.CREATED
    if name.startswith(_REMOVED_PREFIXES):
        return ChangeKind.REMOVED
    return None


def parse_body(body: str, *, message_id: str, source: str = "sqs") -> ParseResult:
    """Parse an SQS message body. `message_id` names the changes for idempotency."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return ParseResult(rejected=(_short(f"body is not JSON: {exc}"),))
    try:
        return _parse_document(document, message_id=message_id, source=source, depth=0)
    except _Reject as exc:
        return ParseResult(rejected=(_short(str(exc)),))
    except RecursionError:
        return ParseResult(rejected=("body is nested too deeply",))
    except Exception as exc:  # noqa: BLE001 - whatever a body holds, it is one poison message, never a crash
        return ParseResult(rejected=(_short(f"body could not be parsed: {type(exc).__name__}: {exc}"),))


def _parse_document(document: Any, *, message_id: str, source: str, depth: int) -> ParseResult:
    if not isinstance(document, dict):
        raise _Reject(f"body is a JSON {type(document).__name__}, not an object")
    if "Records" in document:
        return _parse_records(document["Records"], message_id=message_id, source=source)
    if document.get("Event") == "s3:TestEvent":
        return ParseResult(ignored=("s3:TestEvent",))
    if document.get("Type") in (
        "Notification",
        "SubscriptionConfirmation",
        "UnsubscribeConfirmation",
    ):
        return _parse_sns(document, message_id=message_id, source=source, depth=depth)
    if "detail-type" in document and "source" in document:
        return _parse_eventbridge(document, message_id=message_id, source=source)
    raise _Reject("not an S3 notification, SNS envelope or EventBridge event")


def _parse_sns(document: dict[str, Any], *, message_id: str, source: str, depth: int) -> ParseResult:
    if document["Type"] != "Notification":
        return ParseResult(ignored=(f"SNS {document['Type']}",))
    if depth > 0:
        raise _Reject("SNS envelope inside an SNS envelope")
    message = document.get("Message")
    if not isinstance(message, str):
        raise _Reject("SNS notification without a Message string")
    try:
        inner = json.loads(message)
    except ValueError as exc:
        raise _Reject(f"SNS Message is not JSON: {exc}") from exc
    return _parse_document(inner, message_id=message_id, source=source, depth=depth + 1)


def _parse_records(records: Any, *, message_id: str, source: str) -> ParseResult:
    if not isinstance(records, list):
        raise _Reject("Records is not a list")
    if not records:
        raise _Reject("Records is empty")
    if len(records) > MAX_RECORDS_PER_BODY:
        raise _Reject(f"{len(records)} records in one body: more than {MAX_RECORDS_PER_BODY} (S3 sends one)")
    changes: list[Change] = []
    ignored: list[str] = []
    rejected: list[str] = []
    for index, record in enumerate(records):
        try:
            change = _parse_s3_record(record, identity=f"{message_id}#{index}", source=source)
        except _Reject as exc:
            rejected.append(_short(f"record {index}: {exc}"))
            continue
        except Exception as exc:  # noqa: BLE001 - one odd record must not sink its neighbours
            rejected.append(_short(f"record {index}: could not be parsed: {type(exc).__name__}: {exc}"))
            continue
        if isinstance(change, str):
            ignored.append(change)
        else:
            changes.append(change)
    return ParseResult(changes=tuple(changes), ignored=tuple(ignored), rejected=tuple(rejected))


def _parse_s3_record(record: Any, *, identity: str, source: str) -> Change | str:
    if not isinstance(record, dict):
        raise _Reject("record is not an object")
    event_source = record.get("eventSource")
    if event_source != "aws:s3":
        raise _Reject(f"foreign event source {event_source!r}")
    event_name = _text(record, "eventName")
    kind = change_kind(event_name)
    if kind is None:
        return _short(f"event {event_name}")
    s3 = _table(record, "s3")
    bucket = _text(_table(s3, "bucket"), "name")
    obj = _table(s3, "object")
    key = _decode_key(_text(obj, "key"))
    version_id = _version_id(obj.get("versionId"))
    if version_id is not None and event_name.removeprefix("s3:") == "LifecycleExpiration:Delete":
        return _short(f"{_NONCURRENT_EXPIRED}: {key[:100]}")
    return Change(
        bucket=bucket,
        key=key,
        kind=kind,
        identity=identity,
        event_time=_timestamp(record.get("eventTime")),
        source=source,
        version_id=version_id,
    )


def _parse_eventbridge(document: dict[str, Any], *, message_id: str, source: str) -> ParseResult:
    if document.get("source") != "aws.s3":
        raise _Reject(f"foreign EventBridge source {document.get('source')!r}")
    detail_type = document.get("detail-type")
    kind = _EVENTBRIDGE_KINDS.get(detail_type) if isinstance(detail_type, str) else None
    if kind is None:
        return ParseResult(ignored=(_short(f"EventBridge {detail_type}"),))
    detail = _table(document, "detail")
    bucket = _text(_table(detail, "bucket"), "name")
    obj = _table(detail, "object")
    key = _decode_key(_text(obj, "key"))
    version_id = _version_id(obj.get("version-id"))
    if (
        version_id is not None
        and detail.get("reason") == "Lifecycle Expiration"
        and detail.get("deletion-type") == "Permanently Deleted"
    ):
        return ParseResult(ignored=(_short(f"{_NONCURRENT_EXPIRED}: {key[:100]}"),))
    change = Change(
        bucket=bucket,
        key=key,
        kind=kind,
        identity=f"{message_id}#0",
        event_time=_timestamp(document.get("time")),
        source=source,
        version_id=version_id,
    )
    return ParseResult(changes=(change,))


def _table(parent: dict[str, Any], name: str) -> dict[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise _Reject(f"{name} is missing or not an object")
    return value


def _text(parent: dict[str, Any], name: str) -> str:
    value = parent.get(name)
    if not isinstance(value, str) or not value:
        raise _Reject(f"{name} is missing or not a string")
    if not _is_unicode(value):
        # JSON's \uXXXX escapes can spell lone surrogates: no S3 name or key holds one,
        # and nothing downstream (UTF-8 paths, logs) could carry it.
        raise _Reject(f"{name} is not valid Unicode (a lone surrogate): {value[:80]!r}")
    return value


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _version_id(value: Any) -> str | None:
    # "null" names the version an unversioned (or suspended) bucket writes: no chain to compare.
    if not isinstance(value, str) or not value or value == "null" or len(value) > 1024:
        return None
    return value


def _decode_key(encoded: str) -> str:
    # S3 form-URL-encodes keys in notifications (space as '+'); moto also
    # encodes '/' as %2F, which the same decoding undoes.
    try:
        key = unquote_plus(encoded, errors="strict")
    except UnicodeDecodeError as exc:
        raise _Reject(f"key is not valid UTF-8 once decoded: {encoded[:80]!r}") from exc
    if len(key.encode("utf-8")) > 1024:
        raise _Reject("key is longer than S3's 1,024 bytes")
    return key


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        # An instant at the edge of the calendar (0001-01-01T00:00:00+14:00 is in year 0 in
        # UTC) cannot be shown or measured: every later use (lag metrics, event details)
        # would raise. Unknown instead.
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _short(reason: str) -> str:
    # A reason quotes the body: make it text any UTF-8 log can take (surrogates as \udXXX).
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 1] + "…"
