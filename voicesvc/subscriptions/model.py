"""Subscriptions as storage sees them: the configuration, its validation, deliveries, errors and the backend
interface. Nothing here knows gRPC; `voicesvc.server.subscriptions` translates to and from the contract.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from voicesvc import jsontext
from voicesvc.events.log import EventFilter, Start, StoredEvent

__all__ = [
    "DEFAULT_ACK_DEADLINE_S",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_OUTSTANDING",
    "MAX_ACK_DEADLINE_S",
    "MAX_OUTSTANDING",
    "MIN_ACK_DEADLINE_S",
    "AlreadyExists",
    "Correlation",
    "DeadLetter",
    "Delivery",
    "Figures",
    "InvalidField",
    "MemberSession",
    "NotFound",
    "Ordering",
    "SubscriptionBackend",
    "SubscriptionConfig",
    "SubscriptionError",
    "SubscriptionState",
    "correlation_of",
    "validate_member_id",
    "validate_subscription_id",
]

DEFAULT_ACK_DEADLINE_S = 30.0
MIN_ACK_DEADLINE_S = 1.0
MAX_ACK_DEADLINE_S = 600.0
DEFAULT_MAX_ATTEMPTS = 5
MAX_ATTEMPTS_LIMIT = 1000
DEFAULT_MAX_OUTSTANDING = 100
MAX_OUTSTANDING = 10_000
MAX_FILTER_ENTRIES = 1000
MAX_MEMBER_ID_LENGTH = 128

Ordering = Literal["per_call", "none"]

_SUBSCRIPTION_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
_MEMBER_ID = re.compile(r"[\x21-\x7e]{1,128}")


class SubscriptionError(Exception):
    """Base class of the errors of the subscription store."""


class NotFound(SubscriptionError):
    """No subscription (or no dead letter) by that name; also ends the streams of a deleted subscription."""


class AlreadyExists(SubscriptionError):
    """A subscription with that id exists already."""


class InvalidField(SubscriptionError, ValueError):
    """A field has a value the subscription cannot take; `field` names it (path inside `Subscription`)."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}")
        self.field = field
        self.description = description


def validate_subscription_id(subscription_id: str, field: str = "subscription_id") -> None:
    """Raise `InvalidField` unless the id is 1 to 63 lower-case letters, digits and `-`, starting with one."""
    if not _SUBSCRIPTION_ID.fullmatch(subscription_id):
        raise InvalidField(
            field, "must be 1 to 63 lower-case letters, digits and '-', starting with a letter"
        )


def validate_member_id(member_id: str, field: str = "member_id") -> None:
    """Raise `InvalidField` unless the member id is 1 to 128 printable ASCII characters without spaces."""
    if not _MEMBER_ID.fullmatch(member_id):
        raise InvalidField(field, "must be 1 to 128 printable characters without spaces")


@dataclass(frozen=True, slots=True)
class Correlation:
    """The ids of an event that filters and call affinity use (empty strings when absent)."""

    call_control_id: str = ""
    call_session_id: str = ""
    connection_id: str = ""


def correlation_of(event: StoredEvent) -> Correlation:
    """The payload's call control, call session and connection ids of a stored webhook."""
    try:
        body = jsontext.loads(event.raw)
    except ValueError:
        return Correlation()
    data = body.get("data") if isinstance(body, dict) else None
    payload = data.get("payload") if isinstance(data, dict) else None
    if not isinstance(payload, dict):
        return Correlation()

    def text(key: str) -> str:
        value = payload.get(key)
        return value if isinstance(value, str) else ""

    return Correlation(text("call_control_id"), text("call_session_id"), text("connection_id"))


@dataclass(frozen=True, slots=True)
class SubscriptionConfig:
    """What a subscription is: its id, filter, delivery settings and start point. Validated on creation."""

    subscription_id: str
    event_types: tuple[str, ...] = ()
    call_control_ids: frozenset[str] = frozenset()
    call_session_ids: frozenset[str] = frozenset()
    connection_ids: frozenset[str] = frozenset()
    ack_deadline_s: float = DEFAULT_ACK_DEADLINE_S
    max_delivery_attempts: int = DEFAULT_MAX_ATTEMPTS
    """0 means no limit."""
    ordering: Ordering = "per_call"
    start: Start = field(default_factory=Start.now)
    create_time: float = 0.0

    def __post_init__(self) -> None:
        validate_subscription_id(self.subscription_id)
        if len(self.event_types) > MAX_FILTER_ENTRIES:
            raise InvalidField("filter.event_types", f"at most {MAX_FILTER_ENTRIES} entries are allowed")
        try:
            EventFilter.of(list(self.event_types))
        except ValueError as exc:
            raise InvalidField(
                "filter.event_types",
                f"{exc}; use an exact type such as call.answered or a prefix ending in a dot such as call.",
            ) from None
        for name in ("call_control_ids", "call_session_ids", "connection_ids"):
            values: frozenset[str] = getattr(self, name)
            if len(values) > MAX_FILTER_ENTRIES:
                raise InvalidField(f"filter.{name}", f"at most {MAX_FILTER_ENTRIES} entries are allowed")
            if any(not v for v in values):
                raise InvalidField(f"filter.{name}", "ids must not be empty")
        self.check_delivery(self.ack_deadline_s, self.max_delivery_attempts)
        if self.ordering not in ("per_call", "none"):
            raise InvalidField("ordering", f"unknown ordering {self.ordering!r}")

    @staticmethod
    def check_delivery(ack_deadline_s: float, max_delivery_attempts: int) -> None:
        """Raise `InvalidField` for a deadline or an attempt limit out of range."""
        if not MIN_ACK_DEADLINE_S <= ack_deadline_s <= MAX_ACK_DEADLINE_S:
            raise InvalidField(
                "ack_deadline", f"must be from {MIN_ACK_DEADLINE_S:g} s to {MAX_ACK_DEADLINE_S:g} s"
            )
        if not 0 <= max_delivery_attempts <= MAX_ATTEMPTS_LIMIT:
            raise InvalidField("max_delivery_attempts", f"must be from 0 (no limit) to {MAX_ATTEMPTS_LIMIT}")

    def matches(self, ids: Correlation) -> bool:
        """True if an event with these ids passes the filter's id lists (the log applies its type filter)."""
        return (
            (not self.call_control_ids or ids.call_control_id in self.call_control_ids)
            and (not self.call_session_ids or ids.call_session_id in self.call_session_ids)
            and (not self.connection_ids or ids.connection_id in self.connection_ids)
        )


