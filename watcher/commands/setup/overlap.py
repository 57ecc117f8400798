"""S3's overlap rule for bucket notification configurations, as our own pure code.

S3 rejects a notification configuration in which two entries take the same
event type and their key filters overlap: the prefixes overlap when one starts
with the other (an empty prefix matches every key), the suffixes when one ends
with the other. moto does not enforce it, so `watcher setup` decides by itself
when the watcher's entry would collide with another consumer's and takes the
EventBridge way instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["KeyFilter", "NotificationEntry", "entries_of", "events_overlap", "first_overlap"]


@dataclass(frozen=True, slots=True)
class KeyFilter:
    """The prefix/suffix filter of one entry; empty strings match every key."""

    prefix: str = ""
    suffix: str = ""

    def overlaps(self, other: KeyFilter) -> bool:
        """True when some key could match both filters."""
        prefixes = self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix)
        suffixes = self.suffix.endswith(other.suffix) or other.suffix.endswith(self.suffix)
        return prefixes and suffixes

    @classmethod
    def from_api(cls, filter_: Mapping[str, Any] | None) -> KeyFilter:
        """From the `Filter` of an S3 entry (rule names are case-insensitive)."""
        rules = ((filter_ or {}).get("Key") or {}).get("FilterRules") or []
        values = {str(rule.get("Name", "")).lower(): str(rule.get("Value", "")) for rule in rules}
        return cls(prefix=values.get("prefix", ""), suffix=values.get("suffix", ""))


@dataclass(frozen=True, slots=True)
class NotificationEntry:
    """One entry of a bucket's notification configuration, of any destination kind."""

    kind: str  # "queue" | "topic" | "lambda"
    destination: str  # the ARN
    events: tuple[str, ...]
    key_filter: KeyFilter
    entry_id: str = ""

    def describe(self) -> str:
        """A short label for the plan printout."""
        label = f"{self.kind} {self.destination}"
        return f"{label} (Id {self.entry_id})" if self.entry_id else label


_KINDS = (
    ("QueueConfigurations", "queue", "QueueArn"),
    ("TopicConfigurations", "topic", "TopicArn"),
    ("LambdaFunctionConfigurations", "lambda", "LambdaFunctionArn"),
)


def entries_of(configuration: Mapping[str, Any]) -> list[NotificationEntry]:
    """Every queue, topic and Lambda entry of a GetBucketNotificationConfiguration answer."""
    entries = []
    for section, kind, arn_key in _KINDS:
        for item in configuration.get(section) or []:
            entries.append(
                NotificationEntry(
                    kind=kind,
                    destination=str(item.get(arn_key, "")),
                    events=tuple(item.get("Events") or ()),
                    key_filter=KeyFilter.from_api(item.get("Filter")),
                    entry_id=str(item.get("Id", "")),
                )
            )
    return entries


def _event_overlaps(one: str, other: str) -> bool:
    # "s3:ObjectCreated:*" covers "s3:ObjectCreated:Put"; different families never meet.
    one_family, _, one_type = one.rpartition(":")
    other_family, _, other_type = other.rpartition(":")
    if one_family != other_family:
        return False
    return one_type == other_type or "*" in (one_type, other_type)


def events_overlap(ones: Iterable[str], others: Iterable[str]) -> bool:
    """True when an event type of one list is also taken by the other."""
    other_list = list(others)
    return any(_event_overlaps(one, other) for one in ones for other in other_list)


def first_overlap(
    wanted: Iterable[NotificationEntry], existing: Iterable[NotificationEntry]
) -> tuple[NotificationEntry, NotificationEntry] | None:
    """The first (wanted, existing) pair S3 would reject as overlapping, or None."""
    existing_list = list(existing)
    for ours in wanted:
        for theirs in existing_list:
            if events_overlap(ours.events, theirs.events) and ours.key_filter.overlaps(theirs.key_filter):
                return ours, theirs
    return None
