"""The group engine of a subscription: who gets which event when, with deadlines, redelivery and dead letters.

Each subscription reads the log through one log subscription of its own (the type filter pushed down to
the log, the id filters applied here) and keeps every event it read and has not finished — waiting for a
member, or outstanding at one — until it is acked or dead-lettered. It reads ahead at most
`read_ahead` unfinished events, so a subscription nobody serves costs bounded memory and simply lags the
log (until the log's retention overtakes it: then it carries on from the oldest retained event and logs
how far it jumped).

Dispatch. Every change (a new event, an ack, a nack, an expired deadline, a member joining or leaving)
schedules one dispatch pass over the waiting events, in the order they became waiting:

* Under per-call ordering an event is deliverable only at the head of its call's queue (every unfinished
  event of one `call_session_id`, in log order), so a call has at most one event outstanding, and its
  next event waits for an ack or a dead letter. The call is held by one member (its owner) as long as that
  member is connected: a new call goes to the connected member holding the fewest calls, and a call stays
  with its owner even while the owner has no room (the call then waits; the others go on).
* Events without a call session, and every event under `ORDERING_NONE`, go to the member with the most
  room.
* A member receives at most `max_outstanding` events at once (flow control).

A delivery gets a fresh ack id and a deadline timer. Ack: done, forgotten. Nack, an expired deadline, or
the member's last stream ending: the event becomes waiting again and its next delivery counts one attempt
more — unless it already had `max_delivery_attempts`, in which case it goes to the dead letters and its
call moves on. A member leaving also gives up its calls, which go to the others starting with their first
unacked event. Ack ids that name no outstanding delivery of the member (unknown, already settled, stale
after a redelivery, another member's) are counted and ignored.

The engine runs in one process. The memory backend (`memory`) feeds it from a log subscription and keeps
nothing else: an acked event is never delivered again by this process, and nothing survives the process
(the memory event log does not either). The NATS backend (`nats`) runs it on the replica that leads a
subscription, feeds it from a durable JetStream consumer and writes what it settles to JetStream
(`GroupHooks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog

from voicesvc.events.log import (
    CursorExpired,
    EventLog,
    InvalidCursor,
    LogClosed,
    LogUnavailable,
    Start,
    StoredEvent,
    Subscription,
)
from voicesvc.subscriptions.model import (
    DeadLetter,
    Delivery,
    Figures,
    MemberSession,
    NotFound,
    SubscriptionConfig,
    correlation_of,
)

__all__ = ["DEFAULT_READ_AHEAD", "EngineSession", "Entry", "GroupEngine", "GroupHooks"]

logger = structlog.get_logger("voicesvc.subscriptions")

DEFAULT_READ_AHEAD = 10_000
MAX_IDLE_AFFINITIES = 100_000
"""Calls remembered per subscription after their last event finished (so a call's later events still go
to its member); the longest idle ones are forgotten beyond that."""
_RETRY_S = 1.0


@dataclass(eq=False, slots=True)
class Entry:
    """An unfinished event of a subscription: waiting for a member, or outstanding at one."""

    event: StoredEvent
    key: str | None
    """The call session under per-call ordering; None when the event may go to anyone."""
    attempts: int = 0
    member: _Member | None = None
    ack_id: str | None = None
    timer: asyncio.TimerHandle | None = None
    last_attempt: float = 0.0
    handle: object = None
    """What the backend needs to settle the event in its storage (a JetStream message)."""
    redriven: bool = False


class GroupHooks:
    """What a backend does when the engine settles events; the memory backend does nothing."""

    def delivered(self, entry: Entry) -> None:
        """`entry` was just delivered (its `attempts` counts this delivery)."""

    def acked(self, entry: Entry) -> None:
        """`entry` was acked."""

    def dead_lettered(self, entry: Entry, letter: DeadLetter) -> None:
        """`entry` ran out of attempts and is now `letter`."""

    def assigned(self, key: str, member_id: str) -> None:
        """The call `key` was given to `member_id`."""

    def joined(self, member_id: str) -> None:
        """A member joined (its first stream opened)."""

    def left(self, member_id: str) -> None:
        """A member left (its last stream closed)."""


@dataclass(eq=False, slots=True)
class _Member:
    member_id: str
    max_outstanding: int
    streams: int = 0
    outstanding: dict[str, Entry] = field(default_factory=dict)
    calls: set[str] = field(default_factory=set)
    queue: deque[Delivery] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    ended: BaseException | None = None

    @property
    def room(self) -> int:
        return self.max_outstanding - len(self.outstanding)


class GroupEngine:
    """The delivery engine of one subscription (see the module docstring).

    Events come from the log subscription `open(log)` starts, or from a backend through `offer`.
    """

    def __init__(
        self,
        config: SubscriptionConfig,
        read_ahead: int,
        clock: Callable[[], float],
        hooks: GroupHooks | None = None,
    ) -> None:
        self.config = config
        self._read_ahead = read_ahead
        self._clock = clock
        self._hooks = hooks or GroupHooks()
        self.preferred: dict[str, str] = {}
        """Call → member id remembered from storage: honoured when that member is connected."""
        self._log: EventLog | None = None
        self._seqs: dict[int, Entry] = {}
        self._waiting: dict[int, Entry] = {}
        self._calls: dict[str, deque[Entry]] = {}
        self._owners: OrderedDict[str, _Member] = OrderedDict()
        self._members: dict[str, _Member] = {}
        self._ack_ids: dict[str, Entry] = {}
        self._dead: OrderedDict[str, DeadLetter] = OrderedDict()
        self._unfinished = 0
        self._acked = 0
        self._ignored = 0
        self._room = asyncio.Event()
        self._room.set()
        self._dispatch_scheduled = False
        self._paused = False
        self._reader: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------------

    async def open(self, log: EventLog) -> None:
        """Subscribe to `log` at the configured start and begin reading."""
        self._log = log
        self._subscription = await log.subscribe(self.config.start, list(self.config.event_types))
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._closed

    async def wait_for_room(self) -> None:
        """Return once the engine takes more events (fewer than `read_ahead` unfinished)."""
        while self._unfinished >= self._read_ahead and not self._closed:
            self._room.clear()
            await self._room.wait()

    def unfinished(self) -> list[Entry]:
        """Every event waiting or outstanding."""
        return list(self._seqs.values())

    def owner_of(self, key: str) -> str | None:
        """The member holding the call `key` now, if any."""
        member = self._owners.get(key)
        return member.member_id if member is not None else None

    def holds(self, seq: int) -> bool:
        """Whether the event at `seq` is unfinished here."""
        return seq in self._seqs

    def offer(
        self, stored: StoredEvent, handle: object = None, attempts: int = 0, *, redriven: bool = False
    ) -> bool:
        """Take an event from the backend (`attempts` deliveries so far); answers False for one the engine
        already holds (its handle is then replaced) or one the filter drops."""
        known = self._seqs.get(stored.seq)
        if known is not None:
            known.handle = handle
            return False
        return self._accept(stored, handle, attempts, redriven=redriven)

    async def close(self, error: BaseException) -> None:
        """Stop reading, cancel every timer and end every member stream with `error`."""
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.close()
        for entry in self._ack_ids.values():
            if entry.timer is not None:
                entry.timer.cancel()
        for member in self._members.values():
            member.ended = error
            member.wakeup.set()

    # -- reading the log ---------------------------------------------------------------------------

    async def _read(self) -> None:
        while not self._closed:
            while self._unfinished >= self._read_ahead:
                self._room.clear()
                await self._room.wait()
            assert self._subscription is not None
            assert self._log is not None
            try:
                stored = await self._subscription.next(None)
            except StopAsyncIteration:
                return
            except LogClosed:
                return
            except CursorExpired as exc:
                logger.warning(
                    "subscription_overtaken_by_retention",
                    subscription=self.config.subscription_id,
                    resumed_after=exc.oldest_cursor,
                )
                self._subscription = await self._resubscribe(Start.after(exc.oldest_cursor))
                continue
            except LogUnavailable as exc:
                logger.warning(
                    "subscription_log_unavailable", subscription=self.config.subscription_id, error=str(exc)
                )
                await asyncio.sleep(_RETRY_S)
                self._subscription = await self._resubscribe(Start.after(self._subscription.checkpoint))
                continue
            if stored is not None:
                self._accept(stored)

    async def _resubscribe(self, start: Start) -> Subscription:
        assert self._log is not None
        while True:
            try:
                return await self._log.subscribe(start, list(self.config.event_types))
            except CursorExpired as exc:
                start = Start.after(exc.oldest_cursor)
            except (LogUnavailable, InvalidCursor) as exc:
                logger.warning(
                    "subscription_resubscribe_failed",
                    subscription=self.config.subscription_id,
                    error=str(exc),
                )
                await asyncio.sleep(_RETRY_S)

    def _accept(
        self, stored: StoredEvent, handle: object = None, attempts: int = 0, *, redriven: bool = False
    ) -> bool:
        ids = correlation_of(stored)
        if not self.config.matches(ids):
            return False
        key = (ids.call_session_id or None) if self.config.ordering == "per_call" else None
        entry = Entry(stored, key, attempts=attempts, handle=handle, redriven=redriven)
        if key is not None:
            queue = self._calls.setdefault(key, deque())
            # In log order, also when a backend hands events over out of order (redeliveries after a
            # failover); never in front of the event outstanding now.
            position = len(queue)
            while (
                position > 0
                and queue[position - 1].event.seq > stored.seq
                and queue[position - 1].member is None
            ):
                position -= 1
            queue.insert(position, entry)
        self._seqs[stored.seq] = entry
        self._waiting[stored.seq] = entry
        self._unfinished += 1
        self._schedule()
        return True

    # -- members -----------------------------------------------------------------------------------

    def join(self, member_id: str, max_outstanding: int) -> _Member:
        """Add a stream of `member_id` (a new member on its first stream)."""
        member = self._members.get(member_id)
        if member is None:
            member = _Member(member_id, max_outstanding)
            self._members[member_id] = member
            self._hooks.joined(member_id)
        member.max_outstanding = max_outstanding
        member.streams += 1
        self._schedule()
        return member

    def leave(self, member: _Member) -> None:
        """Remove a stream; the member leaves with its last one (its deliveries and calls are given back)."""
        member.streams -= 1
        if member.streams > 0 or self._closed:
            return
        del self._members[member.member_id]
        self._hooks.left(member.member_id)
        for key in member.calls:
            if self._owners.get(key) is member:
                del self._owners[key]
        member.calls.clear()
        member.queue.clear()
        for entry in list(member.outstanding.values()):
            self._give_back(entry)
        self._schedule()

    # -- settling deliveries -----------------------------------------------------------------------

    def ack(self, member: _Member, ack_ids: Sequence[str]) -> None:
        """Settle the member's deliveries as done."""
        for ack_id in ack_ids:
            entry = self._settle(member, ack_id)
            if entry is None:
                continue
            self._finish(entry)
            self._acked += 1
            self._hooks.acked(entry)
        self._schedule()

    def nack(self, member: _Member, ack_ids: Sequence[str]) -> None:
        """Give the member's deliveries back for redelivery."""
        for ack_id in ack_ids:
            entry = self._outstanding(member, ack_id)
            if entry is not None:
                self._give_back(entry)
        self._schedule()

    def modify_deadline(self, member: _Member, ack_ids: Sequence[str], seconds: float) -> None:
        """Set the deadline of the member's deliveries to `seconds` from now (0 is a nack)."""
        if seconds <= 0:
            self.nack(member, ack_ids)
            return
        loop = asyncio.get_running_loop()
        for ack_id in ack_ids:
            entry = self._outstanding(member, ack_id)
            if entry is None:
                continue
            if entry.timer is not None:
                entry.timer.cancel()
            entry.timer = loop.call_later(seconds, self._expire, ack_id)

    def _outstanding(self, member: _Member, ack_id: str) -> Entry | None:
        entry = self._ack_ids.get(ack_id)
        if entry is None or entry.member is not member:
            self._ignored += 1
            return None
        return entry

    def _settle(self, member: _Member, ack_id: str) -> Entry | None:
        entry = self._outstanding(member, ack_id)
        if entry is None:
            return None
        self._release(entry)
        return entry

    def _release(self, entry: Entry) -> None:
        """Detach an outstanding entry from its member and its ack id."""
        if entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None
        assert entry.ack_id is not None
        assert entry.member is not None
        del self._ack_ids[entry.ack_id]
        entry.member.outstanding.pop(entry.ack_id, None)
        entry.member = None
        entry.ack_id = None

    def _expire(self, ack_id: str) -> None:
        entry = self._ack_ids.get(ack_id)
        if entry is not None:
            entry.timer = None
            self._give_back(entry)
            self._schedule()

    def _give_back(self, entry: Entry) -> None:
        """A delivery failed (nack, deadline, member gone): wait again, or go to the dead letters."""
        self._release(entry)
        limit = self.config.max_delivery_attempts
        if limit and entry.attempts >= limit:
            self._finish(entry)
            letter = DeadLetter(entry.event, entry.attempts, entry.last_attempt, self._clock())
            self._dead[entry.event.event_id] = letter
            self._hooks.dead_lettered(entry, letter)
            return
        self._waiting[entry.event.seq] = entry

    def _finish(self, entry: Entry) -> None:
        """The entry is done (acked or dead-lettered): its call moves on to its next event."""
        if entry.key is not None:
            queue = self._calls[entry.key]
            queue.remove(entry)  # the head, except for a dead letter redriven behind an outstanding head
            if not queue:
                del self._calls[entry.key]
        self._seqs.pop(entry.event.seq, None)
        self._unfinished -= 1
        if self._unfinished < self._read_ahead:
            self._room.set()

    # -- dispatch ----------------------------------------------------------------------------------

    def _schedule(self) -> None:
        if not self._dispatch_scheduled and not self._closed:
            self._dispatch_scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    def pause(self) -> None:
        """Hold every delivery until `resume` (while a backend gathers what an earlier holder left)."""
        self._paused = True

    def resume(self) -> None:
        """Deliver again after `pause`."""
        self._paused = False
        self._schedule()

    def _dispatch(self) -> None:
        self._dispatch_scheduled = False
        if self._closed or self._paused or not self._waiting:
            return
        free = [m for m in self._members.values() if m.room > 0]
        if not free:
            return
        loop = asyncio.get_running_loop()
        woken: set[_Member] = set()
        for entry in list(self._waiting.values()):
            if entry.key is not None:
                if self._calls[entry.key][0] is not entry:
                    continue  # an earlier event of the call is unfinished
                member = self._owner(entry.key)
                if member is None or member.room <= 0:
                    continue
            else:
                member = max(free, key=lambda m: m.room)
                if member.room <= 0:
                    break
            self._deliver(entry, member, loop)
            woken.add(member)
            if member.room <= 0:
                free = [m for m in free if m.room > 0]
                if not free:
                    break
        for member in woken:
            member.wakeup.set()

    def _owner(self, key: str) -> _Member | None:
        member = self._owners.get(key)
        if member is not None:
            self._owners.move_to_end(key)
            return member
        if not self._members:
            return None
        preferred = self._members.get(self.preferred.pop(key, ""))
        member = preferred or min(self._members.values(), key=lambda m: len(m.calls))
        self._owners[key] = member
        member.calls.add(key)
        if preferred is None:
            self._hooks.assigned(key, member.member_id)
        if len(self._owners) > len(self._calls) + MAX_IDLE_AFFINITIES:
            self._forget_idle_call()
        return member

    def _forget_idle_call(self) -> None:
        for key in self._owners:
            if key not in self._calls:
                self._owners.pop(key).calls.discard(key)
                return

    def _deliver(self, entry: Entry, member: _Member, loop: asyncio.AbstractEventLoop) -> None:
        del self._waiting[entry.event.seq]
        entry.attempts += 1
        entry.last_attempt = self._clock()
        ack_id = secrets.token_urlsafe(12)
        entry.ack_id = ack_id
        entry.member = member
        entry.timer = loop.call_later(self.config.ack_deadline_s, self._expire, ack_id)
        self._ack_ids[ack_id] = entry
        member.outstanding[ack_id] = entry
        member.queue.append(Delivery(ack_id, entry.event, entry.attempts))
        self._hooks.delivered(entry)

    # -- dead letters ------------------------------------------------------------------------------

    def dead_letters(self) -> list[DeadLetter]:
        """The dead letters, oldest first."""
        return list(self._dead.values())

    def restore_dead_letter(self, letter: DeadLetter) -> None:
        """Hold a dead letter kept by the backend (after a restart or failover)."""
        self._dead[letter.event.event_id] = letter

    def redrive(self, event_ids: Sequence[str]) -> int:
        """Put dead letters (all when `event_ids` is empty) back in front of the subscription; answers how
        many."""
        wanted = list(dict.fromkeys(event_ids)) if event_ids else list(self._dead)
        missing = [i for i in wanted if i not in self._dead]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise NotFound(f"not dead letters of subscriptions/{self.config.subscription_id}: {shown}")
        entries = sorted(
            (Entry(self._dead.pop(i).event, None, redriven=True) for i in wanted), key=lambda e: e.event.seq
        )
        entries = [e for e in entries if e.event.seq not in self._seqs]
        by_call: dict[str, list[Entry]] = {}
        for entry in entries:
            ids = correlation_of(entry.event)
            if self.config.ordering == "per_call" and ids.call_session_id:
                entry.key = ids.call_session_id
                by_call.setdefault(entry.key, []).append(entry)
        for key, redriven in by_call.items():
            queue = self._calls.get(key, deque())
            # In front of the call's events, but behind the one outstanding now (one at a time per call).
            head = [queue.popleft()] if queue and queue[0].member is not None else []
            self._calls[key] = deque([*head, *redriven, *queue])
        self._waiting = {**{e.event.seq: e for e in entries}, **self._waiting}
        self._seqs.update((e.event.seq, e) for e in entries)
        self._unfinished += len(entries)
        self._schedule()
        return len(entries)

    # -- figures -----------------------------------------------------------------------------------

    def figures(self) -> Figures:
        """The live figures."""
        return Figures(
            backlog=len(self._waiting),
            outstanding=len(self._ack_ids),
            dead_lettered=len(self._dead),
            acked=self._acked,
            ignored_ack_ids=self._ignored,
            members=len(self._members),
        )


