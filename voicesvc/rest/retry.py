"""Retry policy for upstream REST calls: which failures may be retried, and how long to wait."""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# PATCH too: Telnyx's PATCH sets the fields it is given, so sending it twice leaves the same resource and
# the same answer. Not DELETE: its effect is idempotent but its answer is not; a retry after a delete that
# took effect answers 404, which would tell the caller the resource was never there.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH"})


class RetryMode(enum.Enum):
    """How aggressively a request may be retried.

    ``IDEMPOTENT``: repeating the request cannot cause a second effect or a different answer (GET/PUT/PATCH,
    or a POST command carrying a ``command_id`` that Telnyx de-duplicates). Retried on connection errors,
    timeouts, 429 and 5xx.

    ``UNSAFE``: a POST without a de-duplication key, or a DELETE. Retried only when the request provably
    never reached the server (refused connection, DNS failure, connect timeout) or was refused by the rate
    limiter (429), never once it may have been processed.

    ``NONE``: never retried.
    """

    IDEMPOTENT = "idempotent"
    UNSAFE = "unsafe"
    NONE = "none"


def retry_mode_for(method: str, *, has_dedup_key: bool) -> RetryMode:
    """Pick the retry mode for a request; ``has_dedup_key`` means the body carries a ``command_id``."""
    if method.upper() in _IDEMPOTENT_METHODS or has_dedup_key:
        return RetryMode.IDEMPOTENT
    return RetryMode.UNSAFE


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter.

    The n-th retry (n starting at 1) waits a uniformly random time in
    ``[0, min(max_backoff, initial_backoff * multiplier ** (n - 1))]``. A ``Retry-After`` sent with a
    429 or 503 raises that wait to at least the advertised delay; a ``Retry-After`` longer than
    ``max_retry_after`` is not waited for at all (the error is returned so the caller can come back later).
    """

    max_attempts: int = 4
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ValueError("backoff durations must not be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")

    def backoff(self, retry_number: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to sleep before retry number ``retry_number`` (1 for the first retry)."""
        if retry_number < 1:
            raise ValueError("retry_number starts at 1")
        # Cap the exponent so a large retry number cannot overflow the float.
        exponent = min(retry_number - 1, 1024)
        try:
            ceiling = self.initial_backoff * self.multiplier**exponent
        except OverflowError:
            ceiling = math.inf
        return rand() * min(self.max_backoff, ceiling)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delay in seconds or an HTTP-date) into seconds from now.

    Returns None when the header is absent or unparseable; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # HTTP-dates are always GMT; a zone-less parse result means the same.
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())
