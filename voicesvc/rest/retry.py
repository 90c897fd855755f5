"""Retry policy for upstream REST calls: which failures may be retried, and how long to wait."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from voicesvc.backoff import Backoff, Jitter

# PATCH too: Telnyx's PATCH sets the fields it is given, so sending it twice leaves the same resource and
# the same answer. Not DELETE: its effect is idempotent but its answer is not; a retry after a delete that
# took effect answers 404, which would tell the caller the resource was never there.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH"})

DEFAULT_BACKOFF = Backoff(initial_s=0.1, max_s=5.0, multiplier=2.0, jitter=Jitter.FULL)
"""The REST retry waits unless configured otherwise: full jitter below 0.1 s, 0.2 s, 0.4 s, … up to 5 s."""


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
    """The retry mode of requests sent with ``method``; ``has_dedup_key`` means every such request carries a
    key Telnyx de-duplicates by (a ``command_id``, which the server fills in when the caller left it empty).

    Decided once per route when routes are built, not per call."""
    if method.upper() in _IDEMPOTENT_METHODS or has_dedup_key:
        return RetryMode.IDEMPOTENT
    return RetryMode.UNSAFE


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a REST request is attempted and how long to wait between attempts.

    The waits come from ``backoff`` (by default full jitter, doubling from 0.1 s up to 5 s). A
    ``Retry-After`` sent with a 429 or 503 raises the wait to at least the advertised delay; a
    ``Retry-After`` longer than ``max_retry_after_s`` is not waited for at all (the error is returned so the
    caller can come back later).
    """

    max_attempts: int = 4
    backoff: Backoff = DEFAULT_BACKOFF
    max_retry_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_retry_after_s < 0:
            raise ValueError("max_retry_after_s must not be negative")


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
