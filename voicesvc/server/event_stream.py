"""The `EventStream.WatchEvents` servicer: streams the event log to gRPC subscribers.

Each stream owns one log subscription, and its whole filter (event types and the call control, call session
and connection ids) is pushed down to the log: the memory log wakes only the streams an event matches, the
NATS backend has the server select each stream's events. A stream is only ever handed events it delivers,
so an idle stream costs nothing for the events of other calls. Every stream reads the log at its own pace:
gRPC flow control pauses a slow client's generator, which then simply stops pulling from its subscription,
so nobody else waits for it.

A stream opens with a heartbeat naming its start position (so the client knows it is subscribed, and
where), then sends each matching event once, in log order, and a heartbeat whenever nothing was sent for
the heartbeat interval. Heartbeats carry the subscription's checkpoint: resuming after it skips nothing
the filter would have delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

import grpc
import structlog
from google.protobuf import timestamp_pb2

from voicesvc.events.log import (
    CursorExpired,
    EventFilter,
    EventLog,
    IdFilter,
    InvalidCursor,
    LogClosed,
    LogUnavailable,
    Start,
    Subscription,
)
from voicesvc.server.event_convert import EventConverter
from voicesvc.server.status import (
    Rejected,
    abort,
    cursor_expired_status,
    event_log_unavailable_status,
    invalid_request,
    watch_shutdown_status,
)
from voicesvc.v1 import events_pb2, events_pb2_grpc

__all__ = ["EventStreamServicer", "IdFilter"]

MAX_FILTER_ENTRIES = 1000
"""Upper bound of each filter list, so a request cannot make every event check arbitrarily slow."""

logger = structlog.get_logger("voicesvc.events.watch")


@dataclass(frozen=True, slots=True)
class _Plan:
    """A validated request."""

    start: Start
    event_types: list[str]
    ids: IdFilter
    heartbeat_s: float


def _id_list(values: list[str], field: str) -> list[str]:
    if len(values) > MAX_FILTER_ENTRIES:
        raise invalid_request(field, f"at most {MAX_FILTER_ENTRIES} entries are allowed")
    if any(not v for v in values):
        raise invalid_request(field, "ids must not be empty")
    return values


class EventStreamServicer(events_pb2_grpc.EventStreamServicer):
    """Serves `WatchEvents` from `log`.

    `default_heartbeat_s` applies when the request sets no interval; shorter requested intervals are raised
    to `min_heartbeat_s`. `close()` (or closing the log) ends every open stream with UNAVAILABLE.
    """

    def __init__(
        self,
        log: EventLog,
        *,
        default_heartbeat_s: float = 15.0,
        min_heartbeat_s: float = 1.0,
        converter: EventConverter | None = None,
    ) -> None:
        if min_heartbeat_s <= 0 or default_heartbeat_s < min_heartbeat_s:
            raise ValueError("need 0 < min_heartbeat_s <= default_heartbeat_s")
        self._log = log
        self._default_heartbeat_s = default_heartbeat_s
        self._min_heartbeat_s = min_heartbeat_s
        self._converter = converter or EventConverter()
        # Open streams: their subscription, and a future that is done once the stream has ended.
        self._streams: dict[Subscription, asyncio.Future[None]] = {}
        self._closed = False

    @property
    def open_streams(self) -> int:
        """How many streams are currently open."""
        return len(self._streams)

    async def close(self, wait_s: float = 1.0) -> None:
        """End every open stream with UNAVAILABLE (resume elsewhere) and refuse new ones; idempotent.

        Waits up to `wait_s` for the streams to have sent their final status.
        """
        self._closed = True
        streams = dict(self._streams)
        for subscription in streams:
            with contextlib.suppress(Exception):
                await subscription.close()
        if streams:
            await asyncio.wait(streams.values(), timeout=wait_s)

    # ------------------------------------------------------------------ the RPC

    async def WatchEvents(
        self, request: events_pb2.WatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[events_pb2.WatchEventsResponse]:
        """Replay from the start position, then follow the log; see the module docstring."""
        try:
            plan = self._plan(request)
            subscription = await self._subscribe(plan)
        except Rejected as rejected:
            await abort(context, rejected.status)
        if self._closed:  # closed while subscribing
            await subscription.close()
            await abort(context, watch_shutdown_status())
        ended = asyncio.get_running_loop().create_future()
        self._streams[subscription] = ended
        try:
            async with contextlib.aclosing(self._follow(subscription, plan)) as responses:
                async for response in responses:
                    yield response
        except Rejected as rejected:
            await abort(context, rejected.status)
        finally:
            del self._streams[subscription]
            ended.set_result(None)
            with contextlib.suppress(Exception):
                await subscription.close()

    def _plan(self, request: events_pb2.WatchEventsRequest) -> _Plan:
        patterns = list(request.filter.event_types)
        if len(patterns) > MAX_FILTER_ENTRIES:
            raise invalid_request("filter.event_types", f"at most {MAX_FILTER_ENTRIES} entries are allowed")
        try:
            EventFilter.of(patterns)
        except ValueError as exc:
            raise invalid_request(
                "filter.event_types",
                f"{exc}; use an exact type such as call.answered or a prefix ending in a dot such as call.",
            ) from None
        ids = IdFilter.of(
            _id_list(list(request.filter.call_control_ids), "filter.call_control_ids"),
            _id_list(list(request.filter.call_session_ids), "filter.call_session_ids"),
            _id_list(list(request.filter.connection_ids), "filter.connection_ids"),
        )
        if request.after_cursor:
            try:
                start = Start.after(request.after_cursor)
            except InvalidCursor as exc:
                raise invalid_request("after_cursor", f"{exc}: not a cursor issued by this service") from None
        elif request.HasField("start_time"):
            stamp = request.start_time
            if not 0 <= stamp.nanos < 10**9:
                raise invalid_request("start_time", "must be a valid timestamp")
            start = Start.at(stamp.seconds + stamp.nanos / 1e9)
        elif request.start in (events_pb2.START_POSITION_UNSPECIFIED, events_pb2.START_POSITION_NOW):
            start = Start.now()
        elif request.start == events_pb2.START_POSITION_OLDEST:
            start = Start.oldest()
        else:
            raise invalid_request("start", f"unknown start position {request.start}")
        heartbeat_s = self._default_heartbeat_s
        if request.HasField("heartbeat_interval"):
            interval = request.heartbeat_interval
            seconds = interval.seconds + interval.nanos / 1e9
            if seconds < 0 or not 0 <= interval.nanos < 10**9:
                raise invalid_request("heartbeat_interval", "must be a valid, non-negative duration")
            heartbeat_s = max(seconds, self._min_heartbeat_s)
        return _Plan(start, patterns, ids, heartbeat_s)

    async def _subscribe(self, plan: _Plan) -> Subscription:
        if self._closed:
            raise Rejected(watch_shutdown_status())
        try:
            return await self._log.subscribe(plan.start, plan.event_types, plan.ids)
        except InvalidCursor as exc:
            raise invalid_request("after_cursor", str(exc)) from None
        except ValueError as exc:
            raise invalid_request("filter.event_types", str(exc)) from None
        except (CursorExpired, LogClosed, LogUnavailable) as exc:
            raise Rejected(self._ending(exc)) from None

    def _ending(self, exc: BaseException) -> grpc.Status:
        """The status that ends a stream after its subscription raised `exc`."""
        if isinstance(exc, CursorExpired):
            return cursor_expired_status(exc.oldest_cursor)
        if isinstance(exc, LogClosed):
            return watch_shutdown_status()
        logger.warning("event_log_unavailable", error=str(exc))
        return event_log_unavailable_status(str(exc))

    async def _follow(
        self, subscription: Subscription, plan: _Plan
    ) -> AsyncGenerator[events_pb2.WatchEventsResponse, None]:
        loop = asyncio.get_running_loop()
        yield _heartbeat(subscription)
        next_beat = loop.time() + plan.heartbeat_s
        while True:
            wait_s = next_beat - loop.time()
            if wait_s <= 0:
                yield _heartbeat(subscription)
                next_beat = loop.time() + plan.heartbeat_s
                continue
            try:
                stored = await subscription.next(wait_s)
            except StopAsyncIteration:  # closed underneath the stream: only happens when shutting down
                raise Rejected(watch_shutdown_status()) from None
            except (CursorExpired, LogUnavailable) as exc:
                raise Rejected(self._ending(exc)) from None
            if stored is None:
                continue
            yield self._converter.response(stored)
            next_beat = loop.time() + plan.heartbeat_s


def _heartbeat(subscription: Subscription) -> events_pb2.WatchEventsResponse:
    sent_at = timestamp_pb2.Timestamp()
    sent_at.GetCurrentTime()
    # Always a real position, even in an empty log: a client resuming from it must not fall back to "now"
    # and skip what was appended while it reconnected.
    beat = events_pb2.Heartbeat(cursor=subscription.checkpoint, sent_at=sent_at)
    return events_pb2.WatchEventsResponse(heartbeat=beat)
