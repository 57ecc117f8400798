"""The content comparison, on the dictionaries S3's ListObjectVersions and HeadObject answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from watcher.core.content import Predecessor, VersionFacts, compare_versions, needs_lookup, predecessor
from watcher.core.model import Change, ChangeKind, Verdict

HEAD: dict[str, Any] = {
    "ETag": '"9b2cf535f27731c974343645a3985328"',
    "ContentType": "text/html",
    "CacheControl": "max-age=60",
    "Metadata": {"Build": "7"},
    "ChecksumCRC64NVME": "u5Z0Yh0bD2E=",
}


def _verdict(new: dict[str, Any], previous: dict[str, Any]) -> Verdict:
    return compare_versions(VersionFacts.from_head(new), VersionFacts.from_head(previous))


def test_same_etag_and_cached_headers_are_unchanged() -> None:
    assert _verdict(HEAD, dict(HEAD)).unchanged


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ContentType", "text/plain"),
        ("ContentEncoding", "gzip"),
        ("ContentLanguage", "de"),
        ("ContentDisposition", "attachment"),
        ("CacheControl", "no-cache"),
        ("Expires", datetime(2030, 1, 1, tzinfo=UTC)),
        ("WebsiteRedirectLocation", "/elsewhere"),
        ("Metadata", {"Build": "8"}),
        ("Metadata", {"Build": "7", "extra": "x"}),
    ],
)
def test_any_cached_header_that_differs_or_appears_is_a_change(field: str, value: object) -> None:
    # GIVEN the same bytes, WHEN one header CloudFront caches with the body differs, THEN a change
    verdict = _verdict({**HEAD, field: value}, HEAD)
    assert not verdict.unchanged
    assert "differs" in verdict.reason


def test_a_different_etag_is_a_change() -> None:
    assert not _verdict({**HEAD, "ETag": '"00000000000000000000000000000000"'}, HEAD).unchanged


def test_a_differing_checksum_is_a_change_even_with_equal_etags() -> None:
    assert not _verdict({**HEAD, "ChecksumCRC64NVME": "AAAAAAAAAAA="}, HEAD).unchanged


def test_under_sse_kms_equal_checksums_prove_equal_bytes_despite_different_etags() -> None:
    # GIVEN two SSE-KMS versions of the same bytes: different ETags (not MD5s), the same CRC64NVME
    kms = {**HEAD, "ServerSideEncryption": "aws:kms"}
    verdict = _verdict({**kms, "ETag": '"aaaa"'}, {**kms, "ETag": '"bbbb"'})
    assert verdict.unchanged
    assert "checksum" in verdict.reason


def test_under_sse_kms_without_a_shared_full_object_checksum_it_is_a_change() -> None:
    kms = {k: v for k, v in HEAD.items() if k != "ChecksumCRC64NVME"} | {"ServerSideEncryption": "aws:kms"}
    assert not _verdict(kms, {**kms, "ChecksumSHA256": "x"}).unchanged
    # a composite (multipart) checksum depends on the part sizes: not a proof
    composite = {**kms, "ChecksumCRC32": "abc=-3", "ChecksumType": "COMPOSITE"}
    assert not _verdict(composite, composite).unchanged


def test_sse_c_compares_like_sse_kms() -> None:
    sse_c = {**HEAD, "SSECustomerAlgorithm": "AES256"}
    assert VersionFacts.from_head(sse_c).keyed_encryption
    assert not _verdict({**sse_c, "ChecksumCRC64NVME": None}, sse_c).unchanged


def _listing(
    *, versions: list[dict[str, Any]] | None = None, markers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"Versions": versions or [], "DeleteMarkers": markers or []}


def test_the_predecessor_is_the_first_listed_version_of_the_same_key() -> None:
    listing = _listing(versions=[{"Key": "a.html", "VersionId": "v1", "ETag": '"e"'}])
    assert predecessor("a.html", listing) == Predecessor("v1", '"e"')


@pytest.mark.parametrize(
    ("listing", "reason"),
    [
        (_listing(), "no version before it"),
        (
            _listing(versions=[{"Key": "a.html.bak", "VersionId": "v9", "ETag": '"e"'}]),
            "no version before it",
        ),
        (_listing(markers=[{"Key": "a.html", "VersionId": "dm"}]), "delete marker"),
        (
            _listing(
                versions=[{"Key": "a.html", "VersionId": "v1", "ETag": '"e"'}], markers=[{"Key": "a.html"}]
            ),
            "mixes",
        ),
        (_listing(versions=[{"Key": "a.html", "VersionId": "v1"}]), "no version id or ETag"),
    ],
)
def test_no_predecessor_a_delete_marker_or_an_odd_listing_is_a_change(
    listing: dict[str, Any], reason: str
) -> None:
    verdict = predecessor("a.html", listing)
    assert isinstance(verdict, Verdict)
    assert not verdict.unchanged
    assert reason in verdict.reason


def test_only_writes_naming_a_version_are_looked_up_and_only_when_skipping_is_on() -> None:
    write = Change("b", "a.html", ChangeKind.CREATED, "m#0", version_id="v2")
    assert needs_lookup(write, skip_unchanged=True)
    assert not needs_lookup(write, skip_unchanged=False)
    assert not needs_lookup(Change("b", "a.html", ChangeKind.CREATED, "m#0"), skip_unchanged=True)
    assert not needs_lookup(
        Change("b", "a.html", ChangeKind.REMOVED, "m#0", version_id="dm"), skip_unchanged=True
    )
