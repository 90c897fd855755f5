"""RFC 3339 date-times in the spelling Telnyx uses, read without protobuf's pure-Python parser.

`Timestamp.FromJsonString` takes several microseconds per value; for the spelling every Telnyx event has
(`2024-01-01T00:00:00.000000Z`: at most six fractional digits, `Z` or a numeric offset) the standard
library's C parser gives the same instant many times faster. Other spellings are left to the caller's
general parser.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["seconds_and_nanos"]

_RFC3339_MICROS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def seconds_and_nanos(value: str) -> tuple[int, int] | None:
    """`(seconds, nanos)` since the epoch of `value` in the common spelling; None for any other text (which
    a general parser may still read) or an impossible date."""
    if not _RFC3339_MICROS.fullmatch(value):
        return None
    try:
        delta = datetime.fromisoformat(value) - _EPOCH
    except ValueError:
        return None
    return delta.days * 86400 + delta.seconds, delta.microseconds * 1000
