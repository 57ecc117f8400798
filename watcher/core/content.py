"""What counts as a change: a write compared with the version before it in S3's chain.

In a versioned bucket a write (ObjectCreated with a version id) is *unchanged* when
the version immediately before it exists, is not a delete marker, holds the same
bytes (same ETag; under SSE-KMS or SSE-C, where the ETag is not a content hash, the
same full-object checksum) and the same headers CloudFront caches with the body.
Anything uncertain is a change: this module only ever says "unchanged" on proof.

Why skipping is safe: each version whose content differs from the one before it gets
its own invalidation, created after that version was written (its event arrives after
the write). So once those complete the edge serves the current content, whatever the
order of events, retries, restarts or replicas. The comparison is S3's own version
chain, never the daemon's memory.

Pure: the facts come in as the dictionaries S3's ListObjectVersions and HeadObject
answer (as boto3 parses them); verdicts go out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.core.model import Change, ChangeKind, Verdict

__all__ = [
    "CACHED_HEADERS",
    "CHECKSUMS",
    "Predecessor",
    "VersionFacts",
    "changed",
    "compare_versions",
    "head_fields",
    "needs_lookup",
    "predecessor",
    "unchanged",
]

# HeadObject fields CloudFront caches with the body (boto3's names), besides x-amz-meta-*.
CACHED_HEADERS = (
    "ContentType",
    "ContentEncoding",
    "ContentLanguage",
    "ContentDisposition",
    "CacheControl",
    "Expires",
    "WebsiteRedirectLocation",
)
# Full-object checksums S3 may store (CRC64NVME is the default for new uploads).
CHECKSUMS = ("ChecksumCRC64NVME", "ChecksumCRC32", "ChecksumCRC32C", "ChecksumSHA1", "ChecksumSHA256")
# Encryption with which the ETag is not an MD5 of the bytes: equal bytes, different ETags.
_KEYED_ENCRYPTION = ("aws:kms", "aws:kms:dsse")
_HEAD_FIELDS = frozenset(
    {
        *CACHED_HEADERS,
        *CHECKSUMS,
        "ETag",
        "Metadata",
        "ChecksumType",
        "ServerSideEncryption",
        "SSECustomerAlgorithm",
    }
)


def head_fields(head: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a HeadObject answer the comparison reads (what a cache of versions keeps)."""
    return {name: value for name, value in head.items() if name in _HEAD_FIELDS}


def changed(reason: str) -> Verdict:
    """A change (the reason says why, or why we could not tell)."""
    return Verdict(unchanged=False, reason=reason)


def unchanged(reason: str) -> Verdict:
    """Proven to serve the same content as the version before it."""
    return Verdict(unchanged=True, reason=reason)


def needs_lookup(change: Change, *, skip_unchanged: bool) -> bool:
    """Whether a change is worth comparing: a write naming its version, with skipping on."""
    return skip_unchanged and change.kind is ChangeKind.CREATED and change.version_id is not None


@dataclass(frozen=True, slots=True)
class Predecessor:
    """The version immediately before the new one, as ListObjectVersions lists it."""

    version_id: str
    etag: str
    last_modified: datetime | None = None


def predecessor(key: str, listing: Mapping[str, Any]) -> Predecessor | Verdict:
    """The version before the new one, from a ListObjectVersions page that starts after it.

    The page is asked for with KeyMarker=key, VersionIdMarker=new version, MaxKeys=1:
    its first entry of the same key is the predecessor. No entry of that key (the new
    version is the first, or its predecessors expired), a delete marker, or an answer
    we cannot order: a change.
    """
    versions = _entries_of(key, listing.get("Versions"))
    markers = _entries_of(key, listing.get("DeleteMarkers"))
    if markers and not versions:
        return changed("the version before it is a delete marker")
    if markers:
        return changed("the listing after it mixes a delete marker and a version")
    if not versions:
        return changed("no version before it (first version, or expired)")
    first = versions[0]
    version_id, etag = first.get("VersionId"), first.get("ETag")
    if not isinstance(version_id, str) or not isinstance(etag, str) or not etag:
        return changed("the version before it has no version id or ETag")
    modified = first.get("LastModified")
    return Predecessor(version_id, etag, modified if isinstance(modified, datetime) else None)


def _entries_of(key: str, entries: Any) -> list[Mapping[str, Any]]:
    if not isinstance(entries, Sequence):
        return []
    return [entry for entry in entries if isinstance(entry, Mapping) and entry.get("Key") == key]


@dataclass(frozen=True, slots=True)
class VersionFacts:
    """What HeadObject (with VersionId, ChecksumMode=ENABLED) says of one version."""

    etag: str
    headers: Mapping[str, str]
    checksums: Mapping[str, str]
    keyed_encryption: bool

    @classmethod
    def from_head(cls, head: Mapping[str, Any]) -> VersionFacts:
        """The facts of a HeadObject answer: cached headers, full-object checksums, encryption."""
        headers = {name: str(head[name]) for name in CACHED_HEADERS if head.get(name) is not None}
        metadata = head.get("Metadata")
        if isinstance(metadata, Mapping):
            headers.update({f"x-amz-meta-{name.lower()}": str(value) for name, value in metadata.items()})
        composite = str(head.get("ChecksumType", "")).upper() == "COMPOSITE"
        checksums = {
            name: value
            for name in CHECKSUMS
            # A composite (multipart) checksum ends in "-<parts>": it depends on the part sizes.
            if isinstance(value := head.get(name), str) and value and not composite and "-" not in value
        }
        keyed = head.get("ServerSideEncryption") in _KEYED_ENCRYPTION or bool(
            head.get("SSECustomerAlgorithm")
        )
        return cls(
            etag=str(head.get("ETag", "")), headers=headers, checksums=checksums, keyed_encryption=keyed
        )


def compare_versions(new: VersionFacts, previous: VersionFacts) -> Verdict:
    """Unchanged only when bytes and cached headers are proven equal; otherwise a change."""
    differing = sorted(set(new.headers.items()) ^ set(previous.headers.items()))
    if differing:
        return changed(f"header {differing[0][0]} differs")
    shared = [name for name in CHECKSUMS if name in new.checksums and name in previous.checksums]
    if any(new.checksums[name] != previous.checksums[name] for name in shared):
        return changed("different checksum")
    if new.keyed_encryption or previous.keyed_encryption:
        # The ETag of SSE-KMS or SSE-C is not a content hash: only a checksum proves equal bytes.
        if not shared:
            return changed("encrypted with a key and no full-object checksum on both")
        return unchanged("same checksum and headers as the version before it")
    if not new.etag or new.etag != previous.etag:
        return changed("different ETag")
    return unchanged("same ETag and headers as the version before it")
