"""The NATS connection and the JetStream stream shared by an event log and its subscriptions.

It owns everything more than one reader depends on: the client and its reconnections, the stream (created
when absent, and again when it was deleted), the stream's incarnation (epoch), the newest sequence seen, the
shared stream-state lookups, the outage bookkeeping and the one inbox every reader's pulls and every append's
acknowledgement are answered on.
Readers register as `StreamListener`s to hear about lost and regained connections, a recreated stream and
the log closing.

The inbox: rather than a NATS subscription (with its own queue and task in the client) per reader, the
connection subscribes once to `<inbox>.*.*` and each reader's pull requests ask for replies on
`<inbox>.<consumer>.<token>`. JetStream delivers an event with its own subject and the consumer's
acknowledgement subject as reply (which names the consumer); a pull's status messages (expired, no events,
consumer gone) come on the reply subject of the pull itself. Either way the consumer name picks the reader,
so an idle subscriber costs no client-side subscription, queue or task. An append's acknowledgement comes
on `<inbox>._pub.<token>` (`publish`).

The client hands the inbox's messages over as it parses them (`inbox.InboxClient`), with no queue between.
Should that lane be unavailable, they come through the subscription's callback; the subscription has no
pending limits, since the client would otherwise drop messages beyond them as a "slow consumer", and a
dropped delivery would look like a filtered-out gap. What is held is bounded anyway: every reader asks for
one batch at a time, each append waits for its one acknowledgement, and the handler only hands each message
on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import nats.errors
import nats.js.errors
import orjson
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as CoreSubscription
from nats.js import api
from nats.js.client import JetStreamContext

from voicesvc.events.log import CursorExpired, LogClosed, LogUnavailable, encode_cursor
from voicesvc.events.nats.errors import mapped_errors
from voicesvc.events.nats.inbox import InboxClient, InboxMessage
from voicesvc.events.nats.spec import StreamSpec, StreamState

__all__ = ["AckFields", "InboxReader", "PublishAck", "StreamConnection", "StreamListener", "ack_fields"]

logger = structlog.get_logger("voicesvc.events.nats")


class StreamListener(Protocol):
    """A reader on the connection (a subscription), told about what happens to the connection and stream."""

    def connection_lost(self) -> None:
        """The client lost the server; `StreamConnection.outage_ends_at` says until when to wait."""

    def connection_restored(self) -> None:
        """The client reconnected: requests sent before may be lost with the old connection."""

    def stream_recreated(self, error: CursorExpired) -> None:
        """The stream was deleted and created again: old positions mean nothing; end with `error`."""

    def log_closing(self) -> None:
        """The log is closing; `release` follows."""

    async def release(self) -> None:
        """Free what the reader holds on the server (called on close; must not raise)."""


class InboxReader(Protocol):
    """A reader whose consumer's pulls are answered on the connection's shared inbox."""

    def delivered(self, msg: InboxMessage, ack: AckFields) -> None:
        """An event its consumer delivered (in the order the server sent them), with its `ack_fields`."""

    def pull_status(self, token: str, status: str, description: str) -> None:
        """A status message (`Status` header, `Description`) on the reply subject of its pull `token`."""


_ACK_PREFIX = "$JS.ACK."
_ACK_TOKENS_V1 = 9
"""`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`; the newer
form inserts a domain and an account hash after `ACK` (and may append a token)."""


class AckFields(NamedTuple):
    """What a delivery's acknowledgement subject says about it."""

    consumer: str
    stream_seq: int
    """The event's sequence in the stream; 0 when the subject does not spell one."""
    stored_ns: int
    """When the stream stored it, in nanoseconds since the epoch; 0 when the subject does not spell it."""


