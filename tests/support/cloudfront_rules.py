"""CloudFront's invalidation rules as plain functions, for the strict stand-in.

The limits and the wire format are CloudFront's (API version 2020-05-31);
moto enforces none of them, which is why tests put StrictCloudFront in front.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "MAX_FILES_IN_PROGRESS",
    "MAX_PATH_LENGTH",
    "MAX_WILDCARDS_IN_PROGRESS",
    "NAMESPACE",
    "BatchRequest",
    "batch_problem",
    "invalid_path_reason",
    "is_wildcard",
    "parse_batch",
    "render",
]

NAMESPACE = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
MAX_FILES_IN_PROGRESS = 3000
MAX_WILDCARDS_IN_PROGRESS = 15
MAX_PATH_LENGTH = 4000


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """The InvalidationBatch of a CreateInvalidation body."""

    caller_reference: str
    quantity: int
    paths: tuple[str, ...]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def parse_batch(body: bytes) -> BatchRequest:
    """Parse an InvalidationBatch document; ValueError says what is wrong with it."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - the body comes from the test's own client
    except ET.ParseError as error:
        raise ValueError(f"the request body is not well-formed XML: {error}") from error
    paths = _child(root, "Paths")
    quantity = _child(paths, "Quantity") if paths is not None else None
    reference = _child(root, "CallerReference")
    if _local(root.tag) != "InvalidationBatch" or quantity is None or reference is None:
        raise ValueError("InvalidationBatch needs Paths/Quantity and CallerReference")
    assert paths is not None  # for mypy: quantity came from it
    items = _child(paths, "Items")
    values = tuple(p.text or "" for p in items if _local(p.tag) == "Path") if items else ()
    try:
        count = int(quantity.text or "")
    except ValueError as error:
        raise ValueError(f"Quantity is not a number: {quantity.text!r}") from error
    return BatchRequest(reference.text or "", count, values)


def is_wildcard(path: str) -> bool:
    """A path ending in `*` counts against the wildcard quota, whatever it covers."""
    return path.endswith("*")


def invalid_path_reason(path: str) -> str | None:
    """Why CloudFront rejects `path` (InvalidArgument), or None when it is acceptable."""
    if not path.startswith("/"):
        return f"the path {path[:80]!r} does not start with '/'"
    if "*" in path[:-1]:
        return f"the path {path[:80]!r} has '*' elsewhere than as its last character"
    if len(path) > MAX_PATH_LENGTH:
        return f"the path starting {path[:80]!r} is longer than {MAX_PATH_LENGTH} characters"
    # Space, controls and non-ASCII must arrive percent-encoded.
    if any(not "!" <= char <= "~" for char in path):
        return f"the path {path[:80]!r} has characters outside printable ASCII"
    return None


def batch_problem(batch: BatchRequest) -> tuple[str, str] | None:
    """(error code, message) when CloudFront rejects the batch as sent, else None."""
    if batch.quantity != len(batch.paths):
        return (
            "InconsistentQuantities",
            f"Quantity {batch.quantity} does not match the {len(batch.paths)} paths.",
        )
    if not batch.paths or not batch.caller_reference:
        return "InvalidArgument", "Paths and CallerReference are required."
    reasons = [r for r in map(invalid_path_reason, batch.paths) if r]
    if reasons:
        return "InvalidArgument", f"Invalid path: {reasons[0]}."
    return None


def render(root: str, fields: Sequence[tuple[str, object]]) -> bytes:
    """An XML document in CloudFront's namespace; nested fields as (name, [pairs])."""
    element = ET.Element(root, xmlns=NAMESPACE)
    _fill(element, fields)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element)


def _fill(parent: ET.Element, fields: Sequence[tuple[str, object]]) -> None:
    for name, value in fields:
        child = ET.SubElement(parent, name)
        if isinstance(value, list):
            _fill(child, value)
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        elif isinstance(value, datetime):
            child.text = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        else:
            child.text = str(value)
