"""`--since TIME`: ISO 8601 with a time zone, or epoch seconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["parse_since"]

_EPOCH = re.compile(r"^\d{9,11}(\.\d+)?$")


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """The instant TIME names, in UTC; ValueError with one clear line when it names none.

    A time without a zone is refused: read as UTC on a CI runner in another zone it
    would move the start of the deploy by hours, and `wait` would miss its changes.
    """
    value = text.strip()
    if _EPOCH.match(value):
        parsed = datetime.fromtimestamp(float(value), UTC)
    else:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"--since {text!r}: not a time: give ISO 8601 (2026-11-29T10:00:00Z) or epoch seconds"
            ) from None
        if parsed.tzinfo is None:
            raise ValueError(
                f"--since {text!r}: add a time zone (Z or +00:00), e.g. `date -u +%Y-%m-%dT%H:%M:%SZ`"
            )
        parsed = parsed.astimezone(UTC)
    # A minute of slack for a runner whose clock is a little ahead of ours.
    if parsed > (now or datetime.now(UTC)) + timedelta(minutes=1):
        raise ValueError(f"--since {text!r}: is in the future")
    return parsed
