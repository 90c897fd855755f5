"""Pull requests of a subscription: their settings, their bookkeeping and how they end."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

__all__ = ["PullOutcome", "PullRequest", "PullSettings", "next_subject", "outcome_of_status"]

API_PREFIX = "$JS.API"


@dataclass(frozen=True, slots=True)
class PullSettings:
    """Each pull asks for at most `batch` events and expires after `expires_s` without any; the consumer
    is removed by the server `consumer_inactive_s` after its last pull."""

    batch: int = 64
    expires_s: float = 10.0
    consumer_inactive_s: float = 300.0

    def __post_init__(self) -> None:
        if self.batch < 1 or self.expires_s <= 0 or self.consumer_inactive_s <= self.expires_s:
            raise ValueError("need pull_batch >= 1 and 0 < pull_expires_s < consumer_inactive_s")

    @property
    def patience_s(self) -> float:
        """How long after sending a pull it is presumed lost: room for the server's own expiry notice."""
        return self.expires_s + max(1.0, self.expires_s / 2)

    def payload(self) -> bytes:
        """Body of a pull request (`CONSUMER.MSG.NEXT`)."""
        return json.dumps({"batch": self.batch, "expires": int(self.expires_s * 1e9)}).encode()


def next_subject(stream: str, consumer: str) -> str:
    """The JetStream API subject a pull request of `consumer` is published to."""
    return f"{API_PREFIX}.CONSUMER.MSG.NEXT.{stream}.{consumer}"


class PullOutcome(enum.Enum):
    """How a pull request ended, as the server's status messages (or the delivered count) tell."""

    EXHAUSTED = "exhausted"
    """Every asked-for event was delivered."""
    IDLE = "idle"
    """Expired (or nothing to deliver) with no more events."""
    ENDED = "ended"
    """Ended for another reason; simply pull again."""
    GONE = "gone"
    """The consumer no longer exists on the server."""


def outcome_of_status(status: str, description: str) -> PullOutcome:
    """The outcome a terminal status message (any but `100`) announces."""
    description = description.lower()
    if status in ("404", "408"):
        return PullOutcome.IDLE
    if status == "503" or (status == "409" and "deleted" in description):
        return PullOutcome.GONE
    return PullOutcome.ENDED


@dataclass(slots=True)
class PullRequest:
    """One outstanding pull request of a subscription."""

    token: str
    arrivals_at_issue: int
    last_seq_at_issue: int
    deadline: float
    remaining: int
    outcome: PullOutcome | None = None
