"""Every call's record, fed one event at a time in log order, and the feed of the changes it made.

The store is deterministic: the same events in the same order give the same calls and the same changes.
It also does what one call's reducer cannot: it finds the leg of an event that names only its leg id
(`call.recording.saved`), pairs the two legs of one session that are bridged at the same time
(`bridged_with`; Telnyx's `call.bridged` does not name the peer), keeps ended calls for a retention, then
forgets them but remembers their ids (so a late event cannot bring one back), and bounds the number of
calls it holds.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from voicesvc.calls.reducer import CallEvent, CallRecord, apply
from voicesvc.v1 import calls_pb2

__all__ = ["CallFilterSpec", "CallStore", "Change", "ChangeFeed"]

UPDATED = calls_pb2.CALL_CHANGE_KIND_UPDATED
ENDED = calls_pb2.CALL_CHANGE_KIND_ENDED


@dataclass(frozen=True, slots=True)
class Change:
    """One call changed by one event (the `call` is shared: never modify it)."""

    seq: int
    cursor: str
    kind: int
    call: calls_pb2.Call
    event_type: str


@dataclass(frozen=True, slots=True)
class CallFilterSpec:
    """A validated `CallFilter`: every set part must match."""

    states: frozenset[int] = frozenset()
    connection_id: str = ""
    call_session_id: str = ""
    direction: int = 0

    @property
    def is_empty(self) -> bool:
        """True when the filter lets every call through."""
        return not (self.states or self.connection_id or self.call_session_id or self.direction)

    def matches(self, call: calls_pb2.Call) -> bool:
        """True if `call` passes every part of the filter that is set."""
        return (
            (not self.states or call.state in self.states)
            and (not self.connection_id or call.connection_id == self.connection_id)
            and (not self.call_session_id or call.call_session_id == self.call_session_id)
            and (not self.direction or call.direction == self.direction)
        )


class ChangeFeed:
    """The newest `capacity` changes, and a way to wait for the next one."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._items: deque[Change] = deque(maxlen=capacity)
        self._dropped_through = 0
        self._waiter: asyncio.Future[None] | None = None

    def publish(self, change: Change) -> None:
        """Append a change and wake the waiting readers."""
        if len(self._items) == self._items.maxlen:
            self._dropped_through = self._items[0].seq
        self._items.append(change)
        self.wake()

    def wake(self) -> None:
        """Wake every waiting reader (also used when the position moves without a change)."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def since(self, seq: int) -> list[Change] | None:
        """Changes made by events after `seq`, oldest first; None when some of them were already dropped."""
        if seq < self._dropped_through:
            return None
        found: list[Change] = []
        for change in reversed(self._items):
            if change.seq <= seq:
                break
            found.append(change)
        found.reverse()
        return found

    async def wait(self, max_wait: float | None) -> None:
        """Return at the next change or position move, or after `max_wait` seconds."""
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.get_running_loop().create_future()
        waiter = self._waiter
        try:
            await asyncio.wait_for(asyncio.shield(waiter), max_wait)
        except TimeoutError:
            return


class CallStore:
    """The calls folded from the events applied so far.

    `ended_retention_s` is how long an ended call stays (counted from when its ending event was stored);
    `max_calls` bounds how many calls are held: past it the oldest ended call goes first, else the oldest
    live one (counted in `evicted_live`).
    """

    def __init__(
        self,
        *,
        ended_retention_s: float = 3600.0,
        max_calls: int = 100_000,
        feed: ChangeFeed | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ended_retention_s < 0 or max_calls < 1:
            raise ValueError("need ended_retention_s >= 0 and max_calls >= 1")
        self._retention = ended_retention_s
        self._max = max_calls
        self._clock = clock
        self.feed = feed or ChangeFeed()
        self._calls: dict[str, CallRecord] = {}
        self._names: list[str] = []
        """Every call's name, sorted: pages of a list are read from it without sorting."""
        self._legs: dict[str, str] = {}
        self._sessions: dict[str, set[str]] = {}
        self._ended: OrderedDict[str, float] = OrderedDict()
        self._forgotten: OrderedDict[str, None] = OrderedDict()
        self.seq = 0
        """Sequence of the newest event applied (0 before the first)."""
        self.cursor = ""
        """Cursor of the newest event applied ("" before the first)."""
        self.events_applied = 0
        self.evicted_live = 0

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, call_control_id: str) -> calls_pb2.Call | None:
        """The call with that id, or None."""
        record = self._calls.get(call_control_id)
        return None if record is None else record.call

    def calls(self) -> Iterable[calls_pb2.Call]:
        """Every call held, in the order first seen."""
        return (record.call for record in self._calls.values())

    def by_name(self, after: str = "") -> Iterator[calls_pb2.Call]:
        """Every call held whose name sorts after `after`, in name order (do not change the store while
        iterating)."""
        for index in range(bisect.bisect_right(self._names, after), len(self._names)):
            yield self._calls[self._names[index].removeprefix("calls/")].call

    def advance(self, seq: int, cursor: str) -> None:
        """Move the position past an event that concerns no call."""
        self.seq, self.cursor = seq, cursor
        self.feed.wake()

    def apply(self, event: CallEvent) -> list[Change]:
        """Fold one event in; returns the changes it made (none for a repeat or a forgotten call)."""
        self.seq, self.cursor = event.seq, event.cursor
        self.events_applied += 1
        changes: list[Change] = []
        call_control_id = event.call_control_id or self._legs.get(event.call_leg_id, "")
        if call_control_id and call_control_id not in self._forgotten:
            before = self._calls.get(call_control_id)
            if not event.call_control_id:
                event = replace(event, call_control_id=call_control_id)
            after = apply(before, event)
            if after is not None:
                self._store(after)
                kind = ENDED if after.ended and (before is None or not before.ended) else UPDATED
                changes.append(Change(event.seq, event.cursor, kind, after.call, event.event_type))
                if after.call.state == calls_pb2.CALL_STATE_BRIDGED and not after.call.bridged_with:
                    changes += self._pair(after, event)
        self._prune()
        for change in changes:
            self.feed.publish(change)
        if not changes:
            self.feed.wake()
        return changes

    def _store(self, record: CallRecord) -> None:
        call = record.call
        if call.call_control_id not in self._calls:
            bisect.insort(self._names, call.name)
        self._calls[call.call_control_id] = record
        if call.call_leg_id:
            self._legs[call.call_leg_id] = call.call_control_id
        if call.call_session_id:
            self._sessions.setdefault(call.call_session_id, set()).add(call.call_control_id)
        if record.ended and call.call_control_id not in self._ended:
            self._ended[call.call_control_id] = record.ended_received_at

    def _pair(self, record: CallRecord, event: CallEvent) -> list[Change]:
        """Name the peer of a newly bridged leg: the one other leg of its session bridged without a peer."""
        session = record.call.call_session_id
        peers = [
            self._calls[other]
            for other in self._sessions.get(session, ())
            if other != record.call.call_control_id
            and other in self._calls
            and self._calls[other].call.state == calls_pb2.CALL_STATE_BRIDGED
            and not self._calls[other].call.bridged_with
        ]
        if len(peers) != 1:
            return []
        changes = []
        for leg, peer in ((record, peers[0]), (peers[0], record)):
            call = calls_pb2.Call()
            call.CopyFrom(leg.call)
            call.bridged_with = peer.call.call_control_id
            self._calls[call.call_control_id] = replace(leg, call=call)
            changes.append(Change(event.seq, event.cursor, UPDATED, call, event.event_type))
        return changes

    def _prune(self) -> None:
        horizon = self._clock() - self._retention
        while self._ended:
            call_control_id, ended_at = next(iter(self._ended.items()))
            if ended_at > horizon and len(self._calls) <= self._max:
                break
            self._forget(call_control_id)
        while len(self._calls) > self._max:
            self.evicted_live += 1
            self._forget(next(iter(self._calls)))

    def _forget(self, call_control_id: str) -> None:
        record = self._calls.pop(call_control_id, None)
        self._ended.pop(call_control_id, None)
        self._forgotten[call_control_id] = None
        if len(self._forgotten) > self._max:
            self._forgotten.popitem(last=False)
        if record is None:
            return
        call = record.call
        index = bisect.bisect_left(self._names, call.name)
        if index < len(self._names) and self._names[index] == call.name:
            del self._names[index]
        if self._legs.get(call.call_leg_id) == call_control_id:
            del self._legs[call.call_leg_id]
        legs = self._sessions.get(call.call_session_id)
        if legs is not None:
            legs.discard(call_control_id)
            if not legs:
                del self._sessions[call.call_session_id]
