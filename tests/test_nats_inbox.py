"""The shared inbox's fast lane: headers read as nats-py reads them, and the same events either way."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from nats.aio.client import Client

from tests.support.nats import NatsServer, unique_log_names
from voicesvc.events.log import LogUnavailable, Start, StoredEvent
from voicesvc.events.nats import NatsEventLog
from voicesvc.events.nats.connection import StreamConnection
from voicesvc.events.nats.inbox import InboxClient, parse_headers
from voicesvc.events.nats.subscription import NatsSubscription

BLOCKS = [
    b"NATS/1.0\r\nNats-Msg-Id: 4f6c\r\nVoicesvc-Received-At: 1700000000.25\r\n\r\n",
    b"NATS/1.0 503\r\n\r\n",
    b"NATS/1.0 404 No Messages\r\n\r\n",
    b"NATS/1.0 404 No Messages \r\n\r\n",
    b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 0\r\n\r\n",
    b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1016\r\nNats-Last-Stream: 1024\r\n\r\n",
    b"NATS/1.0 409 Consumer Deleted\r\n\r\n",
    b"NATS/1.0 \r\n\r\n",
    b"NATS/1.0 abc\r\n\r\n",
    b"NATS/1.0\r\nA:no-space\r\nB:\tpadded \r\nC: has: colons\r\n\r\n",
    b"NATS/1.0\r\nbad name: skipped\r\nno colon here\r\n: empty name\r\nKept: yes\r\n\r\n",
    b"NATS/1.0\r\nSame: first\r\nSame: last\r\n\r\n",
    "NATS/1.0\r\nName: caf\u00e9 \u2713\r\n\r\n".encode(),
    b"NATS/1.0\r\nBroken: \xff\xfe\r\n\r\n",
    b"NATS/1.0\r\nN\xc3\xa4me: skipped\r\nName: kept\r\n\r\n",
    b"NATS/1.0\r\nA: x\x1f\r\n\r\n",
    b"NATS/1.0\r\nA: \xc2\xa0x\xc2\xa0\r\n\r\n",
    b"NATS/1.0\r\n\x1cA: skipped\r\n\r\n",
    b"NATS/1.0\r\n\x01A: kept\r\n\r\n",
    b"NATS/1.0\r\n\r\n",
]


@pytest.mark.parametrize("block", BLOCKS)
async def test_headers_read_as_nats_py_reads_them(block: bytes) -> None:
    assert parse_headers(block) == await Client()._process_headers(block)


async def test_generated_header_blocks_read_as_nats_py_reads_them() -> None:
    pieces = [
        b"A",
        b"b",
        b":",
        b": ",
        b" ",
        b"\t",
        b"\r\n",
        b"\x1c",
        b"\xc3\xa4",
        b"\xff",
        b"-",
        b"1",
        b"\x01",
    ]
    generator = random.Random(12)
    client = Client()
    for _ in range(3000):
        body = b"".join(generator.choice(pieces) for _ in range(generator.randint(0, 24)))
        block = b"NATS/1.0\r\n" + body + b"\r\n\r\n"
        assert parse_headers(block) == await client._process_headers(block), block


@pytest.mark.parametrize(
    ("block", "fields"),
    [
        # nats-py takes the field lines for the description when a status has none.
        (b"NATS/1.0 100\r\nNats-Last-Stream: 9\r\n\r\n", {"Status": "100", "Nats-Last-Stream": "9"}),
        # nats-py raises on a description that is not UTF-8.
        (b"NATS/1.0 409 Caf\xe9\r\n\r\n", {"Status": "409", "Description": "Caf\ufffd"}),
    ],
)
def test_status_lines_nats_py_misreads_are_read_plainly(block: bytes, fields: dict[str, str]) -> None:
    assert parse_headers(block) == fields


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The messages that reached the inbox through nats-py's subscription queue (its callback)."""
    seen: list[Any] = []
    route = StreamConnection._route

    async def counted(self: StreamConnection, msg: Any) -> None:
        seen.append(msg)
        await route(self, msg)

    monkeypatch.setattr(StreamConnection, "_route", counted)
    return seen


@pytest.fixture
async def log(nats_server: NatsServer) -> AsyncIterator[NatsEventLog]:
    event_log = NatsEventLog(nats_server.url, **unique_log_names(), request_timeout_s=1.0)
    await event_log.start()
    yield event_log
    await event_log.close()


CALLS = ["v3:call-0", "v3:call.with.dots", "v3:call-2"]
"""The second id cannot be a subject token as it is: it travels in a header."""


def _webhook(index: int) -> tuple[bytes, str]:
    event_id = f"evt-{index}"
    payload = {"call_control_id": CALLS[index % 3], "call_session_id": f"session-{index % 2}"}
    return json.dumps(
        {"data": {"id": event_id, "event_type": "call.answered", "payload": payload}}
    ).encode(), event_id