class EngineSession(MemberSession):
    """A member stream served by a `GroupEngine` in this process."""

    def __init__(self, group: GroupEngine, member: _Member) -> None:
        self._group = group
        self._member = member
        self.member_id = member.member_id
        self._closed = False

    async def next(self, max_wait: float | None) -> list[Delivery]:
        """See `MemberSession.next`."""
        member = self._member
        if self._closed:
            return []
        try:
            async with asyncio.timeout(max_wait):
                while not member.queue and member.ended is None and not self._closed:
                    member.wakeup.clear()
                    await member.wakeup.wait()
        except TimeoutError:
            return []
        if member.ended is not None:
            raise member.ended
        if self._closed:
            return []
        batch = list(member.queue)
        member.queue.clear()
        # A delivery settled or redelivered while it sat in the queue is not sent.
        return [d for d in batch if d.ack_id in member.outstanding]

    def ack(self, ack_ids: Sequence[str]) -> None:
        """See `MemberSession.ack`."""
        self._group.ack(self._member, ack_ids)

    def nack(self, ack_ids: Sequence[str]) -> None:
        """See `MemberSession.nack`."""
        self._group.nack(self._member, ack_ids)

    def modify_deadline(self, ack_ids: Sequence[str], seconds: float) -> None:
        """See `MemberSession.modify_deadline`."""
        self._group.modify_deadline(self._member, ack_ids, seconds)

    @property
    def outstanding(self) -> int:
        """See `MemberSession.outstanding`."""
        return len(self._member.outstanding)

    async def close(self) -> None:
        """See `MemberSession.close`."""
        if not self._closed:
            self._closed = True
            self._group.leave(self._member)
            self._member.wakeup.set()
