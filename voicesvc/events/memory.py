"""In-process event log: a ring buffer with retention by count and age (the embedded default).

Readers keep only a position; they read straight from the ring, so a slow reader costs nothing but its
position and never holds up appends or other readers. A reader that has caught up parks on a future
registered under its filter's keys (its event types, or the ids of one of its id lists); an append looks
only at the readers registered under one of the event's own keys and wakes those whose whole filter
matches, so an idle reader costs nothing for an event it cannot match. `readers_examined` and
`readers_woken` count that work.
"""

from __future__ import annotations

import asyncio
import functools
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from voicesvc.events.log import (
    AppendResult,
    CursorExpired,
    EventFilter,
    EventIds,
    EventLog,
    IdFilter,
    InvalidCursor,
    LogClosed,
    Start,
    StoredEvent,
    Subscription,
    type_prefixes,
    validate_append,
)

__all__ = ["MemoryEventLog"]

# Wake-up keys: every event, one exact type, one prefix, or one correlation id (`c`all control, `s`ession,
# co`n`nection).
_ALL: tuple[str, str] = ("*", "")
_WakeKey = tuple[str, str]
_Waiter = asyncio.Future[int | None]
"""Resolved with the sequence of the matching event that woke it, None when closed, or (at a reader's
deadline) `_TIMED_OUT - last`, where `last` is the log's end at that moment."""
_TIMED_OUT = -1
_SCAN_BATCH = 4096
"""Events a reader scans for a match before it lets the rest of the process run (a filtered replay)."""
_Check = Callable[[StoredEvent], bool] | None
"""What a parked reader's keys do not tell by themselves: the rest of its filter (None: nothing)."""
# An evicted event whose id is still de-duplicated: (seq, event type, received_at, attempt) of its first copy.
_Remembered = tuple[int, str, float, int]


def _time_out(waiter: _Waiter, log: MemoryEventLog) -> None:
    if not waiter.done():
        waiter.set_result(_TIMED_OUT - log._last)


def _reader_keys(event_filter: EventFilter, ids: IdFilter) -> tuple[list[_WakeKey], bool]:
    """The keys a reader parks under, and whether a key match must still be checked against its filter.

    A reader with id lists parks under the ids of its shortest list (an event has one id of each kind, so
    only readers naming that id are looked at) and checks its other lists and types on a match; a reader
    filtered by type only parks under its patterns, which match exactly (they never overlap).
    """
    lists = [
        (len(values), tag, values)
        for tag, values in (
            ("c", ids.call_control_ids),
            ("s", ids.call_session_ids),
            ("n", ids.connection_ids),
        )
        if values
    ]
    if lists:
        _, tag, chosen = min(lists)
        return [(tag, value) for value in chosen], True
    if event_filter.matches_all:
        return [_ALL], False
    return [("=", t) for t in event_filter.exact] + [("^", p) for p in event_filter.prefixes], False


@functools.lru_cache(maxsize=1024)
def _type_keys(event_type: str) -> tuple[_WakeKey, ...]:
    """The keys every event of `event_type` wakes (a webhook has one of a few dozen types)."""
    return (_ALL, ("=", event_type), *(("^", p) for p in type_prefixes(event_type)))


def _event_keys(event: StoredEvent) -> list[_WakeKey]:
    keys = list(_type_keys(event.event_type))
    ids = event.ids
    if ids.call_control_id:
        keys.append(("c", ids.call_control_id))
    if ids.call_session_id:
        keys.append(("s", ids.call_session_id))
    if ids.connection_id:
        keys.append(("n", ids.connection_id))
    return keys


class _Waiters:
    """Parked readers indexed by the filter keys they listen on.

    `examined` counts the parked readers appends looked at, `woken` those they woke: an append costs work
    only for readers registered under one of its keys.
    """

    def __init__(self) -> None:
        self._by_key: dict[_WakeKey, dict[_Waiter, _Check]] = {}
        self.examined = 0
        self.woken = 0

    def add(self, waiter: _Waiter, keys: Sequence[_WakeKey], check: _Check) -> None:
        for key in keys:
            self._by_key.setdefault(key, {})[waiter] = check

    def remove(self, waiter: _Waiter, keys: Sequence[_WakeKey]) -> None:
        for key in keys:
            waiting = self._by_key.get(key)
            if waiting is not None:
                waiting.pop(waiter, None)
                if not waiting:
                    del self._by_key[key]

    def wake(self, event: StoredEvent) -> None:
        for key in _event_keys(event):
            waiting = self._by_key.get(key)
            if not waiting:
                continue
            done = []
            for waiter, check in waiting.items():
                self.examined += 1
                if waiter.done():
                    done.append(waiter)
                elif check is None or check(event):
                    waiter.set_result(event.seq)
                    self.woken += 1
                    done.append(waiter)
            for waiter in done:
                del waiting[waiter]
            if not waiting:
                del self._by_key[key]

    def wake_all(self) -> None:
        for waiting in self._by_key.values():
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(None)
        self._by_key.clear()

    def __len__(self) -> int:
        return len({w for waiting in self._by_key.values() for w in waiting if not w.done()})