def _seen(event: StoredEvent) -> tuple[object, ...]:
    return (event.event_id, event.event_type, event.attempt, event.ids, event.raw)


async def _append_and_read(event_log: NatsEventLog) -> list[tuple[object, ...]]:
    """Append 20 events (one of them twice), then read them back through a subscription."""
    subscription = await event_log.subscribe(Start.oldest())
    appended = []
    started = time.time()
    for index in range(20):
        raw, event_id = _webhook(index)
        result = await event_log.append(raw, event_id, "call.answered", attempt=1 + index % 2)
        assert not result.duplicate
        appended.append(result.event.seq)
    again = await event_log.append(_webhook(4)[0], "evt-4", "call.answered")
    assert again.duplicate
    assert again.event.seq == appended[4]
    read = []
    for index, seq in enumerate(appended):
        event = await subscription.next(5)
        assert event is not None
        assert (event.seq, event.event_id, event.attempt) == (seq, f"evt-{index}", 1 + index % 2)
        assert event.ids.call_control_id == CALLS[index % 3]
        assert started - 1 <= event.received_at <= time.time()
        read.append(_seen(event))
    assert await subscription.next(0.2) is None
    await subscription.close()
    return read


async def test_acks_and_deliveries_skip_nats_pys_queue(log: NatsEventLog, queued: list[Any]) -> None:
    read = await _append_and_read(log)
    assert len(read) == 20
    assert queued == []


async def test_without_the_fast_lane_the_callback_delivers_the_same(
    nats_server: NatsServer, log: NatsEventLog, queued: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = await _append_and_read(log)
    assert queued == []
    monkeypatch.setattr(InboxClient, "take", lambda self, subscription, handler: False)
    slow_log = NatsEventLog(nats_server.url, **unique_log_names())
    await slow_log.start()
    try:
        slow = await _append_and_read(slow_log)
    finally:
        await slow_log.close()
    assert slow == fast
    assert len(queued) >= 41  # 21 acknowledgements and 20 deliveries, at least


async def test_pull_statuses_come_through_the_fast_lane(
    nats_server: NatsServer, queued: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses: list[tuple[str, str]] = []
    pull_status = NatsSubscription.pull_status

    def recorded(self: NatsSubscription, token: str, status: str, description: str) -> None:
        statuses.append((status, description))
        pull_status(self, token, status, description)

    monkeypatch.setattr(NatsSubscription, "pull_status", recorded)
    event_log = NatsEventLog(nats_server.url, **unique_log_names(), pull_expires_s=0.3, consumer_inactive_s=5)
    await event_log.start()
    try:
        subscription = await event_log.subscribe(Start.now())
        assert await subscription.next(0.8) is None  # the pull expires on the server meanwhile
        raw, event_id = _webhook(0)
        await event_log.append(raw, event_id, "call.answered")
        event = await subscription.next(5)
        assert event is not None
        assert event.event_id == event_id
        await subscription.close()
    finally:
        await event_log.close()
    assert ("408", "Request Timeout") in statuses
    assert queued == []


async def test_a_failing_handler_loses_one_message_not_the_connection(
    log: NatsEventLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = log.connection.client()
    assert isinstance(client, InboxClient)
    handler = client._voicesvc_handler
    assert handler is not None
    failures: list[str] = []

    def fails_once(message: Any) -> None:
        if not failures:
            failures.append(message.subject)
            raise RuntimeError("handler failed")
        handler(message)

    monkeypatch.setattr(client, "_voicesvc_handler", fails_once)
    raw, event_id = _webhook(0)
    with pytest.raises(LogUnavailable, match="event not stored"):
        await log.append(raw, event_id, "call.answered")  # its acknowledgement was the message lost
    assert len(failures) == 1
    again = await log.append(raw, event_id, "call.answered")
    assert again.duplicate  # stored the first time: the same event, not a second copy
    assert client.is_connected


async def _until_connected(event_log: NatsEventLog) -> None:
    async with asyncio.timeout(20):
        while True:
            try:
                await event_log.bounds()  # a JetStream request answered: reconnected and serving
            except LogUnavailable:
                await asyncio.sleep(0.1)
            else:
                return


async def test_the_fast_lane_survives_a_reconnection(tmp_path: Any, queued: list[Any]) -> None:
    with NatsServer(tmp_path / "nats") as server:
        event_log = NatsEventLog(server.url, **unique_log_names(), request_timeout_s=1.0)
        await event_log.start()
        try:
            server.stop()
            server.restart()
            await _until_connected(event_log)
            read = await _append_and_read(event_log)
        finally:
            await event_log.close()
    assert len(read) == 20
    assert queued == []