@dataclass(frozen=True, slots=True)
class Figures:
    """Live figures of a subscription."""

    backlog: int = 0
    outstanding: int = 0
    dead_lettered: int = 0
    acked: int = 0
    ignored_ack_ids: int = 0
    members: int = 0


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """A subscription's configuration with its figures at the time of asking."""

    config: SubscriptionConfig
    figures: Figures


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of an event to a member."""

    ack_id: str
    event: StoredEvent
    attempt: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event that ran out of delivery attempts."""

    event: StoredEvent
    attempts: int
    last_attempt_time: float
    dead_letter_time: float


class MemberSession(ABC):
    """One stream of a member: deliveries out, acks, nacks and deadline changes in.

    Streams with the same member id are one member: they share its deliveries and its calls. When the
    member's last stream closes, its outstanding events are delivered again.
    """

    member_id: str

    @abstractmethod
    async def next(self, max_wait: float | None) -> list[Delivery]:
        """The deliveries waiting for this member (at least one), or `[]` after `max_wait` seconds.

        Raises `NotFound` once the subscription was deleted, `LogClosed` when the store shuts down.
        """

    @abstractmethod
    def ack(self, ack_ids: Sequence[str]) -> None:
        """Mark deliveries done; ids that name no outstanding delivery of this member are counted and
        ignored."""

    @abstractmethod
    def nack(self, ack_ids: Sequence[str]) -> None:
        """Give deliveries back for immediate redelivery."""

    @abstractmethod
    def modify_deadline(self, ack_ids: Sequence[str], seconds: float) -> None:
        """Set the deadline of deliveries to `seconds` from now (0 is a nack)."""

    @property
    @abstractmethod
    def outstanding(self) -> int:
        """Events outstanding at this member."""

    @abstractmethod
    async def close(self) -> None:
        """End this stream; idempotent."""


class SubscriptionBackend(ABC):
    """Where subscriptions, their group state and their dead letters live."""

    @abstractmethod
    async def start(self) -> None:
        """Prepare storage; call once before use."""

    @abstractmethod
    async def close(self) -> None:
        """End every member stream (with `LogClosed`) and release resources; idempotent."""

    @abstractmethod
    async def create(self, config: SubscriptionConfig) -> SubscriptionState:
        """Store a new subscription; raises `AlreadyExists`, or `InvalidField` for its start point."""

    @abstractmethod
    async def get(self, subscription_id: str) -> SubscriptionState:
        """The subscription with its figures; raises `NotFound`."""

    @abstractmethod
    async def list_all(self) -> list[SubscriptionState]:
        """Every subscription, in id order."""

    @abstractmethod
    async def update(
        self, subscription_id: str, *, ack_deadline_s: float | None, max_delivery_attempts: int | None
    ) -> SubscriptionState:
        """Change the delivery settings given (None keeps one); raises `NotFound`, `InvalidField`."""

    @abstractmethod
    async def delete(self, subscription_id: str) -> None:
        """Remove a subscription; its member streams end with `NotFound`. Raises `NotFound`."""

    @abstractmethod
    async def join(self, subscription_id: str, member_id: str, max_outstanding: int) -> MemberSession:
        """Open a stream of `member_id` in the subscription's group; raises `NotFound`."""

    @abstractmethod
    async def dead_letters(self, subscription_id: str) -> list[DeadLetter]:
        """The subscription's dead letters, oldest first; raises `NotFound`."""

    @abstractmethod
    async def redrive(self, subscription_id: str, event_ids: Sequence[str]) -> int:
        """Put the named dead letters (all when empty) back in front of the subscription; answers how many.

        Raises `NotFound` (nothing redriven) if a named event is not a dead letter of the subscription.
        """