DEFAULT_DEDUP_WINDOW_S = 3600.0
DEFAULT_MAX_REMEMBERED_IDS = 1_000_000
"""About 150 bytes each; at the default window of an hour that covers 277 new events per second, and the
300 s signature tolerance alone 3,333 per second (more than one process ingests)."""


class MemoryEventLog(EventLog):
    """Ring buffer of at most `max_events` events, each kept at most `max_age_s` seconds.

    Event ids are de-duplicated for as long as the first copy is retained, and beyond that for
    `dedup_window_s` seconds after it was received (default: an hour, at most `max_age_s`), whatever the
    count retention evicted: the ids of evicted events are remembered with the position of their first copy,
    so a repeat is answered as a duplicate with the original cursor. At most `max_remembered_ids` evicted ids
    are remembered; beyond that the oldest is forgotten before its window ends (counted in
    `ids_forgotten_early`, and a repeat of it would be stored again), so memory stays bounded under any load.

    Nothing survives the process; cursors of an earlier process are recognised by their epoch and answered
    with `CursorExpired`. `start()` is optional for this backend.
    """

    def __init__(
        self,
        max_events: int = 100_000,
        max_age_s: float = 24 * 3600,
        *,
        dedup_window_s: float | None = None,
        max_remembered_ids: int = DEFAULT_MAX_REMEMBERED_IDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        if max_age_s <= 0:
            raise ValueError("max_age_s must be positive")
        window = min(DEFAULT_DEDUP_WINDOW_S, max_age_s) if dedup_window_s is None else dedup_window_s
        if window <= 0 or max_remembered_ids < 0:
            raise ValueError("dedup_window_s must be positive and max_remembered_ids not negative")
        self._capacity = max_events
        self._max_age = max_age_s
        self._dedup_window = window
        self._max_remembered = max_remembered_ids
        self._clock = clock
        self._ring: list[StoredEvent | None] = [None] * max_events
        self._first = 1  # oldest retained seq; equals _last + 1 while nothing is retained
        self._last = 0  # newest seq ever appended
        self._ids: dict[str, int] = {}
        # Evicted events whose id must still be recognised, oldest eviction first: id → the first copy.
        self._remembered: OrderedDict[str, _Remembered] = OrderedDict()
        self.ids_forgotten_early = 0
        """Evicted ids dropped from the memory before their window ended, to respect `max_remembered_ids`."""
        # The newest evicted sequence of each event type: tells a filtered reader whether retention took an
        # event it would have received, or only events it filters out.
        self._evicted: dict[str, int] = {}
        self._evict_due = math.inf
        """Before this time nothing is old enough to evict or forget: every read and append checks it, and
        only then looks at the oldest event and the oldest remembered id."""
        self._epoch = secrets.randbits(32)
        self._waiters = _Waiters()
        self._closed = False

    @property
    def epoch(self) -> int:
        """Random per instance: cursors never carry over to another process."""
        return self._epoch

    @property
    def dedup_window_s(self) -> float:
        """How long after its first copy was received an event id is still recognised."""
        return self._dedup_window

    @property
    def parked_readers(self) -> int:
        """How many subscriptions are currently waiting for new events."""
        return len(self._waiters)

    @property
    def readers_examined(self) -> int:
        """How many parked readers appends have looked at so far (each woken one included)."""
        return self._waiters.examined

    @property
    def readers_woken(self) -> int:
        """How many parked readers appends have woken so far."""
        return self._waiters.woken

    async def start(self) -> None:
        """Nothing to prepare; kept for interface symmetry."""
        self._check_open()

    async def close(self) -> None:
        """Close the log: appends fail and every subscription ends with `LogClosed`."""
        self._closed = True
        self._waiters.wake_all()

    async def append(
        self, raw: bytes, event_id: str, event_type: str, attempt: int = 1, ids: EventIds | None = None
    ) -> AppendResult:
        """Store the event in the ring (or return the retained copy with the same id)."""
        self._check_open()
        validate_append(raw, event_id, event_type, attempt)
        now = self._clock()
        self._evict(now)
        known = self._ids.get(event_id)
        if known is not None:
            return AppendResult(self._at(known), duplicate=True)
        remembered = self._remembered.get(event_id)
        if remembered is not None:
            # The first copy is no longer retained: answer with its position, and this copy's body.
            seq, event_type_first, received_at, attempt_first = remembered
            first = StoredEvent(
                seq, self.cursor(seq), event_id, event_type_first, received_at, attempt_first, bytes(raw)
            )
            return AppendResult(first, duplicate=True)
        seq = self._last + 1
        if seq - self._first >= self._capacity:
            self._drop_oldest()
        if self._first < seq:
            # Even a clock stepping back never makes `received_at` decrease along the ring (`Start.at`).
            now = max(now, self._at(seq - 1).received_at)
        event = StoredEvent(
            seq=seq,
            cursor=self.cursor(seq),
            event_id=event_id,
            event_type=event_type,
            received_at=now,
            attempt=attempt,
            raw=bytes(raw),
            ids=EventIds.of_body(raw) if ids is None else ids,
        )
        self._ring[seq % self._capacity] = event
        if self._first == seq:  # the oldest retained event now: it is due at its age limit
            self._evict_due = min(self._evict_due, now + self._max_age)
        self._last = seq
        self._ids[event_id] = seq
        self._waiters.wake(event)
        return AppendResult(event, duplicate=False)

    async def bounds(self) -> tuple[int | None, int | None]:
        """Oldest retained and latest appended sequence."""
        self._check_open()
        self._evict(self._clock())
        oldest = self._first if self._first <= self._last else None
        return oldest, (self._last or None)

    async def subscribe(
        self, start: Start, event_types: Sequence[str] = (), ids: IdFilter | None = None
    ) -> Subscription:
        """Open a reader; see `EventLog.subscribe`."""
        self._check_open()
        event_filter = EventFilter.of(event_types)
        id_filter = ids or IdFilter()
        self._evict(self._clock())
        if start.kind == "now":
            position = self._last
        elif start.kind == "oldest":
            position = self._first - 1
        elif start.kind == "time":
            assert start.time is not None
            position = self._before_time(start.time)
        else:
            assert start.position is not None
            epoch, seq = start.position
            if epoch != self._epoch:
                raise self._expired("cursor belongs to an earlier incarnation of the event log")
            if seq > self._last:
                raise InvalidCursor("cursor is ahead of the event log")
            position = self._skip_evicted(seq, event_filter)
        return _MemorySubscription(self, position, event_filter, id_filter)

    # -- internals shared with the subscriptions ---------------------------------------------------

    def _before_time(self, unix_time: float) -> int:
        """The position just before the first retained event received at or after `unix_time`
        (`received_at` never decreases along the ring, so a binary search finds it)."""
        low, high = self._first, self._last + 1
        while low < high:
            middle = (low + high) // 2
            if self._at(middle).received_at < unix_time:
                low = middle + 1
            else:
                high = middle
        return low - 1

    def _check_open(self) -> None:
        if self._closed:
            raise LogClosed("event log is closed")

    def _expired(self, message: str | None = None) -> CursorExpired:
        return CursorExpired(self.cursor(self._first - 1), message)

    def _at(self, seq: int) -> StoredEvent:
        event = self._ring[seq % self._capacity]
        assert event is not None
        assert event.seq == seq
        return event

    def _drop_oldest(self) -> None:
        slot = self._first % self._capacity
        event = self._ring[slot]
        if event is not None:
            self._evicted[event.event_type] = event.seq
            if self._ids.get(event.event_id) == event.seq:
                del self._ids[event.event_id]
                self._remember(event)
        self._ring[slot] = None
        self._first += 1

    def _remember(self, event: StoredEvent) -> None:
        if event.received_at < self._clock() - self._dedup_window:
            return
        if self._max_remembered == 0:
            self.ids_forgotten_early += 1
            return
        if len(self._remembered) >= self._max_remembered:
            self._remembered.popitem(last=False)
            self.ids_forgotten_early += 1
        self._remembered[event.event_id] = (event.seq, event.event_type, event.received_at, event.attempt)
        self._evict_due = min(self._evict_due, event.received_at + self._dedup_window)

    def _evict(self, now: float) -> None:
        if now < self._evict_due:
            return
        horizon = now - self._max_age
        while self._first <= self._last and self._at(self._first).received_at < horizon:
            self._drop_oldest()
        window_start = now - self._dedup_window
        remembered = self._remembered
        while remembered:
            oldest = next(iter(remembered.values()))
            if oldest[2] >= window_start:
                break
            remembered.popitem(last=False)
        due = math.inf
        if self._first <= self._last:
            due = self._at(self._first).received_at + self._max_age
        if remembered:
            due = min(due, next(iter(remembered.values()))[2] + self._dedup_window)
        self._evict_due = due

    def _skip_evicted(self, position: int, event_filter: EventFilter) -> int:
        """`position`, moved past evicted events when none of them matched the type filter; raises
        `CursorExpired` when retention removed an event of a type the reader would have received (its id
        lists are not consulted: the verdict errs on the side of telling)."""
        if position + 1 >= self._first:
            return position
        if any(seq > position and event_filter.matches(t) for t, seq in self._evicted.items()):
            raise self._expired()
        return self._first - 1

    def _read_after(
        self, position: int, event_filter: EventFilter, ids: IdFilter
    ) -> tuple[int, StoredEvent | None]:
        """First matching event after `position` within `_SCAN_BATCH` events, or the position up to which
        nothing matched (the log's end, or short of it when a long backlog is still to be scanned)."""
        self._evict(self._clock())
        position = self._skip_evicted(position, event_filter)
        any_ids = ids.matches_all
        end = min(self._last, position + _SCAN_BATCH)
        for seq in range(position + 1, end + 1):
            event = self._at(seq)
            if event_filter.matches(event.event_type) and (any_ids or ids.matches(event.ids)):
                return seq, event
        return end, None


class _MemorySubscription(Subscription):
    def __init__(self, log: MemoryEventLog, position: int, event_filter: EventFilter, ids: IdFilter) -> None:
        self._log = log
        self._position = position
        self._filter = event_filter
        self._id_filter = ids
        self._keys, checked = _reader_keys(event_filter, ids)
        self._check = self._matches if checked else None
        self._parked: _Waiter | None = None
        self._closed = False
        self._error: BaseException | None = None

    @property
    def checkpoint(self) -> str:
        parked = self._parked
        if parked is not None and not parked.done():
            # Parked and not woken: nothing matching was appended since it parked, so it has seen it all.
            return self._log.cursor(max(self._position, self._log._last))
        return self._log.cursor(self._position)

    @property
    def latest_seq(self) -> int | None:
        return self._log._last or None

    async def next(self, max_wait: float | None = None) -> StoredEvent | None:
        loop = asyncio.get_running_loop()
        deadline = None if max_wait is None else loop.time() + max(max_wait, 0.0)
        while True:
            self._raise_if_ended()
            try:
                self._position, event = self._log._read_after(self._position, self._filter, self._id_filter)
            except CursorExpired as exc:
                self._error = exc
                raise
            if event is not None:
                return event
            if self._position < self._log._last:
                # A long backlog without a match: let others run before scanning on.
                await asyncio.sleep(0)
                if deadline is not None and loop.time() >= deadline:
                    return None
                continue
            # Caught up: park until a matching append, close, or the deadline.
            waiter: _Waiter = loop.create_future()
            self._log._waiters.add(waiter, self._keys, self._check)
            self._parked = waiter
            # The deadline resolves the waiter rather than cancelling it, with the log's end at that moment:
            # everything up to there is known not to match, even if retention evicts it before this task
            # runs again (a reader that only knew its old position would then think it had missed events).
            timer = None if deadline is None else loop.call_at(deadline, _time_out, waiter, self._log)
            try:
                woken_by = await waiter
            finally:
                if timer is not None:
                    timer.cancel()
                self._log._waiters.remove(waiter, self._keys)
                self._parked = None
            if woken_by is not None and woken_by < 0:
                self._position = max(self._position, _TIMED_OUT - woken_by)
                # Scan once rather than return None: a matching append may have landed after the deadline
                # resolved the waiter and before this task resumed.
                try:
                    self._position, event = self._log._read_after(
                        self._position, self._filter, self._id_filter
                    )
                except CursorExpired as exc:
                    self._error = exc
                    raise
                return event
            if woken_by is not None:
                # Everything between parking and the waking event was non-matching.
                self._position = max(self._position, woken_by - 1)

    def _matches(self, event: StoredEvent) -> bool:
        return self._filter.matches(event.event_type) and self._id_filter.matches(event.ids)

    def _raise_if_ended(self) -> None:
        if self._closed:
            raise StopAsyncIteration
        if self._error is not None:
            raise self._error
        if self._log._closed:
            raise LogClosed("event log is closed")

    async def close(self) -> None:
        self._closed = True
        parked = self._parked
        if parked is not None and not parked.done():
            parked.set_result(None)
