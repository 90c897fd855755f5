"""Replay by time: `Start.at` on both event logs, and `WatchEvents.start_time` end to end."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from google.protobuf import timestamp_pb2

from tests.support.nats import NatsServer, unique_log_names
from tests.support.stack import start_stack
from voicesvc.events import EventLog, MemoryEventLog, Start, StoredEvent
from voicesvc.events.nats import NatsEventLog
from voicesvc.v1 import events_pb2, events_pb2_grpc

LogFactory = Callable[[], Awaitable[EventLog]]
WAIT = 10.0


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(params=["memory", "nats"])
async def make_log(request: pytest.FixtureRequest) -> AsyncIterator[LogFactory]:
    server = request.getfixturevalue("nats_server") if request.param == "nats" else None
    created: list[EventLog] = []

    async def factory() -> EventLog:
        log: EventLog
        if server is None:
            log = MemoryEventLog()
        else:
            log = NatsEventLog(server.url, **unique_log_names(), pull_expires_s=0.5, consumer_inactive_s=5)
        await log.start()
        created.append(log)
        return log

    yield factory
    for log in created:
        await log.close()


async def append(log: EventLog, event_type: str = "call.answered") -> StoredEvent:
    event_id = str(uuid.uuid4())
    raw = json.dumps({"data": {"id": event_id, "event_type": event_type, "payload": {}}}).encode()
    return (await log.append(raw, event_id, event_type)).event


async def test_start_at_a_time_replays_from_the_first_event_accepted_then(make_log: LogFactory) -> None:
    log = await make_log()
    before = [await append(log) for _ in range(3)]
    await asyncio.sleep(0.05)  # the two batches must be told apart by their storage time
    boundary = time.time()
    await asyncio.sleep(0.05)
    after = [await append(log, "call.hangup") for _ in range(3)]
    sub = await log.subscribe(Start.at(boundary))
    got = [await sub.next(WAIT) for _ in range(3)]
    assert [e.event_id for e in got if e] == [e.event_id for e in after]
    # Filters apply as with every other start point, and new events follow.
    typed = await log.subscribe(Start.at(boundary), ["call.answered"])
    later = await append(log)
    event = await typed.next(WAIT)
    assert event is not None
    assert event.event_id == later.event_id
    # A time before everything is the oldest; a time after everything starts with the next event.
    everything = await log.subscribe(Start.at(0))
    first = await everything.next(WAIT)
    assert first is not None
    assert first.event_id == before[0].event_id
    future = await log.subscribe(Start.at(time.time() + 3600))
    assert await future.next(0.3) is None
    newest = await append(log)
    event = await future.next(WAIT)
    assert event is not None
    assert event.event_id == newest.event_id
    for s in (sub, typed, everything, future):
        await s.close()


def test_start_at_takes_only_a_time() -> None:
    assert Start.at(12.5).time == 12.5
    with pytest.raises(ValueError, match="takes a time"):
        Start("now", time=1.0)
    with pytest.raises(ValueError, match="takes a time"):
        Start("time")


async def test_watch_events_start_time_replays_what_was_accepted_since() -> None:
    async with start_stack() as stack:
        log = stack.service.event_log
        early = await append(log)
        await asyncio.sleep(0.05)
        boundary = time.time()
        await asyncio.sleep(0.05)
        late = [await append(log), await append(log)]
        stamp = timestamp_pb2.Timestamp()
        stamp.FromNanoseconds(int(boundary * 1e9))
        stub = events_pb2_grpc.EventStreamStub(stack.channel)
        stream = stub.WatchEvents(events_pb2.WatchEventsRequest(start_time=stamp))
        ids: list[str] = []
        async with asyncio.timeout(WAIT):
            async for response in stream:
                if response.HasField("event"):
                    ids.append(response.event.id)
                if len(ids) == len(late):
                    break
        stream.cancel()
        assert ids == [e.event_id for e in late]
        assert early.event_id not in ids