def ack_fields(reply: str) -> AckFields | None:
    """The consumer, stream sequence and storage time a delivery's acknowledgement subject names, or None if
    `reply` is not one (a split and two `int`s: a tenth of what nats-py's `Msg.metadata` costs)."""
    if not reply.startswith(_ACK_PREFIX):
        return None
    tokens = reply.split(".")
    if len(tokens) == _ACK_TOKENS_V1:
        first = 3
    elif len(tokens) >= _ACK_TOKENS_V1 + 2:
        first = 5
    else:
        return None
    try:
        return AckFields(tokens[first], int(tokens[first + 2]), int(tokens[first + 4]))
    except ValueError:
        return AckFields(tokens[first], 0, 0)


_PUBLISH_ROUTE = "_pub"
"""The inbox's second token for publish acknowledgements (consumer names are hex: never this)."""
_NO_RESPONDERS = "503"


class PublishAck(NamedTuple):
    """JetStream's acknowledgement of one published message."""

    seq: int
    duplicate: bool
    """The stream already held a message with this `Nats-Msg-Id` (within its duplicate window): `seq` is
    that message's."""


def _consume_exception(task: asyncio.Task[Any]) -> None:
    # Every caller may have been cancelled; retrieve the error so asyncio does not report it as lost.
    if not task.cancelled():
        task.exception()


