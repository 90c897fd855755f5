"""The NATS JetStream event log: appends, bounds and subscriptions on one shared stream.

Subscriptions filter in the server: every id a subscriber can filter on is part of the subject (layout 2,
see `messages`), so each consumer's subject filters select exactly its events and an idle subscriber
receives nothing for the events of other calls. The alternative, one tail reader per replica feeding an
in-process index as the memory log has, costs the same per event for idle subscribers but makes each
replica read every event and keep a second index with its own gaps and expiry rules; the server already
matches consumer filters per message, so the subjects do it with no extra moving part. Measured with
`bench.fanout` (5000 idle subscribers filtered by call: no message to any of them for another call's
event).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import nats.js.errors
from nats.js import api

from voicesvc.events.log import (
    AppendResult,
    EventFilter,
    EventIds,
    EventLog,
    EventTooLarge,
    IdFilter,
    InvalidCursor,
    Start,
    StoredEvent,
    Subscription,
    validate_append,
)
from voicesvc.events.nats.connection import StreamConnection
from voicesvc.events.nats.errors import mapped_errors
from voicesvc.events.nats.messages import decode_event, event_message, filter_subjects
from voicesvc.events.nats.pull import PullSettings
from voicesvc.events.nats.spec import StreamSpec
from voicesvc.events.nats.subscription import NatsSubscription

__all__ = ["DEFAULT_STREAM", "NatsEventLog"]

DEFAULT_STREAM = "VOICESVC_EVENTS_V2"
"""The stream every replica shares unless configured otherwise; its KV buckets are named after it."""

_HEADER_OVERHEAD = 256
"""Bytes a JetStream publish adds around the event's own headers (status line, expected stream, ends)."""


