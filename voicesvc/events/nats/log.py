"""NATS JetStream event log: one stream shared by every replica.

Appends publish to `<prefix>.<event_type>` with `Nats-Msg-Id` set to the event id, so JetStream assigns the
sequence (the cursor) and drops redeliveries inside its duplicate window. Each subscription reads through
its own ephemeral pull consumer (no acks, start sequence = position + 1, subject filters pushed down), asking
for at most `pull_batch` events at a time: the server never pushes more than the reader asked for, so a slow
reader holds only one batch and never slows appends or other readers.

JetStream silently skips messages that the retention removed before a consumer reached them, so each
subscription tracks its own position and, whenever it sees a gap in sequences or advances over an idle
period, compares it with the stream's first sequence; a reader whose next position was removed gets
`CursorExpired`. Those stream-state lookups are shared: concurrent readers wait on one request.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as CoreSubscription
from nats.js import api
from nats.js.client import JetStreamContext

from voicesvc.events.log import (
    AppendResult,
    CursorExpired,
    EventFilter,
    EventLog,
    InvalidCursor,
    LogClosed,
    LogUnavailable,
    Start,
    StoredEvent,
    Subscription,
    validate_append,
)

__all__ = ["NatsEventLog"]

logger = structlog.get_logger("voicesvc.events.nats")

HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_EVENT_TYPE = "Voicesvc-Event-Type"
HEADER_RECEIVED_AT = "Voicesvc-Received-At"
HEADER_ATTEMPT = "Voicesvc-Attempt"

_API_PREFIX = "$JS.API"
_SUBJECT_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
# Pull request outcomes as reported by the server's status messages.
_EXHAUSTED, _IDLE, _ENDED, _GONE = "exhausted", "idle", "ended", "gone"


@dataclass(frozen=True, slots=True)
class _StreamState:
    first_seq: int
    last_seq: int
    messages: int

    def lost_after(self, position: int) -> bool:
        """True if the retention already removed events that come after `position`."""
        return self.first_seq > position + 1


@dataclass(slots=True)
class _Pull:
    """One outstanding pull request of a subscription."""

    token: str
    arrivals_at_issue: int
    last_seq_at_issue: int
    deadline: float
    remaining: int
    outcome: str | None = None


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
        stream: str = "VOICESVC_EVENTS",
        subject_prefix: str = "voicesvc.events",
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
        if not _STREAM_NAME.fullmatch(stream):
            raise ValueError(f"invalid stream name: {stream!r}")
        if not all(_SUBJECT_TOKEN.fullmatch(t) for t in subject_prefix.split(".")):
            raise ValueError(f"invalid subject prefix: {subject_prefix!r}")
        if max_age_s <= 0 or duplicate_window_s <= 0:
            raise ValueError("max_age_s and duplicate_window_s must be positive")
        if pull_batch < 1 or pull_expires_s <= 0 or consumer_inactive_s <= pull_expires_s:
            raise ValueError("need pull_batch >= 1 and 0 < pull_expires_s < consumer_inactive_s")
        if outage_grace_s < 0:
            raise ValueError("outage_grace_s must not be negative")
        self._servers = [url] if isinstance(url, str) else list(url)
        self._stream = stream
        self._prefix = subject_prefix
        self._max_age = max_age_s
        self._max_bytes = max_bytes
        self._max_msgs = max_msgs
        self._duplicate_window = min(duplicate_window_s, max_age_s)
        self._replicas = replicas
        self._request_timeout = request_timeout_s
        self._connect_timeout = connect_timeout_s
        self.pull_batch = pull_batch
        self.pull_expires_s = pull_expires_s
        self.consumer_inactive_s = consumer_inactive_s
        self.outage_grace_s = outage_grace_s
        self._down_since: float | None = None
        """Loop time at which the connection was lost; None while connected."""
        self._disconnects = 0
        """How many times the connection was lost: a request that failed across a change was cut by it."""
        self._availability_callbacks: list[Callable[[bool], None]] = []
        self._clock = clock
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._epoch: int | None = None
        self._known_last = 0
        self._state_task: asyncio.Task[_StreamState] | None = None
        self._subs: set[_NatsSubscription] = set()
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """Derived from the stream's name and creation time: shared by every replica using the stream."""
        if self._epoch is None:
            raise LogUnavailable("event log not started")
        return self._epoch

    @property
    def stream(self) -> str:
        """Name of the JetStream stream."""
        return self._stream

    async def start(self) -> None:
        """Connect to NATS and make sure the stream exists; raises `LogUnavailable` on failure."""
        if self._closed:
            raise LogClosed("event log is closed")
        if self._nc is not None:
            raise RuntimeError("event log already started")
        nc = NatsClient()
        try:
            # The client retries forever once connected; bound the initial attempt ourselves.
            await asyncio.wait_for(
                nc.connect(
                    servers=self._servers,
                    name="voicesvc-events",
                    connect_timeout=max(1, int(self._request_timeout)),
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                ),
                self._connect_timeout,
            )
        except Exception as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            raise LogUnavailable(f"cannot connect to NATS: {exc!r}") from exc
        self._nc = nc
        self._js = nc.jetstream(timeout=self._request_timeout)
        try:
            info = await self._ensure_stream()
        except BaseException:
            with contextlib.suppress(Exception):
                await nc.close()
            self._nc = self._js = None
            raise
        self._epoch = self._epoch_of(info)
        self._known_last = info.state.last_seq

    def _epoch_of(self, info: api.StreamInfo) -> int:
        """Identifies one incarnation of the stream: a stream deleted and created again is another log."""
        created = info.created.isoformat() if info.created else ""
        return zlib.crc32(f"{self._stream}|{created}".encode())

    def _check_incarnation(self, info: api.StreamInfo) -> None:
        """Notice that the stream was deleted and created again (by an operator, or with a lost store).

        Positions in the old stream mean nothing in the new one: open subscriptions end with
        `CursorExpired` naming the new stream's oldest cursor, old cursors are refused from now on, and
        the sequence counters start over.
        """
        epoch = self._epoch_of(info)
        if epoch == self._epoch:
            return
        logger.warning("nats_stream_recreated", stream=self._stream, subscriptions=len(self._subs))
        self._epoch = epoch
        self._known_last = info.state.last_seq
        state = _StreamState(info.state.first_seq, info.state.last_seq, info.state.messages)
        for sub in list(self._subs):
            sub._fail(self._expired(state, "the event log was recreated; resume from its oldest cursor"))

    async def _ensure_stream(self) -> api.StreamInfo:
        js = self._jetstream()
        wanted = f"{self._prefix}.>"
        try:
            try:
                info = await js.stream_info(self._stream)
            except nats.js.errors.NotFoundError:
                config = api.StreamConfig(
                    name=self._stream,
                    subjects=[wanted],
                    retention=api.RetentionPolicy.LIMITS,
                    storage=api.StorageType.FILE,
                    discard=api.DiscardPolicy.OLD,
                    max_age=self._max_age,
                    max_bytes=self._max_bytes,
                    max_msgs=self._max_msgs,
                    duplicate_window=self._duplicate_window,
                    num_replicas=self._replicas,
                )
                try:
                    info = await js.add_stream(config)
                except nats.js.errors.BadRequestError as exc:
                    # Either another replica created it a moment ago, or the config is refused.
                    try:
                        info = await js.stream_info(self._stream)
                    except nats.js.errors.NotFoundError:
                        raise LogUnavailable(
                            f"cannot create stream {self._stream}: {exc.description or exc!r}"
                        ) from exc
        except LogUnavailable:
            raise
        except Exception as exc:
            raise LogUnavailable(f"cannot open stream {self._stream}: {exc!r}") from exc
        if wanted not in (info.config.subjects or []):
            raise LogUnavailable(f"stream {self._stream} does not hold subjects {wanted}")
        return info

    async def close(self) -> None:
        """End every subscription with `LogClosed`, remove their consumers and disconnect."""
        if self._closed:
            return
        self._closed = True
        subs, self._subs = list(self._subs), set()
        for sub in subs:
            sub._notify()
        if subs:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(sub._release() for sub in subs), return_exceptions=True),
                    self._request_timeout,
                )
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    # -- appends and bounds ------------------------------------------------------------------------

    async def append(self, raw: bytes, event_id: str, event_type: str, attempt: int = 1) -> AppendResult:
        """Publish the event and wait for JetStream's acknowledgement; see `EventLog.append`."""
        js = self._jetstream()
        validate_append(raw, event_id, event_type, attempt)
        received_at = self._clock()
        headers = {
            HEADER_MSG_ID: event_id,
            HEADER_EVENT_TYPE: event_type,
            HEADER_RECEIVED_AT: repr(received_at),
            HEADER_ATTEMPT: str(attempt),
        }

        async def publish() -> api.PubAck:
            return await js.publish(
                f"{self._prefix}.{event_type}",
                bytes(raw),
                timeout=self._request_timeout,
                stream=self._stream,
                headers=headers,
            )

        try:
            try:
                ack = await publish()
            except nats.js.errors.NoStreamResponseError:
                # The stream is gone (deleted, or NATS lost its store): create it again, as at start.
                self._check_incarnation(await self._ensure_stream())
                ack = await publish()
        except LogUnavailable:
            raise
        except Exception as exc:
            raise LogUnavailable(f"event not stored: {exc!r}") from exc
        self._note_seq(ack.seq)
        if ack.duplicate:
            original = await self._stored(ack.seq, raw, event_id, event_type, attempt)
            return AppendResult(original, duplicate=True)
        event = StoredEvent(
            seq=ack.seq,
            cursor=self.cursor(ack.seq),
            event_id=event_id,
            event_type=event_type,
            received_at=received_at,
            attempt=attempt,
            raw=bytes(raw),
        )
        return AppendResult(event, duplicate=False)

    async def _stored(
        self, seq: int, raw: bytes, event_id: str, event_type: str, attempt: int
    ) -> StoredEvent:
        """The first stored copy of a duplicate (or, if the retention already dropped it, this copy)."""
        try:
            msg = await self._jetstream().get_msg(self._stream, seq)
        except nats.js.errors.NotFoundError:
            cursor = self.cursor(seq)
            return StoredEvent(seq, cursor, event_id, event_type, self._clock(), attempt, bytes(raw))
        except Exception as exc:
            raise LogUnavailable(f"cannot read stored event: {exc!r}") from exc
        return self._to_event(seq, msg.subject or "", msg.headers, msg.data or b"", msg.time)

    async def bounds(self) -> tuple[int | None, int | None]:
        """Oldest retained and latest appended sequence, as the stream reports them now."""
        state = await self._fresh_state()
        return (state.first_seq if state.messages else None), (state.last_seq or None)

    # -- subscriptions -----------------------------------------------------------------------------

    async def subscribe(self, start: Start, event_types: Sequence[str] = ()) -> Subscription:
        """Open a reader backed by an ephemeral pull consumer; see `EventLog.subscribe`."""
        self._jetstream()
        event_filter = EventFilter.of(event_types)
        state = await self._fresh_state()
        if start.kind == "now":
            position = state.last_seq
        elif start.kind == "oldest":
            position = max(state.first_seq - 1, 0)
        else:
            assert start.position is not None
            epoch, seq = start.position
            if epoch != self.epoch:
                raise self._expired(state, "cursor belongs to another incarnation of the event log")
            if seq > state.last_seq:
                raise InvalidCursor("cursor is ahead of the event log")
            if state.lost_after(seq):
                raise self._expired(state)
            position = seq
        sub = _NatsSubscription(self, position, event_filter, self._subjects(event_filter))
        self._subs.add(sub)
        try:
            await sub._open()
        except BaseException:
            self._subs.discard(sub)
            await sub._release()
            raise
        return sub

    def _subjects(self, event_filter: EventFilter) -> list[str]:
        if event_filter.matches_all:
            return [f"{self._prefix}.>"]
        exact = [f"{self._prefix}.{t}" for t in sorted(event_filter.exact)]
        return exact + [f"{self._prefix}.{p}>" for p in event_filter.prefixes]

    # -- internals shared with the subscriptions ---------------------------------------------------

    def _jetstream(self) -> JetStreamContext:
        if self._closed:
            raise LogClosed("event log is closed")
        if self._js is None:
            raise LogUnavailable("event log not started")
        if self._nc is not None and not self._nc.is_connected:
            # Fail now rather than queue behind the reconnection: a webhook gets its 503 at once (Telnyx
            # retries it) and a new subscriber its UNAVAILABLE.
            raise LogUnavailable("not connected to NATS; reconnecting")
        return self._js

    def _nats(self) -> NatsClient:
        self._jetstream()
        assert self._nc is not None
        return self._nc

    def _note_seq(self, seq: int) -> None:
        self._known_last = max(self._known_last, seq)

    def _expired(self, state: _StreamState, message: str | None = None) -> CursorExpired:
        return CursorExpired(self.cursor(max(state.first_seq - 1, 0)), message)

    async def _fresh_state(self) -> _StreamState:
        """Stream state read by a request sent after this call began; concurrent callers share requests."""
        pending = self._state_task
        if pending is not None and not pending.done():
            # That request may predate the caller's observation: let it finish and use the next one.
            with contextlib.suppress(Exception):
                await asyncio.shield(pending)
        task = self._state_task
        if task is None or task.done() or task is pending:
            task = self._state_task = asyncio.get_running_loop().create_task(self._load_state())
            task.add_done_callback(_consume_exception)
        return await asyncio.shield(task)

    async def _load_state(self) -> _StreamState:
        js = self._jetstream()
        try:
            info = await js.stream_info(self._stream)
        except Exception as exc:
            raise LogUnavailable(f"cannot read stream state: {exc!r}") from exc
        self._check_incarnation(info)
        state = _StreamState(info.state.first_seq, info.state.last_seq, info.state.messages)
        self._note_seq(state.last_seq)
        return state

    def _to_event(
        self,
        seq: int,
        subject: str,
        headers: Mapping[str, str] | None,
        data: bytes,
        stored_at: datetime | None,
    ) -> StoredEvent:
        headers = headers or {}
        event_type = headers.get(HEADER_EVENT_TYPE) or subject.removeprefix(self._prefix + ".")
        try:
            received_at = float(headers[HEADER_RECEIVED_AT])
        except (KeyError, ValueError):
            received_at = stored_at.timestamp() if stored_at else 0.0
        try:
            attempt = max(int(headers[HEADER_ATTEMPT]), 1)
        except (KeyError, ValueError):
            attempt = 1
        event_id = headers.get(HEADER_MSG_ID) or f"seq-{seq}"
        return StoredEvent(seq, self.cursor(seq), event_id, event_type, received_at, attempt, bytes(data))

    async def _on_error(self, exc: Exception) -> None:
        logger.warning("nats_error", error=repr(exc))

    async def _on_disconnected(self) -> None:
        if self._closed:
            return
        logger.warning("nats_disconnected", subscriptions=len(self._subs), grace_s=self.outage_grace_s)
        self._down_since = asyncio.get_running_loop().time()
        self._disconnects += 1
        for sub in list(self._subs):
            sub._notify()  # to wait no longer than the grace period
        self._report_availability(False)

    def on_availability(self, callback: Callable[[bool], None]) -> None:
        self._availability_callbacks.append(callback)

    def _report_availability(self, available: bool) -> None:
        for callback in self._availability_callbacks:
            try:
                callback(available)
            except Exception:
                logger.exception("availability_callback_failed")

    def _outage_ends_at(self) -> float | None:
        """Loop time at which open subscriptions give up on the lost connection; None while connected."""
        down = self._down_since
        return None if down is None else down + self.outage_grace_s

    async def _on_reconnected(self) -> None:
        logger.info("nats_reconnected", subscriptions=len(self._subs))
        self._down_since = None
        self._report_availability(True)
        # Pull requests made before the outage may be gone with the server (and a restarted server has
        # lost the in-memory consumers too): every subscription re-checks its consumer and pulls again now,
        # rather than when its pull would have expired.
        for sub in list(self._subs):
            sub._presume_pull_lost()