class StreamConnection:
    """A NATS client connected to `servers`, and the stream `spec` describes (created if absent).

    While the connection is lost, `client()` and `jetstream()` fail at once with `LogUnavailable`; open
    readers may wait until `outage_ends_at()` (`outage_grace_s` after the loss) for it to come back.
    """

    def __init__(
        self,
        servers: str | Sequence[str],
        spec: StreamSpec,
        *,
        request_timeout_s: float = 5.0,
        connect_timeout_s: float = 10.0,
        outage_grace_s: float = 10.0,
    ) -> None:
        if outage_grace_s < 0:
            raise ValueError("outage_grace_s must not be negative")
        self.spec = spec
        self.request_timeout_s = request_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.outage_grace_s = outage_grace_s
        self._servers = [servers] if isinstance(servers, str) else list(servers)
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._epoch: int | None = None
        self._latest_seq = 0
        self._state_task: asyncio.Task[StreamState] | None = None
        self._down_since: float | None = None
        """Loop time at which the connection was lost; None while connected."""
        self._disconnects = 0
        self._availability_callbacks: list[Callable[[bool], None]] = []
        self._listeners: set[StreamListener] = set()
        self._inbox = ""
        self._ack_prefix = f".{_PUBLISH_ROUTE}."
        self._inbox_sub: CoreSubscription | None = None
        self._readers: dict[str, InboxReader] = {}
        """Consumer name → the reader it delivers to."""
        self._acks: dict[str, tuple[asyncio.Future[InboxMessage], float]] = {}
        """Token → (the publish waiting for JetStream's acknowledgement on `<inbox>._pub.<token>`, the loop
        time it gives up at)."""
        self._ack_tokens = itertools.count(1)
        self._ack_sweep: asyncio.TimerHandle | None = None
        """One timer for every waiting publish, due at the earliest give-up time (a timer per publish
        costs more than the publish's own bookkeeping)."""
        self._ack_sweep_at = 0.0
        self._closed = False
        self.deliveries = 0
        """Events the server sent to any subscription of this connection (each copy counted)."""

    # -- lifecycle ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect to NATS and make sure the stream exists; raises `LogUnavailable` on failure."""
        if self._closed:
            raise LogClosed("event log is closed")
        if self._nc is not None:
            raise RuntimeError("event log already started")
        nc = InboxClient()
        try:
            with mapped_errors("cannot connect to NATS"):
                # The client retries forever once connected; bound the initial attempt ourselves.
                await asyncio.wait_for(
                    nc.connect(
                        servers=self._servers,
                        name="voicesvc-events",
                        connect_timeout=max(1, int(self.request_timeout_s)),
                        max_reconnect_attempts=-1,
                        reconnect_time_wait=1,
                        error_cb=self._on_error,
                        disconnected_cb=self._on_disconnected,
                        reconnected_cb=self._on_reconnected,
                    ),
                    self.connect_timeout_s,
                )
        except LogUnavailable:
            with contextlib.suppress(Exception):
                await nc.close()
            raise
        self._nc = nc
        self._js = nc.jetstream(timeout=self.request_timeout_s)
        try:
            self._inbox = nc.new_inbox()
            self._ack_prefix = f"{self._inbox}.{_PUBLISH_ROUTE}."
            with mapped_errors("cannot subscribe to the inbox"):
                # pending limits of 0: never drop a message (see the module docstring).
                self._inbox_sub = await nc.subscribe(
                    f"{self._inbox}.*.*", cb=self._route, pending_msgs_limit=0, pending_bytes_limit=0
                )
            if not nc.take(self._inbox_sub, self._dispatch):
                logger.info("nats_inbox_fast_lane_unavailable")
            info = await self.ensure_stream()
        except BaseException:
            with contextlib.suppress(Exception):
                await nc.close()
            self._nc = self._js = None
            raise
        self._epoch = self.spec.epoch_of(info)
        self._latest_seq = info.state.last_seq

    async def close(self) -> None:
        """Tell every listener the log is closing, let them release their resources, and disconnect."""
        if self._closed:
            return
        self._closed = True
        listeners, self._listeners = list(self._listeners), set()
        for listener in listeners:
            listener.log_closing()
        if listeners:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(listener.release() for listener in listeners), return_exceptions=True),
                    self.request_timeout_s,
                )
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._closed

    def add_listener(self, listener: StreamListener) -> None:
        """Have `listener` told about the connection and the stream until `discard_listener`."""
        self._listeners.add(listener)

    def discard_listener(self, listener: StreamListener) -> None:
        """Stop telling `listener`; no error if it is not registered."""
        self._listeners.discard(listener)

    # -- the shared inbox --------------------------------------------------------------------------

    def route(self, consumer: str, reader: InboxReader) -> None:
        """Hand what `consumer` delivers, and the statuses of its pulls, to `reader` until `unroute`."""
        self._readers[consumer] = reader

    def unroute(self, consumer: str) -> None:
        """Drop whatever still arrives for `consumer`; no error if it is not routed."""
        self._readers.pop(consumer, None)

    def reply_subject(self, consumer: str, token: str) -> str:
        """Where the answers to pull request `token` of `consumer` are to be sent."""
        return f"{self._inbox}.{consumer}.{token}"

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> PublishAck:
        """Store a message in the stream and wait (at most `request_timeout_s`) for JetStream's ack.

        What nats-py's `JetStreamContext.publish` does, with the answer on the shared inbox: no request
        token drawn from the random generator, no `wait_for` task, no `PubAck` object. Raises nats-py's
        errors as it does: `TimeoutError`, `NoStreamResponseError` (no stream takes the subject), an
        `APIError` for a refusal; the caller maps them.
        """
        nc = self.client()
        token = str(next(self._ack_tokens))
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[InboxMessage] = loop.create_future()
        gives_up_at = loop.time() + self.request_timeout_s
        self._acks[token] = (answer, gives_up_at)
        if self._ack_sweep is None or gives_up_at < self._ack_sweep_at:
            self._arm_ack_sweep(loop, gives_up_at)
        try:
            await nc.publish(subject, payload, reply=self._ack_prefix + token, headers=headers)
            msg = await answer
        finally:
            del self._acks[token]
        if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS:
            raise nats.js.errors.NoStreamResponseError
        reply = orjson.loads(msg.data)
        if "error" in reply:
            raise nats.js.errors.APIError.from_error(reply["error"])
        # Streams of one account cannot overlap, so the subject's stream is ours; checked here rather than
        # sent as a `Nats-Expected-Stream` header with every event. (Had an operator replaced our stream by
        # another taking its subjects, the event is stored there and still refused here: the webhook is
        # answered 503 and delivered again, as for any outage of the log.)
        if reply.get("stream") != self.spec.name:
            raise nats.js.errors.Error(f"stored by stream {reply.get('stream')!r}, not {self.spec.name!r}")
        return PublishAck(int(reply["seq"]), bool(reply.get("duplicate", False)))

    def _arm_ack_sweep(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._ack_sweep is not None:
            self._ack_sweep.cancel()
        self._ack_sweep_at = when
        self._ack_sweep = loop.call_at(when, self._sweep_acks, loop, when)

    def _sweep_acks(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        """Fail the publishes whose time is up with `TimeoutError`; wake again for the next one due."""
        self._ack_sweep = None
        # A loop may run a timer a little before its time (uvloop rounds to milliseconds): what it was due
        # for is up, or the sweep would re-arm for the same instant again and again.
        now = max(loop.time(), due)
        earliest: float | None = None
        for answer, gives_up_at in self._acks.values():
            if answer.done():
                continue
            if gives_up_at <= now:
                answer.set_exception(nats.errors.TimeoutError())
            elif earliest is None or gives_up_at < earliest:
                earliest = gives_up_at
        if earliest is not None:
            self._arm_ack_sweep(loop, earliest)

    async def _route(self, msg: Msg) -> None:
        # The subscription's callback: only used when the client's fast lane is not (see `inbox`).
        self._dispatch(InboxMessage(msg.subject, msg.reply, msg.headers, msg.data))

    def _dispatch(self, msg: InboxMessage) -> None:
        """Hand an inbox message to the publish or the reader it answers."""
        subject = msg.subject
        if subject.startswith(self._ack_prefix):
            waiting = self._acks.get(subject[len(self._ack_prefix) :])
            if waiting is not None and not waiting[0].done():
                waiting[0].set_result(msg)
            return
        headers = msg.headers
        status = headers.get("Status") if headers else None
        if not status:
            ack = ack_fields(msg.reply)
            reader = None if ack is None else self._readers.get(ack.consumer)
            if reader is not None:
                assert ack is not None
                reader.delivered(msg, ack)
            return
        consumer, _, token = subject[len(self._inbox) + 1 :].partition(".")
        reader = self._readers.get(consumer)
        if reader is not None:
            reader.pull_status(token, status, str((headers or {}).get("Description", "")))

    # -- access ------------------------------------------------------------------------------------

    def jetstream(self) -> JetStreamContext:
        """The JetStream context, or `LogClosed` / `LogUnavailable` when it cannot serve right now."""
        if self._closed:
            raise LogClosed("event log is closed")
        if self._js is None:
            raise LogUnavailable("event log not started")
        if self._nc is not None and not self._nc.is_connected:
            # Fail now rather than queue behind the reconnection: a webhook gets its 503 at once (Telnyx
            # retries it) and a new subscriber its UNAVAILABLE.
            raise LogUnavailable("not connected to NATS; reconnecting")
        return self._js

    def client(self) -> NatsClient:
        """The core NATS client, under the same conditions as `jetstream`."""
        self.jetstream()
        assert self._nc is not None
        return self._nc

    async def delete_consumer(self, name: str) -> None:
        """Delete a consumer if connected (also while closing); errors are ignored (it expires anyway)."""
        js, nc = self._js, self._nc
        if js is None or nc is None or not nc.is_connected:
            return
        with contextlib.suppress(Exception):
            await js.delete_consumer(self.spec.name, name)

    # -- the stream --------------------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """Derived from the stream's name and creation time: shared by every replica using the stream."""
        if self._epoch is None:
            raise LogUnavailable("event log not started")
        return self._epoch

    def cursor(self, seq: int) -> str:
        """The cursor of position `seq` in the current incarnation of the stream."""
        return encode_cursor(seq, self.epoch)

    @property
    def latest_seq(self) -> int:
        """The newest sequence known to be in the stream (0 when none is)."""
        return self._latest_seq

    def note_seq(self, seq: int) -> None:
        """Record that the stream holds `seq`."""
        self._latest_seq = max(self._latest_seq, seq)

    def expired(self, state: StreamState, message: str | None = None) -> CursorExpired:
        """The error for a position the retention removed, naming the oldest position still readable."""
        return CursorExpired(self.cursor(max(state.first_seq - 1, 0)), message)

    async def ensure_stream(self) -> api.StreamInfo:
        """The stream's info, creating the stream first if it does not exist."""
        js = self.jetstream()
        with mapped_errors(f"cannot open stream {self.spec.name}"):
            try:
                info = await js.stream_info(self.spec.name)
            except nats.js.errors.NotFoundError:
                try:
                    info = await js.add_stream(self.spec.config())
                except nats.js.errors.BadRequestError as exc:
                    # Either another replica created it a moment ago, or the config is refused.
                    try:
                        info = await js.stream_info(self.spec.name)
                    except nats.js.errors.NotFoundError:
                        raise LogUnavailable(
                            f"cannot create stream {self.spec.name}: {exc.description or exc!r}"
                        ) from exc
        if self.spec.subjects not in (info.config.subjects or []):
            raise LogUnavailable(f"stream {self.spec.name} does not hold subjects {self.spec.subjects}")
        problem = self.spec.layout_problem(info)
        if problem is not None:
            raise LogUnavailable(problem)
        return info

    async def restore_stream(self) -> None:
        """Create the stream again after it vanished (deleted, or NATS lost its store), as at start."""
        self._check_incarnation(await self.ensure_stream())

    async def fresh_state(self) -> StreamState:
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

    async def _load_state(self) -> StreamState:
        js = self.jetstream()
        with mapped_errors("cannot read stream state"):
            info = await js.stream_info(self.spec.name)
        self._check_incarnation(info)
        state = StreamState.of(info)
        self.note_seq(state.last_seq)
        return state

    def _check_incarnation(self, info: api.StreamInfo) -> None:
        """Notice that the stream was deleted and created again (by an operator, or with a lost store).

        Positions in the old stream mean nothing in the new one: open readers end with `CursorExpired`
        naming the new stream's oldest cursor, old cursors are refused from now on, and the sequence
        counters start over.
        """
        epoch = self.spec.epoch_of(info)
        if epoch == self._epoch:
            return
        logger.warning("nats_stream_recreated", stream=self.spec.name, subscriptions=len(self._listeners))
        self._epoch = epoch
        self._latest_seq = info.state.last_seq
        state = StreamState.of(info)
        for listener in list(self._listeners):
            listener.stream_recreated(
                self.expired(state, "the event log was recreated; resume from its oldest cursor")
            )

    # -- outages -----------------------------------------------------------------------------------

    @property
    def disconnects(self) -> int:
        """How many times the connection was lost: a request that failed across a change was cut by it."""
        return self._disconnects

    def outage_ends_at(self) -> float | None:
        """Loop time at which open readers give up on the lost connection; None while connected."""
        down = self._down_since
        return None if down is None else down + self.outage_grace_s

    def on_availability(self, callback: Callable[[bool], None]) -> None:
        """Have `callback(available)` called whenever the connection is lost or regained."""
        self._availability_callbacks.append(callback)

    def _report_availability(self, available: bool) -> None:
        for callback in self._availability_callbacks:
            try:
                callback(available)
            except Exception:
                logger.exception("availability_callback_failed")

    async def _on_error(self, exc: Exception) -> None:
        logger.warning("nats_error", error=repr(exc))

    async def _on_disconnected(self) -> None:
        if self._closed:
            return
        logger.warning("nats_disconnected", subscriptions=len(self._listeners), grace_s=self.outage_grace_s)
        self._down_since = asyncio.get_running_loop().time()
        self._disconnects += 1
        for listener in list(self._listeners):
            listener.connection_lost()  # to wait no longer than the grace period
        self._report_availability(False)

    async def _on_reconnected(self) -> None:
        logger.info("nats_reconnected", subscriptions=len(self._listeners))
        self._down_since = None
        self._report_availability(True)
        # Pull requests made before the outage may be gone with the server (and a restarted server has
        # lost the in-memory consumers too): every reader re-checks its consumer and pulls again now,
        # rather than when its pull would have expired.
        for listener in list(self._listeners):
            listener.connection_restored()
