"""Poll mode's memory: the last version (ETag, LastModified) seen of each watched key.

A version is committed only when the invalidation covering its change was
accepted, so a crash between detection and invalidation makes the next cycle
see the change again. Optionally persisted to `[poll] state_file`, written
atomically (temporary file + os.replace) so a crash mid-write leaves the
previous file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from watcher.core.model import Ack, Change, ChangeKind

__all__ = ["Difference", "Loaded", "PollState", "Seen", "differences", "poll_change"]

_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Seen:
    """One version of an object as ListObjectsV2 shows it."""

    etag: str
    last_modified: str  # ISO 8601, as listed: only ever compared for equality

    @property
    def modified_at(self) -> datetime | None:
        """LastModified as a time (for the event-to-invalidation histogram)."""
        try:
            return datetime.fromisoformat(self.last_modified)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Loaded:
    """What loading the state file did, for the log: `warning` when the file was there but unusable."""

    detail: str
    warning: bool = False


@dataclass(frozen=True, slots=True)
class Difference:
    """A watched key that is new, changed or gone since the committed state.

    `seen` is the new version, or for a vanished key the last version known.
    """

    key: str
    kind: ChangeKind
    seen: Seen


def differences(before: Mapping[str, Seen], now: Mapping[str, Seen]) -> list[Difference]:
    """New and changed keys (CREATED) and vanished keys (REMOVED), sorted by key.

    LastModified counts as well as the ETag: a re-upload of the same bytes may
    carry new metadata (Cache-Control, Content-Type) that CloudFront caches too.
    """
    out = [Difference(key, ChangeKind.CREATED, seen) for key, seen in now.items() if before.get(key) != seen]
    out.extend(Difference(key, ChangeKind.REMOVED, seen) for key, seen in before.items() if key not in now)
    out.sort(key=lambda difference: difference.key)
    return out


def poll_change(bucket: str, difference: Difference, ack: Ack, *, site_wide: bool = False) -> Change:
    """The Change a difference becomes; its identity is key + ETag (+ LastModified).

    LastModified is part of it because a revert to earlier bytes (same ETag) is a
    new deploy and must not reuse the CallerReference of the first one; a retry
    after a crash sees the same object, hence the same identity.
    """
    seen = difference.seen
    removed = difference.kind is ChangeKind.REMOVED
    version = f"{'deleted:' if removed else ''}{seen.etag}@{seen.last_modified}"
    return Change(
        bucket=bucket,
        key=difference.key,
        kind=difference.kind,
        identity=f"poll:{bucket}/{difference.key}@{version}",
        event_time=None if removed else seen.modified_at,
        source="poll",
        ack=ack,
        site_wide=site_wide,
    )


class PollState:
    """Committed versions per bucket and key, and the listing scopes that have a baseline.

    Thread-safe: cycles read it, acknowledgements (flush threads) commit to it,
    the main thread saves it. `read_only` (dry-run) keeps commits in memory and
    never writes the file.
    """

    def __init__(self, path: Path | None, *, read_only: bool = False) -> None:
        self.path = path
        self._read_only = read_only
        self._objects: dict[str, dict[str, Seen]] = {}
        self._scopes: set[str] = set()
        self._dirty = False
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()

    # -- reading -------------------------------------------------------------------

    def load(self) -> Loaded:
        """Read the state file if there is one; what happened, for the log.

        A file that cannot be used (unreadable, not JSON, or JSON of another shape) is a
        new baseline with a warning, never a crash: refusing to start would stop
        invalidations altogether; a baseline loses only what changed while the watcher
        was down, and the log says so.
        """
        if self.path is None:
            return Loaded("no state_file: state is kept in memory, a restart takes a new baseline")
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            scopes, objects = _parse(raw)
        except FileNotFoundError:
            return Loaded(f"no saved state at {self.path}: the first cycle takes a baseline")
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
            return Loaded(
                f"unusable state at {self.path} ({exc}): the first cycle takes a new baseline", warning=True
            )
        with self._lock:
            self._scopes, self._objects = scopes, objects
        return Loaded(f"state loaded from {self.path}: {len(scopes)} scope(s), {self.size()} key(s)")

    def has_scope(self, scope: str) -> bool:
        """Whether a listing scope ("bucket/prefix") has a baseline."""
        with self._lock:
            return scope in self._scopes

    def committed(self, bucket: str, prefix: str) -> dict[str, Seen]:
        """The committed versions of the keys under a prefix."""
        with self._lock:
            keys = self._objects.get(bucket, {})
            return {key: seen for key, seen in keys.items() if key.startswith(prefix)}

    def size(self) -> int:
        """Keys remembered, over every bucket."""
        return sum(len(keys) for keys in self._objects.values())

    # -- writing -------------------------------------------------------------------

    def baseline(self, scope: str, bucket: str, prefix: str, observed: Mapping[str, Seen]) -> None:
        """Take what was listed under a prefix as the truth, without invalidating it."""
        with self._lock:
            keys = self._objects.setdefault(bucket, {})
            for key in [key for key in keys if key.startswith(prefix)]:
                del keys[key]
            keys.update(observed)
            self._scopes.add(scope)
            self._dirty = True

    def adopt(self, scopes: Iterable[str]) -> None:
        """Mark scopes as baselined with nothing committed (invalidate_on_start)."""
        with self._lock:
            self._scopes.update(scopes)
            self._dirty = True

    def commit(self, bucket: str, key: str, seen: Seen | None) -> None:
        """Record a covered change: the new version, or None for a vanished key."""
        with self._lock:
            keys = self._objects.setdefault(bucket, {})
            if seen is None:
                keys.pop(key, None)
            else:
                keys[key] = seen
            self._dirty = True

    def save(self) -> bool:
        """Write the file atomically when something changed; True when written."""
        if self.path is None or self._read_only:
            return False
        with self._save_lock:
            with self._lock:
                if not self._dirty:
                    return False
                document = _dump(self._scopes, self._objects)
                self._dirty = False
            try:
                _write_atomically(self.path, document)
            except OSError:
                with self._lock:
                    self._dirty = True  # try again on the next save
                raise
        return True


def _dump(scopes: set[str], objects: dict[str, dict[str, Seen]]) -> str:
    document = {
        "version": _FORMAT_VERSION,
        "scopes": sorted(scopes),
        "objects": {
            bucket: {key: [seen.etag, seen.last_modified] for key, seen in sorted(keys.items())}
            for bucket, keys in sorted(objects.items())
        },
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


class _WrongShape(ValueError):
    """Valid JSON, but not the document `_dump` writes."""


def _parse(raw: Any) -> tuple[set[str], dict[str, dict[str, Seen]]]:
    """The document `_dump` writes, checked shape by shape; _WrongShape naming the first thing amiss."""
    if not isinstance(raw, dict) or type(raw.get("version")) is not int or raw["version"] != _FORMAT_VERSION:
        raise _WrongShape(f"not a version {_FORMAT_VERSION} poll state")
    scopes, objects = raw.get("scopes"), raw.get("objects")
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise _WrongShape("'scopes' is not a list of strings")
    if not isinstance(objects, dict):
        raise _WrongShape("'objects' is not a table of buckets")
    parsed: dict[str, dict[str, Seen]] = {}
    for bucket, keys in objects.items():
        if not isinstance(keys, dict):
            raise _WrongShape(f"objects[{bucket!r}] is not a table of keys")
        parsed[bucket] = {key: _seen(bucket, key, version) for key, version in keys.items()}
    return set(scopes), parsed


def _seen(bucket: str, key: str, version: Any) -> Seen:
    """`[etag, last_modified]`, both strings."""
    pair = isinstance(version, list) and len(version) == 2
    if not (pair and all(isinstance(part, str) for part in version)):
        raise _WrongShape(f"objects[{bucket!r}][{key!r}] is not [etag, last_modified]")
    return Seen(version[0], version[1])


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed before os.replace, removed on error
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
