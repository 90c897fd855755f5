"""`EventWatch`: an async iterator over WatchEvents that skips heartbeats and can resume after a drop."""

from __future__ import annotations

import asyncio
import contextlib
import types
from collections.abc import AsyncGenerator, Sequence
from typing import Any, Self

import grpc
from google.protobuf import duration_pb2
from grpc import aio

from voicesvc.backoff import Backoff, Jitter
from voicesvc.v1 import events_pb2, events_pb2_grpc

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE})
"""Stream endings after which `EventWatch` reconnects (when reconnecting is enabled)."""

SERVER_DEFAULT_HEARTBEAT_S = 15.0
SERVER_MIN_HEARTBEAT_S = 1.0
"""The server raises shorter requested intervals to this."""
IDLE_HEARTBEATS = 3
"""A stream silent (no event, no heartbeat) for this many heartbeat intervals is taken for dead."""


class EventWatch:
    """Iterates the events of one subscription.

    `last_cursor` is the position to resume from: the cursor of the last event yielded, or of the
    latest heartbeat (which the server sends while nothing matching arrives, so a filtered subscriber
    still advances). With `reconnect=True` a stream that ends with UNAVAILABLE (server restart,
    network drop) is reopened after `last_cursor` with exponential backoff; `max_reconnects` bounds
    the consecutive attempts that deliver nothing (None: unbounded). Any other error is raised.

    The server sends a heartbeat at least every `heartbeat_interval` (its default: 15 s): a stream that
    stays silent for `IDLE_HEARTBEATS` intervals, as a connection that died without a reset does, is
    cancelled and treated as UNAVAILABLE.
    """

    def __init__(
        self,
        stub: events_pb2_grpc.EventStreamStub,
        *,
        event_types: Sequence[str] = (),
        call_control_ids: Sequence[str] = (),
        call_session_ids: Sequence[str] = (),
        connection_ids: Sequence[str] = (),
        after_cursor: str | None = None,
        start_oldest: bool = False,
        heartbeat_interval: float | None = None,
        reconnect: bool = False,
        max_reconnects: int | None = None,
        initial_backoff: float = 0.2,
        max_backoff: float = 5.0,
        timeout: float | None = None,
    ) -> None:
        self._stub = stub
        self._filter = events_pb2.EventFilter(
            event_types=list(event_types),
            call_control_ids=list(call_control_ids),
            call_session_ids=list(call_session_ids),
            connection_ids=list(connection_ids),
        )
        self._start = events_pb2.START_POSITION_OLDEST if start_oldest else events_pb2.START_POSITION_NOW
        self._heartbeat = heartbeat_interval
        self._reconnect = reconnect
        self._max_reconnects = max_reconnects
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._timeout = timeout
        self._call: aio.UnaryStreamCall | None = None
        self._first: events_pb2.WatchEventsResponse | None = None  # read by ready(), not yet handled
        self._iterator: AsyncGenerator[events_pb2.Event, None] | None = None
        self._closed = False
        self._closing = asyncio.Event()
        beat = max(heartbeat_interval or SERVER_DEFAULT_HEARTBEAT_S, SERVER_MIN_HEARTBEAT_S)
        self._idle_timeout = IDLE_HEARTBEATS * beat
        self.last_cursor: str = after_cursor or ""
        """Where a new subscription should resume so that it misses nothing and repeats nothing."""
        self.reconnects = 0
        """How many times the stream was reopened."""

    def request(self) -> events_pb2.WatchEventsRequest:
        """The request that (re)opens the stream at the current position."""
        req = events_pb2.WatchEventsRequest(filter=self._filter)
        if self.last_cursor:
            req.after_cursor = self.last_cursor
        else:
            req.start = self._start
        if self._heartbeat is not None:
            req.heartbeat_interval.CopyFrom(_duration(self._heartbeat))
        return req

    def __aiter__(self) -> EventWatch:
        return self

    async def __aenter__(self) -> Self:
        await self.ready()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def ready(self) -> EventWatch:
        """Open the stream now and wait for the server's opening heartbeat: every event accepted from
        then on will be delivered. (Iterating opens the stream too, but only when the first item is
        asked for — too late for events caused by a call made in between.)."""
        failures = 0
        while self._call is None and self._first is None and not self._closed:
            call = self._call = self._stub.WatchEvents(self.request(), timeout=self._timeout)
            try:
                first = await self._read(call)
            except asyncio.CancelledError:
                # aclose() cancelled the call; only a cancellation of this task itself propagates.
                task = asyncio.current_task()
                self._call = None
                if self._closed and (task is None or task.cancelling() == 0):
                    break
                raise
            except aio.AioRpcError as err:
                self._call = None
                if self._closed or not self._may_reconnect(err, failures):
                    if self._closed:
                        break
                    raise
                await self._pause(self._backoff(failures))
                failures += 1
                self.reconnects += 1
                continue
            if first is not aio.EOF:
                self._first = first
                if first.WhichOneof("kind") == "heartbeat" and first.heartbeat.cursor:
                    self.last_cursor = first.heartbeat.cursor
        return self

    def _may_reconnect(self, err: aio.AioRpcError, failures: int) -> bool:
        """Whether a stream that ended with `err` is reopened (after `failures` fruitless attempts)."""
        if not self._reconnect or err.code() not in RETRYABLE:
            return False
        return self._max_reconnects is None or failures < self._max_reconnects

    async def __anext__(self) -> events_pb2.Event:
        if self._iterator is None:
            self._iterator = self._events()
        return await anext(self._iterator)

    async def _events(self) -> AsyncGenerator[events_pb2.Event, None]:
        failures = 0
        while not self._closed:
            call = self._call or self._stub.WatchEvents(self.request(), timeout=self._timeout)
            self._call = call
            try:
                while True:
                    item = self._first if self._first is not None else await self._read(call)
                    self._first = None
                    if item is aio.EOF:
                        return
                    failures = 0
                    kind = item.WhichOneof("kind")
                    if kind == "heartbeat":
                        if item.heartbeat.cursor:
                            self.last_cursor = item.heartbeat.cursor
                        continue
                    if kind == "event":
                        if item.event.cursor:
                            self.last_cursor = item.event.cursor
                        yield item.event
            except asyncio.CancelledError:
                # grpc reports a call cancelled through aclose() as CancelledError; only a cancellation
                # of the consuming task itself propagates.
                task = asyncio.current_task()
                if self._closed and (task is None or task.cancelling() == 0):
                    return
                raise
            except aio.AioRpcError as err:
                if self._closed and err.code() == grpc.StatusCode.CANCELLED:
                    return
                if not self._may_reconnect(err, failures):
                    raise
                await self._pause(self._backoff(failures))
                failures += 1
                self.reconnects += 1
            finally:
                call.cancel()
                self._call = None

    async def _read(self, call: aio.UnaryStreamCall) -> Any:
        """The next message of `call`; a call silent past the idle timeout is cancelled and reported as
        UNAVAILABLE, like any other lost connection."""
        try:
            return await asyncio.wait_for(call.read(), self._idle_timeout)
        except TimeoutError:
            call.cancel()
            raise aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE,
                aio.Metadata(),
                aio.Metadata(),
                details=f"nothing received for {self._idle_timeout:g} s: the connection is presumed dead",
            ) from None

    async def _pause(self, seconds: float) -> None:
        """Sleep before reconnecting, unless `aclose()` comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _backoff(self, attempt: int) -> float:
        """Seconds to wait before reconnect number `attempt + 1` (`attempt` fruitless reconnects so far)."""
        backoff = Backoff(initial_s=self._initial_backoff, max_s=self._max_backoff, jitter=Jitter.EQUAL)
        return backoff.delay_s(attempt + 1)

    async def aclose(self) -> None:
        """Stop the subscription; an iteration in progress (or waiting to reconnect) ends without error."""
        self._closed = True
        self._closing.set()
        if self._call is not None:
            self._call.cancel()
        # `_events()` returns a native async generator, the only kind with `ag_running`.
        it = self._iterator
        if isinstance(it, types.AsyncGeneratorType) and it.ag_running is False:
            await it.aclose()


def _duration(seconds: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromNanoseconds(round(seconds * 1e9))
    return out
