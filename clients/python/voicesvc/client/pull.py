"""Members of a subscription's worker group: `Pull` (an async iterator with explicit acks) and `run_handler`
(a handler called per event: ack when it returns, nack when it raises, its deadline extended while it runs).

Both keep one `StreamingPull` stream open and reopen it with the same member id, with backoff, when it ends
with UNAVAILABLE (a server restart, a network drop, a replica going away). Deliveries of a stream that
ended are redelivered by the server, so a message received before the drop can no longer be acked (its ack
is ignored by the server); the handler sees the event again with a higher `delivery_attempt`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import types
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Self

import grpc
from google.protobuf import duration_pb2
from grpc import aio

from voicesvc.backoff import Backoff, Jitter
from voicesvc.v1 import events_pb2, subscriptions_pb2, subscriptions_pb2_grpc

__all__ = ["Message", "Pull", "run_handler"]

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE})
"""Stream endings after which a member reconnects."""
IDLE_HEARTBEATS = 3
"""A stream silent for this many heartbeat intervals is taken for dead and reopened."""

logger = logging.getLogger("voicesvc.client.pull")


@dataclass(eq=False)
class Message:
    """One delivery: the event, which attempt it is, and how to settle it."""

    event: events_pb2.Event
    delivery_attempt: int
    ack_id: str
    _pull: Pull = field(repr=False)

    async def ack(self) -> None:
        """Done: the event is never delivered again."""
        await self._pull.ack(self.ack_id)

    async def nack(self) -> None:
        """Give it back: it is delivered again at once."""
        await self._pull.nack(self.ack_id)

    async def extend(self, seconds: float) -> None:
        """Set its deadline to `seconds` from now (up to 600 s)."""
        await self._pull.modify_deadline(seconds, self.ack_id)


class Pull:
    """A member's stream of one subscription: `async with client.pull("subscriptions/x") as pull:` then
    `async for message in pull: ...; await message.ack()`.

    `member_id` identifies the worker across reconnects (one is generated when empty); `max_outstanding`
    bounds the events held at once. `max_reconnects` bounds consecutive reconnects that deliver nothing
    (None: unbounded); any error other than UNAVAILABLE is raised.
    """

    def __init__(
        self,
        stub: subscriptions_pb2_grpc.SubscriptionsStub,
        subscription: str,
        *,
        member_id: str = "",
        max_outstanding: int = 0,
        heartbeat_interval: float = 5.0,
        max_reconnects: int | None = None,
        initial_backoff: float = 0.2,
        max_backoff: float = 5.0,
    ) -> None:
        self._stub = stub
        self.subscription = subscription
        self.member_id = member_id or uuid.uuid4().hex
        self._max_outstanding = max_outstanding
        self._heartbeat = heartbeat_interval
        self._max_reconnects = max_reconnects
        self._backoff = Backoff(initial_s=initial_backoff, max_s=max_backoff, jitter=Jitter.EQUAL)
        self._requests: asyncio.Queue[subscriptions_pb2.StreamingPullRequest | None] | None = None
        self._call: aio.StreamStreamCall | None = None
        self._buffer: list[subscriptions_pb2.ReceivedEvent] = []
        self._iterator: AsyncGenerator[Message, None] | None = None
        self._closed = False
        self.reconnects = 0
        """How many times the stream was reopened."""

    async def __aenter__(self) -> Self:
        await self.ready()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        iterator = self._iterator
        if iterator is None:
            iterator = self._iterator = self._messages()
        return await anext(iterator)

    # -- the stream ----------------------------------------------------------------------------------

    async def ready(self) -> Self:
        """Open the stream (if not open) and wait until the server has admitted the member."""
        failures = 0
        while self._call is None and not self._closed:
            try:
                await self._open()
            except aio.AioRpcError as err:
                failures = await self._after_failure(err, failures)
        return self

    async def _open(self) -> None:
        requests: asyncio.Queue[subscriptions_pb2.StreamingPullRequest | None] = asyncio.Queue()
        first = subscriptions_pb2.StreamingPullRequest(
            subscription=self.subscription,
            member_id=self.member_id,
            max_outstanding_events=self._max_outstanding,
        )
        first.heartbeat_interval.CopyFrom(_duration(self._heartbeat))
        requests.put_nowait(first)

        call = self._stub.StreamingPull(_Requests(requests))
        try:
            response = await self._read(call)
        except BaseException:
            call.cancel()
            raise
        if response is aio.EOF:
            call.cancel()
            raise aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE, aio.Metadata(), aio.Metadata(), details="stream ended at once"
            )
        assert isinstance(response, subscriptions_pb2.StreamingPullResponse)
        self.member_id = response.member_id or self.member_id
        self._call, self._requests = call, requests
        self._buffer.extend(response.received_events)

    async def _after_failure(self, err: aio.AioRpcError, failures: int) -> int:
        if self._closed or err.code() not in RETRYABLE:
            raise err
        if self._max_reconnects is not None and failures >= self._max_reconnects:
            raise err
        logger.info("reconnecting member %s: %s", self.member_id, err.details())
        await asyncio.sleep(self._backoff.delay_s(failures + 1))
        self.reconnects += 1
        return failures + 1

    async def _read(self, call: aio.StreamStreamCall) -> object:
        try:
            return await asyncio.wait_for(call.read(), IDLE_HEARTBEATS * self._heartbeat)
        except TimeoutError:
            call.cancel()
            raise aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE,
                aio.Metadata(),
                aio.Metadata(),
                details="nothing received for several heartbeat intervals: the connection is presumed dead",
            ) from None

    async def _messages(self) -> AsyncGenerator[Message, None]:
        failures = 0
        while not self._closed:
            if self._buffer:
                received = self._buffer.pop(0)
                yield Message(received.event, received.delivery_attempt, received.ack_id, self)
                continue
            try:
                await self.ready()
                call = self._call
                if call is None:
                    return
                response = await self._read(call)
            except asyncio.CancelledError:
                if self._closed:
                    return
                raise
            except aio.AioRpcError as err:
                self._drop()
                if self._closed:
                    return
                failures = await self._after_failure(err, failures)
                continue
            if response is aio.EOF:
                self._drop()
                return
            assert isinstance(response, subscriptions_pb2.StreamingPullResponse)
            if response.received_events:
                failures = 0
            self._buffer.extend(response.received_events)

    def _drop(self) -> None:
        if self._call is not None:
            self._call.cancel()
        self._call, self._requests = None, None
        self._buffer.clear()  # the server redelivers what this stream held

    # -- settling --------------------------------------------------------------------------------------

    async def _send(self, request: subscriptions_pb2.StreamingPullRequest) -> None:
        if self._requests is not None:
            await self._requests.put(request)

    async def ack(self, *ack_ids: str) -> None:
        """Ack deliveries by their ack ids."""
        await self._send(subscriptions_pb2.StreamingPullRequest(ack_ids=list(ack_ids)))

    async def nack(self, *ack_ids: str) -> None:
        """Nack deliveries by their ack ids."""
        await self._send(subscriptions_pb2.StreamingPullRequest(nack_ids=list(ack_ids)))

    async def modify_deadline(self, seconds: float, *ack_ids: str) -> None:
        """Set the deadline of deliveries to `seconds` from now."""
        request = subscriptions_pb2.StreamingPullRequest(modify_deadline_ack_ids=list(ack_ids))
        request.modify_deadline.CopyFrom(_duration(seconds))
        await self._send(request)

    async def aclose(self) -> None:
        """Leave the group: what this member holds unacked is delivered again (to the others)."""
        self._closed = True
        if self._requests is not None:
            await self._requests.put(None)
        call = self._call
        if call is not None:
            with contextlib.suppress(TimeoutError, aio.AioRpcError, asyncio.CancelledError):
                async with asyncio.timeout(1.0):
                    while await call.read() is not aio.EOF:
                        pass
            call.cancel()
        self._call, self._requests = None, None
        iterator = self._iterator
        if isinstance(iterator, types.AsyncGeneratorType) and iterator.ag_running is False:
            await iterator.aclose()


class _Requests:
    """The requests of one stream, from a queue (None ends them). A plain iterator rather than an async
    generator: gRPC may stop reading it while it waits, which an async generator reports as an error."""

    def __init__(self, queue: asyncio.Queue[subscriptions_pb2.StreamingPullRequest | None]) -> None:
        self._queue = queue

    def __aiter__(self) -> _Requests:
        return self

    async def __anext__(self) -> subscriptions_pb2.StreamingPullRequest:
        item = await self._queue.get()
        if item is None:
            raise StopAsyncIteration
        return item


async def run_handler(
    pull: Pull,
    handler: Callable[[events_pb2.Event], Awaitable[object]],
    *,
    ack_deadline: float = 30.0,
    concurrency: int = 16,
) -> None:
    """Call `handler(event)` for every delivery of `pull`, `concurrency` at a time; ack when it returns,
    nack when it raises, and extend the deadline every `ack_deadline / 2` seconds while it runs.

    Runs until cancelled or until the stream fails with something other than UNAVAILABLE. Per-call
    ordering holds: the server sends a call's next event only after the previous one was acked.
    """
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()

    async def handle(message: Message) -> None:
        try:
            async with _extending(message, ack_deadline):
                await handler(message.event)
        except Exception:
            logger.exception("handler failed for event %s; nacked", message.event.id)
            await message.nack()
        else:
            await message.ack()
        finally:
            slots.release()

    try:
        async with pull:
            async for message in pull:
                await slots.acquire()
                task = asyncio.get_running_loop().create_task(handle(message))
                running.add(task)
                task.add_done_callback(running.discard)
    finally:
        for task in list(running):
            task.cancel()


@contextlib.asynccontextmanager
async def _extending(message: Message, ack_deadline: float) -> AsyncIterator[None]:
    """Extend `message`'s deadline every half deadline while the body runs."""

    async def keep_alive() -> None:
        while True:
            await asyncio.sleep(ack_deadline / 2)
            await message.extend(ack_deadline)

    task = asyncio.get_running_loop().create_task(keep_alive())
    try:
        yield
    finally:
        task.cancel()


def _duration(seconds: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromNanoseconds(round(seconds * 1e9))
    return out
