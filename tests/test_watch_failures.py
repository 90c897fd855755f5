"""WatchEvents when the log fails under a running stream: it ends with a status the client can act on."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence

import grpc

from tests.support.events import Watcher, error_info
from voicesvc.events import MemoryEventLog
from voicesvc.events.log import IdFilter, LogUnavailable, Start, StoredEvent, Subscription
from voicesvc.server.event_stream import EventStreamServicer
from voicesvc.v1 import events_pb2_grpc


class FailingSubscription(Subscription):
    """Reads through to a real subscription until its log is told to fail."""

    def __init__(self, inner: Subscription, log: FlakyLog) -> None:
        self._inner = inner
        self._log = log

    async def next(self, max_wait: float | None = None) -> StoredEvent | None:
        if self._log.failing:
            raise LogUnavailable("the event store went away")
        return await self._inner.next(max_wait)

    @property
    def checkpoint(self) -> str:
        return self._inner.checkpoint

    @property
    def latest_seq(self) -> int | None:
        return self._inner.latest_seq

    async def close(self) -> None:
        await self._inner.close()


class FlakyLog(MemoryEventLog):
    """A memory log whose readers fail once `failing` is set (as a NATS reader does when NATS is gone)."""

    failing = False

    async def subscribe(
        self, start: Start, event_types: Sequence[str] = (), ids: IdFilter | None = None
    ) -> Subscription:
        return FailingSubscription(await super().subscribe(start, event_types, ids), self)


async def append(log: MemoryEventLog, padding: int = 0) -> None:
    event_id = str(uuid.uuid4())
    data = {"id": event_id, "event_type": "call.answered", "payload": {"pad": "x" * padding}}
    raw = json.dumps({"data": data, "meta": {"attempt": 1}}).encode()
    await log.append(raw, event_id, "call.answered")


@contextlib.asynccontextmanager
async def streaming(log: MemoryEventLog) -> AsyncIterator[grpc.aio.Channel]:
    """Serve WatchEvents from `log` on a free loopback port; a channel to it. Closes the log after."""
    await log.start()
    server = grpc.aio.server()
    events_pb2_grpc.add_EventStreamServicer_to_server(EventStreamServicer(log), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(0)
        await log.close()


async def test_a_log_failure_mid_stream_ends_it_with_unavailable() -> None:
    log = FlakyLog()
    async with streaming(log) as channel:
        watcher = await Watcher.open(channel)
        await append(log)
        assert (await watcher.read()).WhichOneof("kind") == "event"
        log.failing = True
        await append(log)
        failure = await watcher.failure()
        assert failure.code() == grpc.StatusCode.UNAVAILABLE
        info = error_info(failure)
        assert info is not None
        assert info.reason == "EVENT_LOG_UNAVAILABLE"


async def test_a_reader_overtaken_by_retention_mid_stream_gets_out_of_range() -> None:
    log = MemoryEventLog(max_events=8)
    async with streaming(log) as channel:
        watcher = await Watcher.open(channel)
        await append(log)
        assert (await watcher.read()).WhichOneof("kind") == "event"
        # The log accepts 100 events before the stream's reader gets its turn: its next position, the
        # event after the one it delivered, has been evicted from the 8-event ring by then.
        for _ in range(100):
            await append(log)
        failure = await watcher.failure()
        assert failure.code() == grpc.StatusCode.OUT_OF_RANGE
        info = error_info(failure)
        assert info is not None
        assert info.reason == "CURSOR_EXPIRED"
        assert info.metadata["oldest_cursor"]
        assert info.metadata["oldest_cursor"] in failure.details()
