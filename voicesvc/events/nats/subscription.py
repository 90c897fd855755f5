"""A reader of the JetStream event log through its own ephemeral pull consumer.

The consumer has no acks, starts at position + 1 and has the subject filters pushed down; the reader asks
for at most one batch at a time, so the server never pushes more than it asked for and a slow reader holds
one batch only. The answers arrive on the connection's shared inbox, which hands the reader what its
consumer sends; an idle reader holds no buffer, only its position and the one pull it has outstanding.

JetStream silently skips messages the retention removed before the consumer reached them, so the reader
tracks its position and, at a gap in sequences or when advancing over an idle period, compares it with the
stream's first sequence: a reader whose next position was removed gets `CursorExpired`.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import deque

import nats.js.errors
from nats.js import api

from voicesvc.events.log import (
    CursorExpired,
    EventFilter,
    IdFilter,
    LogClosed,
    LogUnavailable,
    StoredEvent,
    Subscription,
)
from voicesvc.events.nats.connection import AckFields, StreamConnection
from voicesvc.events.nats.errors import mapped_errors
from voicesvc.events.nats.inbox import InboxMessage
from voicesvc.events.nats.messages import decode_event
from voicesvc.events.nats.pull import (
    PullOutcome,
    PullRequest,
    PullSettings,
    next_subject,
    outcome_of_status,
)

__all__ = ["NatsSubscription"]


class NatsSubscription(Subscription):
    """Reads `connection`'s stream after `position`, filtered by `event_filter` and `ids` (as `subjects`
    on NATS, which select those events, or more when the combinations of ids were too many).

    Call `open` once before reading; the subscription is the connection's `StreamListener`, and the
    `InboxReader` of its consumer, until closed.
    """

    def __init__(
        self,
        connection: StreamConnection,
        pulls: PullSettings,
        position: int,
        event_filter: EventFilter,
        ids: IdFilter,
        subjects: list[str],
    ) -> None:
        self._conn = connection
        self._pulls = pulls
        self._position = position
        self._filter = event_filter
        self._id_filter = ids
        self._subjects = subjects
        self._consumer: str | None = None
        self._buffer: deque[tuple[int, InboxMessage, AckFields]] | None = None
        """Delivered and not yet taken (arrival number, message, its ack fields); None while empty."""
        self._arrivals = 0
        # (arrivals covered, stream first_seq): proves which sequence gaps are filtered-out, not expired.
        self._proof: tuple[int, int] | None = None
        self._pull: PullRequest | None = None
        self._tokens = itertools.count(1)
        self._wake: asyncio.Future[None] | None = None
        self._closed = False
        self._error: BaseException | None = None

    @property
    def checkpoint(self) -> str:
        """Cursor up to which every matching event was delivered."""
        return self._conn.cursor(self._position)

    @property
    def latest_seq(self) -> int | None:
        """The newest sequence known to be in the stream."""
        return max(self._conn.latest_seq, self._position) or None

    async def open(self) -> None:
        """Register with the connection and create the consumer; undone on failure."""
        self._conn.add_listener(self)
        try:
            await self._create_consumer()
        except BaseException:
            self._conn.discard_listener(self)
            await self.release()
            raise

    async def next(self, max_wait: float | None = None) -> StoredEvent | None:
        """The next matching event, or None when none arrived within `max_wait` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if max_wait is None else loop.time() + max(max_wait, 0.0)
        while True:
            self._raise_if_ended()
            disconnects = self._conn.disconnects
            try:
                buffer = self._buffer
                if buffer:
                    # The next event in order (the usual case) needs nothing proved: no coroutine for it.
                    if buffer[0][2].stream_seq <= self._position + 1:
                        event = self._deliver_head(buffer)
                    else:
                        event = await self._take()
                    if event is not None:
                        return event
                    continue
                pull = self._pull
                outage_ends = self._conn.outage_ends_at()
                if outage_ends is not None:
                    # Nothing can be asked of NATS now: wait for the reconnection (which re-pulls at once)
                    # or the end of the grace period.
                    wake_at = outage_ends
                elif pull is None or pull.outcome is not None or loop.time() >= pull.deadline:
                    await self._settle(pull)
                    await self._request()
                    continue
                else:
                    wake_at = pull.deadline
            except (CursorExpired, LogUnavailable) as exc:
                self._raise_if_ended()
                outage_ends = self._conn.outage_ends_at()
                cut = (
                    isinstance(exc, LogUnavailable)
                    and not isinstance(exc, LogClosed)
                    and (outage_ends is not None or self._conn.disconnects != disconnects)
                )
                if not cut:
                    self._error = exc
                    raise
                # The connection dropped under this step: like any outage, it gets the grace period. Wait
                # for the reconnection (which re-pulls) or the grace's end, then try the step again.
                if outage_ends is None:
                    continue
                wake_at = outage_ends
            if deadline is not None:
                wake_at = min(wake_at, deadline)
            await self._sleep_until(wake_at)
            if deadline is not None and loop.time() >= deadline and not self._buffer:
                return None

    async def close(self) -> None:
        """Stop pulling and delete the consumer; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._notify()
        self._conn.discard_listener(self)
        await self.release()

    # -- what the connection tells (StreamListener) ------------------------------------------------

    def connection_lost(self) -> None:
        """NATS went away: wait for it within the outage grace."""
        self._notify()  # to wait no longer than the grace period

    def connection_restored(self) -> None:
        """NATS is back: re-check the consumer at once."""
        # The pull may be lost with the old connection: re-check the consumer and pull again now.
        pull = self._pull
        if pull is not None and pull.outcome is None:
            pull.deadline = 0.0
        self._notify()

    def stream_recreated(self, error: CursorExpired) -> None:
        """The stream was deleted and created again: end with `error`."""
        self._fail(error)

    def log_closing(self) -> None:
        """The log is closing: end with `LogClosed`."""
        self._notify()

    async def release(self) -> None:
        """Stop hearing from the consumer and delete it; errors are ignored (it expires anyway)."""
        consumer, self._consumer = self._consumer, None
        self._buffer = None
        if consumer is not None:
            self._conn.unroute(consumer)
            await self._conn.delete_consumer(consumer)

    # -- reading -----------------------------------------------------------------------------------

    def _pop(self, buffer: deque[tuple[int, InboxMessage, AckFields]]) -> None:
        buffer.popleft()
        if not buffer and buffer is self._buffer:
            self._buffer = None  # an idle reader keeps no buffer

    async def _take(self) -> StoredEvent | None:
        """Deliver the head of the buffer unless it repeats or a gap before it may hide lost events."""
        buffer = self._buffer
        assert buffer is not None
        arrival, msg, ack = buffer[0]
        if ack.stream_seq > self._position + 1:
            proof = self._proof
            if proof is None or proof[0] < arrival:
                covered = self._arrivals
                state = await self._conn.fresh_state()
                proof = self._proof = (covered, state.first_seq)
            if proof[1] > self._position + 1:
                raise CursorExpired(self._conn.cursor(proof[1] - 1))
            if buffer is not self._buffer or not buffer or buffer[0][1] is not msg:
                return None  # released or changed while the state was read: look again
        return self._deliver_head(buffer)

    def _deliver_head(self, buffer: deque[tuple[int, InboxMessage, AckFields]]) -> StoredEvent | None:
        """Take the head of the buffer, known to follow the position or repeat what came before it."""
        _, msg, ack = buffer[0]
        self._pop(buffer)
        seq = ack.stream_seq
        if seq <= self._position:  # a repeat (or no sequence at all: nothing to deliver)
            return None
        self._position = seq
        self._conn.note_seq(seq)
        prefix = self._conn.spec.subject_prefix
        event = decode_event(
            prefix, seq, self._conn.cursor(seq), msg.subject, msg.headers, msg.data, ack.stored_ns / 1e9
        )
        # The subject filters select these already, unless they had to be widened (see `messages`).
        matches = self._filter.matches(event.event_type) and self._id_filter.matches(event.ids)
        return event if matches else None

    async def _settle(self, pull: PullRequest | None) -> None:
        """Act on how the previous pull ended, before the next one is sent."""
        if pull is not None:
            if pull.outcome is PullOutcome.IDLE and self._arrivals == pull.arrivals_at_issue:
                await self._advance_idle(pull)
            elif pull.outcome is PullOutcome.GONE or (
                pull.outcome is None and not await self._consumer_exists()
            ):
                await self._replace_consumer()
        self._pull = None

    async def _advance_idle(self, pull: PullRequest) -> None:
        # The pull expired with nothing delivered: every matching event up to the stream's end at the time it
        # was sent has been delivered already, unless the retention removed it first; the state tells which.
        arrivals = self._arrivals
        state = await self._conn.fresh_state()
        if self._arrivals != arrivals:
            return
        if state.lost_after(self._position):
            raise self._conn.expired(state)
        self._position = max(self._position, pull.last_seq_at_issue)

    async def _request(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        token = str(next(self._tokens))
        self._pull = PullRequest(
            token=token,
            arrivals_at_issue=self._arrivals,
            last_seq_at_issue=self._conn.latest_seq,
            deadline=asyncio.get_running_loop().time() + self._pulls.patience_s,
            remaining=self._pulls.batch,
        )
        subject = next_subject(self._conn.spec.name, consumer)
        reply = self._conn.reply_subject(consumer, token)
        with mapped_errors("cannot request events"):
            await self._conn.client().publish(subject, self._pulls.payload(), reply=reply)

    # -- what the shared inbox hands over (InboxReader) --------------------------------------------

    def delivered(self, msg: InboxMessage, ack: AckFields) -> None:
        """An event from the consumer: buffer it and count it against the open pull."""
        if self._closed:
            return
        # Deliveries carry the event's own subject, not the request's: count them against the open request
        # (only after a presumed-lost request can a stale one still deliver, which is harmless).
        self._arrivals += 1
        self._conn.deliveries += 1
        buffer = self._buffer
        if buffer is None:
            buffer = self._buffer = deque()
        buffer.append((self._arrivals, msg, ack))
        pull = self._pull
        if pull is not None and pull.outcome is None:
            pull.remaining -= 1
            if pull.remaining <= 0:
                pull.outcome = PullOutcome.EXHAUSTED
        self._notify()

    def pull_status(self, token: str, status: str, description: str) -> None:
        """A status on the reply subject of pull `token`: how the open pull ended, if it is that one."""
        pull = self._pull
        if pull is not None and pull.outcome is None and token == pull.token and status != "100":
            pull.outcome = outcome_of_status(status, description)
        self._notify()

    async def _sleep_until(self, when: float) -> None:
        loop = asyncio.get_running_loop()
        if when <= loop.time():
            return
        waiter: asyncio.Future[None] = loop.create_future()
        self._wake = waiter
        # A timer that resolves the waiter: lighter than `asyncio.wait_for`, which wraps it in more objects.
        timer = loop.call_at(when, _wake_up, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._wake = None

    def _fail(self, error: BaseException) -> None:
        """End the subscription: its reader gets `error` at its next step."""
        if self._error is None:
            self._error = error
        self._notify()

    def _notify(self) -> None:
        waiter = self._wake
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _raise_if_ended(self) -> None:
        if self._conn.closed:
            raise LogClosed("event log is closed")
        if self._closed:
            raise StopAsyncIteration
        if self._error is not None:
            raise self._error
        gives_up = self._conn.outage_ends_at()
        if gives_up is not None and asyncio.get_running_loop().time() >= gives_up:
            self._error = LogUnavailable(f"NATS unreachable for more than {self._conn.outage_grace_s:g} s")
            raise self._error

    # -- the server-side consumer ------------------------------------------------------------------

    async def _create_consumer(self) -> None:
        name = uuid.uuid4().hex
        config = api.ConsumerConfig(
            name=name,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self._position + 1,
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=self._pulls.consumer_inactive_s,
            mem_storage=True,
            num_replicas=1,
        )
        if len(self._subjects) == 1:
            config.filter_subject = self._subjects[0]
        else:
            config.filter_subjects = list(self._subjects)
        js = self._conn.jetstream()
        with mapped_errors("cannot create consumer"):
            await js.add_consumer(self._conn.spec.name, config=config)
        self._consumer = name
        self._conn.route(name, self)

    async def _consumer_exists(self) -> bool:
        if self._consumer is None:
            return False
        js = self._conn.jetstream()
        with mapped_errors("cannot reach the consumer"):
            try:
                await js.consumer_info(self._conn.spec.name, self._consumer)
            except nats.js.errors.NotFoundError:
                return False
        return True

    async def _replace_consumer(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            self._conn.unroute(consumer)
        state = await self._conn.fresh_state()
        if state.lost_after(self._position):
            raise self._conn.expired(state)
        await self._create_consumer()


def _wake_up(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