def _consume_exception(task: asyncio.Task[Any]) -> None:
    # Every caller may have been cancelled; retrieve the error so asyncio does not report it as lost.
    if not task.cancelled():
        task.exception()


class _NatsSubscription(Subscription):
    def __init__(
        self, log: NatsEventLog, position: int, event_filter: EventFilter, subjects: list[str]
    ) -> None:
        self._log = log
        self._position = position
        self._filter = event_filter
        self._subjects = subjects
        self._inbox = log._nats().new_inbox()
        self._core: CoreSubscription | None = None
        self._consumer: str | None = None
        self._buffer: deque[tuple[int, Msg]] = deque()
        self._arrivals = 0
        # (arrivals covered, stream first_seq): proves which sequence gaps are filtered-out, not expired.
        self._proof: tuple[int, int] | None = None
        self._pull: _Pull | None = None
        self._tokens = itertools.count(1)
        self._wake: asyncio.Future[None] | None = None
        self._closed = False
        self._error: BaseException | None = None

    @property
    def checkpoint(self) -> str:
        return self._log.cursor(self._position)

    @property
    def latest_seq(self) -> int | None:
        return max(self._log._known_last, self._position) or None

    async def _open(self) -> None:
        try:
            self._core = await self._log._nats().subscribe(f"{self._inbox}.*", cb=self._on_message)
        except LogUnavailable:
            raise
        except Exception as exc:
            raise LogUnavailable(f"cannot subscribe: {exc!r}") from exc
        await self._create_consumer()

    async def next(self, max_wait: float | None = None) -> StoredEvent | None:
        loop = asyncio.get_running_loop()
        deadline = None if max_wait is None else loop.time() + max(max_wait, 0.0)
        while True:
            self._raise_if_ended()
            disconnects = self._log._disconnects
            try:
                if self._buffer:
                    event = await self._take()
                    if event is not None:
                        return event
                    continue
                pull = self._pull
                outage_ends = self._log._outage_ends_at()
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
                outage_ends = self._log._outage_ends_at()
                cut = (
                    isinstance(exc, LogUnavailable)
                    and not isinstance(exc, LogClosed)
                    and (outage_ends is not None or self._log._disconnects != disconnects)
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
        if self._closed:
            return
        self._closed = True
        self._notify()
        self._log._subs.discard(self)
        await self._release()

    # -- reading -----------------------------------------------------------------------------------

    async def _take(self) -> StoredEvent | None:
        """Deliver the head of the buffer unless it repeats or a gap before it may hide lost events."""
        arrival, msg = self._buffer[0]
        try:
            seq = msg.metadata.sequence.stream
            stored_at = msg.metadata.timestamp
        except Exception:  # not a consumer delivery; nothing to deliver
            self._buffer.popleft()
            return None
        if seq <= self._position:
            self._buffer.popleft()
            return None
        if seq > self._position + 1:
            proof = self._proof
            if proof is None or proof[0] < arrival:
                covered = self._arrivals
                state = await self._log._fresh_state()
                proof = self._proof = (covered, state.first_seq)
            if proof[1] > self._position + 1:
                raise CursorExpired(self._log.cursor(proof[1] - 1))
        self._buffer.popleft()
        self._position = seq
        self._log._note_seq(seq)
        event = self._log._to_event(seq, msg.subject, msg.headers, msg.data, stored_at)
        return event if self._filter.matches(event.event_type) else None

    async def _settle(self, pull: _Pull | None) -> None:
        """Act on how the previous pull ended, before the next one is sent."""
        if pull is not None:
            if pull.outcome == _IDLE and self._arrivals == pull.arrivals_at_issue:
                await self._advance_idle(pull)
            elif pull.outcome == _GONE:
                await self._replace_consumer()
            elif pull.outcome is None and not await self._consumer_exists():
                await self._replace_consumer()
        self._pull = None

    async def _advance_idle(self, pull: _Pull) -> None:
        # The pull expired with nothing delivered: every matching event up to the stream's end at the time it
        # was sent has been delivered already, unless the retention removed it first; the state tells which.
        arrivals = self._arrivals
        state = await self._log._fresh_state()
        if self._arrivals != arrivals:
            return
        if state.lost_after(self._position):
            raise self._log._expired(state)
        self._position = max(self._position, pull.last_seq_at_issue)

    async def _request(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        loop = asyncio.get_running_loop()
        expires = self._log.pull_expires_s
        token = str(next(self._tokens))
        self._pull = _Pull(
            token=token,
            arrivals_at_issue=self._arrivals,
            last_seq_at_issue=self._log._known_last,
            # Leave room for the server's own expiry notice before presuming the request lost.
            deadline=loop.time() + expires + max(1.0, expires / 2),
            remaining=self._log.pull_batch,
        )
        payload = json.dumps({"batch": self._log.pull_batch, "expires": int(expires * 1e9)}).encode()
        subject = f"{_API_PREFIX}.CONSUMER.MSG.NEXT.{self._log.stream}.{consumer}"
        try:
            await self._log._nats().publish(subject, payload, reply=f"{self._inbox}.{token}")
        except LogUnavailable:
            raise
        except Exception as exc:
            raise LogUnavailable(f"cannot request events: {exc!r}") from exc

    async def _on_message(self, msg: Msg) -> None:
        status = msg.headers.get("Status") if msg.headers else None
        pull = self._pull
        if not status:
            # Deliveries carry the event's own subject, not the request's: count them against the open
            # request (only after a presumed-lost request can a stale one still deliver, which is harmless).
            self._arrivals += 1
            self._buffer.append((self._arrivals, msg))
            if pull is not None and pull.outcome is None:
                pull.remaining -= 1
                if pull.remaining <= 0:
                    pull.outcome = _EXHAUSTED
        elif (
            pull is not None
            and pull.outcome is None
            and msg.subject == f"{self._inbox}.{pull.token}"
            and status != "100"
        ):
            description = str((msg.headers or {}).get("Description", "")).lower()
            if status in ("404", "408"):
                pull.outcome = _IDLE
            elif status == "503" or (status == "409" and "deleted" in description):
                pull.outcome = _GONE
            else:
                pull.outcome = _ENDED
        self._notify()

    async def _sleep_until(self, when: float) -> None:
        loop = asyncio.get_running_loop()
        remaining = when - loop.time()
        if remaining <= 0:
            return
        waiter: asyncio.Future[None] = loop.create_future()
        self._wake = waiter
        try:
            await asyncio.wait_for(waiter, remaining)
        except TimeoutError:
            pass
        finally:
            self._wake = None

    def _fail(self, error: BaseException) -> None:
        """End the subscription: its reader gets `error` at its next step."""
        if self._error is None:
            self._error = error
        self._notify()

    def _presume_pull_lost(self) -> None:
        pull = self._pull
        if pull is not None and pull.outcome is None:
            pull.deadline = 0.0
        self._notify()

    def _notify(self) -> None:
        waiter = self._wake
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _raise_if_ended(self) -> None:
        if self._log._closed:
            raise LogClosed("event log is closed")
        if self._closed:
            raise StopAsyncIteration
        if self._error is not None:
            raise self._error
        gives_up = self._log._outage_ends_at()
        if gives_up is not None and asyncio.get_running_loop().time() >= gives_up:
            self._error = LogUnavailable(f"NATS unreachable for more than {self._log.outage_grace_s:g} s")
            raise self._error

    # -- the server-side consumer ------------------------------------------------------------------

    async def _create_consumer(self) -> None:
        name = uuid.uuid4().hex
        config = api.ConsumerConfig(
            name=name,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self._position + 1,
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=self._log.consumer_inactive_s,
            mem_storage=True,
            num_replicas=1,
        )
        if len(self._subjects) == 1:
            config.filter_subject = self._subjects[0]
        else:
            config.filter_subjects = list(self._subjects)
        js = self._log._jetstream()
        try:
            await js.add_consumer(self._log.stream, config=config)
        except Exception as exc:
            raise LogUnavailable(f"cannot create consumer: {exc!r}") from exc
        self._consumer = name

    async def _consumer_exists(self) -> bool:
        if self._consumer is None:
            return False
        js = self._log._jetstream()
        try:
            await js.consumer_info(self._log.stream, self._consumer)
        except nats.js.errors.NotFoundError:
            return False
        except Exception as exc:
            raise LogUnavailable(f"cannot reach the consumer: {exc!r}") from exc
        return True

    async def _replace_consumer(self) -> None:
        self._consumer = None
        state = await self._log._fresh_state()
        if state.lost_after(self._position):
            raise self._log._expired(state)
        await self._create_consumer()

    async def _release(self) -> None:
        """Drop the inbox subscription and delete the consumer; errors are ignored (it expires anyway)."""
        core, self._core = self._core, None
        consumer, self._consumer = self._consumer, None
        if core is not None:
            with contextlib.suppress(Exception):
                await core.unsubscribe()
        if consumer is not None and self._log._js is not None:
            nc = self._log._nc
            if nc is not None and nc.is_connected:
                with contextlib.suppress(Exception):
                    await self._log._js.delete_consumer(self._log.stream, consumer)