class NatsEventLog(EventLog):
    """Event log on a JetStream stream (created if absent, with subjects `<subject_prefix>.>`).

    An existing stream is used as configured. `max_age_s`, `max_bytes` and `max_msgs` set the retention of a
    new stream (-1 for no limit); de-duplication by event id covers `duplicate_window_s`. Subscriptions
    renew their pull every `pull_expires_s` while idle (their checkpoint advances then), and their server-side
    consumer is removed `consumer_inactive_s` after its reader stops reading (it is recreated transparently).

    While the connection to NATS is lost, appends and new subscriptions fail at once with `LogUnavailable`;
    open subscriptions wait up to `outage_grace_s` for the client to reconnect and then go on where they were,
    or fail with `LogUnavailable` when the outage lasts longer.
    """

    def __init__(
        self,
        url: str | Sequence[str] = "nats://127.0.0.1:4222",
        stream: str = DEFAULT_STREAM,
        subject_prefix: str = "voicesvc.events-v2",
        max_age_s: float = 24 * 3600,
        max_bytes: int = -1,
        duplicate_window_s: float = 120,
        *,
        max_msgs: int = -1,
        replicas: int = 1,
        request_timeout_s: float = 5.0,
        connect_timeout_s: float = 10.0,
        pull_batch: int = 64,
        pull_expires_s: float = 10.0,
        consumer_inactive_s: float = 300.0,
        outage_grace_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        spec = StreamSpec(
            stream,
            subject_prefix,
            max_age_s=max_age_s,
            max_bytes=max_bytes,
            max_msgs=max_msgs,
            duplicate_window_s=duplicate_window_s,
            replicas=replicas,
        )
        self._pulls = PullSettings(
            batch=pull_batch, expires_s=pull_expires_s, consumer_inactive_s=consumer_inactive_s
        )
        self._conn = StreamConnection(
            url,
            spec,
            request_timeout_s=request_timeout_s,
            connect_timeout_s=connect_timeout_s,
            outage_grace_s=outage_grace_s,
        )
        self._clock = clock

    @property
    def connection(self) -> StreamConnection:
        """The NATS connection and stream this log (and each of its subscriptions) works on."""
        return self._conn

    @property
    def deliveries(self) -> int:
        """How many event messages the server has sent to this log's subscriptions (all of them, in total)."""
        return self._conn.deliveries

    @property
    def stream(self) -> str:
        """Name of the JetStream stream."""
        return self._conn.spec.name

    @property
    def epoch(self) -> int:
        """Derived from the stream's name and creation time: shared by every replica using the stream."""
        return self._conn.epoch

    @property
    def pull_batch(self) -> int:
        """Most events a subscription asks for at a time."""
        return self._pulls.batch

    @property
    def pull_expires_s(self) -> float:
        """How long an idle subscription's pull lasts before it is renewed."""
        return self._pulls.expires_s

    @property
    def consumer_inactive_s(self) -> float:
        """How long the server keeps the consumer of a subscription that stopped reading."""
        return self._pulls.consumer_inactive_s

    @property
    def outage_grace_s(self) -> float:
        """How long open subscriptions wait for a lost connection to come back."""
        return self._conn.outage_grace_s

    async def start(self) -> None:
        """Connect to NATS and make sure the stream exists; raises `LogUnavailable` on failure."""
        await self._conn.connect()

    async def close(self) -> None:
        """End every subscription with `LogClosed`, remove their consumers and disconnect."""
        await self._conn.close()

    def on_availability(self, callback: Callable[[bool], None]) -> None:
        """Have `callback(available)` called when NATS is lost or comes back."""
        self._conn.on_availability(callback)

    # -- appends and bounds ------------------------------------------------------------------------

    async def append(
        self, raw: bytes, event_id: str, event_type: str, attempt: int = 1, ids: EventIds | None = None
    ) -> AppendResult:
        """Publish the event and wait for JetStream's acknowledgement; see `EventLog.append`."""
        nc = self._conn.client()  # fails at once while the connection is lost
        validate_append(raw, event_id, event_type, attempt)
        if ids is None:
            ids = EventIds.of_body(raw)
        received_at = self._clock()
        prefix = self._conn.spec.subject_prefix
        subject, headers = event_message(prefix, event_type, event_id, received_at, attempt, ids)
        size = len(raw) + _HEADER_OVERHEAD
        for name, value in headers.items():
            size += len(name) + len(value) + 4
        limit = nc.max_payload
        if size > limit:
            # The server would answer a larger message by closing the connection (every reader would see an
            # outage); refuse it here instead, for good: a redelivery is just as large.
            raise EventTooLarge(f"the event takes {size} bytes as a NATS message; the server accepts {limit}")

        payload = bytes(raw)
        with mapped_errors("event not stored"):
            try:
                ack = await self._conn.publish(subject, payload, headers)
            except nats.js.errors.NoStreamResponseError:
                await self._conn.restore_stream()
                ack = await self._conn.publish(subject, payload, headers)
        self._conn.note_seq(ack.seq)
        if ack.duplicate:
            original = await self._stored(ack.seq, raw, event_id, event_type, attempt, ids)
            return AppendResult(original, duplicate=True)
        event = StoredEvent(
            seq=ack.seq,
            cursor=self.cursor(ack.seq),
            event_id=event_id,
            event_type=event_type,
            received_at=received_at,
            attempt=attempt,
            raw=bytes(raw),
            ids=ids,
        )
        return AppendResult(event, duplicate=False)

    async def _stored(
        self, seq: int, raw: bytes, event_id: str, event_type: str, attempt: int, ids: EventIds
    ) -> StoredEvent:
        """The first stored copy of a duplicate (or, if the retention already dropped it, this copy)."""
        with mapped_errors("cannot read stored event"):
            try:
                msg = await self._conn.jetstream().get_msg(self.stream, seq)
            except nats.js.errors.NotFoundError:
                cursor = self.cursor(seq)
                received_at = self._clock()
                return StoredEvent(seq, cursor, event_id, event_type, received_at, attempt, bytes(raw), ids)
        prefix = self._conn.spec.subject_prefix
        stored_at = msg.time.timestamp() if msg.time else None
        return decode_event(
            prefix, seq, self.cursor(seq), msg.subject or "", msg.headers, msg.data or b"", stored_at
        )

    async def bounds(self) -> tuple[int | None, int | None]:
        """Oldest retained and latest appended sequence, as the stream reports them now."""
        state = await self._conn.fresh_state()
        return (state.first_seq if state.messages else None), (state.last_seq or None)

    # -- subscriptions -----------------------------------------------------------------------------

    async def subscribe(
        self, start: Start, event_types: Sequence[str] = (), ids: IdFilter | None = None
    ) -> Subscription:
        """Open a reader backed by an ephemeral pull consumer; see `EventLog.subscribe`."""
        self._conn.jetstream()
        event_filter = EventFilter.of(event_types)
        id_filter = ids or IdFilter()
        state = await self._conn.fresh_state()
        if start.kind == "now":
            position = state.last_seq
        elif start.kind == "oldest":
            position = max(state.first_seq - 1, 0)
        elif start.kind == "time":
            assert start.time is not None
            position = await self._before_time(start.time, state.last_seq)
        else:
            assert start.position is not None
            epoch, seq = start.position
            if epoch != self.epoch:
                raise self._conn.expired(state, "cursor belongs to another incarnation of the event log")
            if seq > state.last_seq:
                raise InvalidCursor("cursor is ahead of the event log")
            if state.lost_after(seq):
                raise self._conn.expired(state)
            position = seq
        subjects = filter_subjects(self._conn.spec.subject_prefix, event_filter, id_filter)
        sub = NatsSubscription(self._conn, self._pulls, position, event_filter, id_filter, subjects)
        await sub.open()
        return sub

    async def _before_time(self, unix_time: float, last_seq: int) -> int:
        """The position just before the first event stored at or after `unix_time`.

        JetStream finds it by the time it stored each event: a consumer created with
        `DeliverPolicy.BY_START_TIME` reports, before it delivers anything, the sequence it starts after.
        """
        js = self._conn.jetstream()
        config = api.ConsumerConfig(
            name=uuid.uuid4().hex,
            deliver_policy=api.DeliverPolicy.BY_START_TIME,
            opt_start_time=datetime.fromtimestamp(unix_time, UTC),
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=self._pulls.consumer_inactive_s,
            mem_storage=True,
            num_replicas=1,
        )
        with mapped_errors("cannot find the start time"):
            info = await js.add_consumer(self.stream, config=config)
        await self._conn.delete_consumer(info.name)
        found = info.delivered.stream_seq if info.delivered is not None else None
        return found if found is not None else last_seq
