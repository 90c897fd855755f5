"""The `memory` backend: subscriptions, their group engines and dead letters in this process, each engine
reading the event log through a log subscription of its own (see `engine` for the semantics)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from voicesvc.events.log import EventLog, InvalidCursor, LogClosed
from voicesvc.subscriptions.engine import DEFAULT_READ_AHEAD, EngineSession, GroupEngine
from voicesvc.subscriptions.model import (
    AlreadyExists,
    DeadLetter,
    InvalidField,
    MemberSession,
    NotFound,
    SubscriptionBackend,
    SubscriptionConfig,
    SubscriptionState,
)

__all__ = ["MemorySubscriptions"]


class MemorySubscriptions(SubscriptionBackend):
    """Subscriptions and their groups in this process, reading `log`.

    `read_ahead` bounds the unfinished events each subscription holds. Configurations, acks and dead
    letters last as long as the process.
    """

    def __init__(
        self, log: EventLog, *, read_ahead: int = DEFAULT_READ_AHEAD, clock: Callable[[], float] = time.time
    ) -> None:
        if read_ahead < 1:
            raise ValueError("read_ahead must be at least 1")
        self._log = log
        self._read_ahead = read_ahead
        self._clock = clock
        self._groups: dict[str, GroupEngine] = {}
        self._closed = False

    async def start(self) -> None:
        """Nothing to prepare."""

    async def close(self) -> None:
        """End every member stream with `LogClosed`."""
        self._closed = True
        groups = list(self._groups.values())
        self._groups.clear()
        for group in groups:
            await group.close(LogClosed("voicesvc is shutting down"))

    def _group(self, subscription_id: str) -> GroupEngine:
        if self._closed:
            raise LogClosed("voicesvc is shutting down")
        group = self._groups.get(subscription_id)
        if group is None:
            raise NotFound(f"subscriptions/{subscription_id} does not exist")
        return group

    async def create(self, config: SubscriptionConfig) -> SubscriptionState:
        """Create the subscription and start reading the log at its start point."""
        if self._closed:
            raise LogClosed("voicesvc is shutting down")
        if config.subscription_id in self._groups:
            raise AlreadyExists(f"subscriptions/{config.subscription_id} already exists")
        config = replace(config, create_time=self._clock())
        group = GroupEngine(config, self._read_ahead, self._clock)
        try:
            await group.open(self._log)
        except InvalidCursor as exc:
            raise InvalidField("start_time", str(exc)) from None
        if config.subscription_id in self._groups:  # created concurrently while subscribing
            await group.close(NotFound("replaced"))
            raise AlreadyExists(f"subscriptions/{config.subscription_id} already exists")
        self._groups[config.subscription_id] = group
        return SubscriptionState(group.config, group.figures())

    async def get(self, subscription_id: str) -> SubscriptionState:
        """The subscription and its figures."""
        group = self._group(subscription_id)
        return SubscriptionState(group.config, group.figures())

    async def list_all(self) -> list[SubscriptionState]:
        """Every subscription, in id order."""
        return [SubscriptionState(g.config, g.figures()) for _, g in sorted(self._groups.items())]

    async def update(
        self, subscription_id: str, *, ack_deadline_s: float | None, max_delivery_attempts: int | None
    ) -> SubscriptionState:
        """Change the deadline and/or the attempt limit."""
        group = self._group(subscription_id)
        config = group.config
        deadline = config.ack_deadline_s if ack_deadline_s is None else ack_deadline_s
        attempts = config.max_delivery_attempts if max_delivery_attempts is None else max_delivery_attempts
        SubscriptionConfig.check_delivery(deadline, attempts)
        group.config = replace(config, ack_deadline_s=deadline, max_delivery_attempts=attempts)
        return SubscriptionState(group.config, group.figures())

    async def delete(self, subscription_id: str) -> None:
        """Remove the subscription; its streams end with `NotFound`."""
        group = self._group(subscription_id)
        del self._groups[subscription_id]
        await group.close(NotFound(f"subscriptions/{subscription_id} was deleted"))

    async def join(self, subscription_id: str, member_id: str, max_outstanding: int) -> MemberSession:
        """Open a stream of the member."""
        group = self._group(subscription_id)
        return EngineSession(group, group.join(member_id, max_outstanding))

    async def dead_letters(self, subscription_id: str) -> list[DeadLetter]:
        """The dead letters, oldest first."""
        return self._group(subscription_id).dead_letters()

    async def redrive(self, subscription_id: str, event_ids: Sequence[str]) -> int:
        """Put dead letters back in front of the subscription."""
        return self._group(subscription_id).redrive(event_ids)
