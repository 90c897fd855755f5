"""The shared inbox's fast lane: headers read as nats-py reads them, and the same events either way."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from nats.aio.client import Client

from tests.support.nats import NatsServer, unique_log_names
from voicesvc.events.log import EventIds, Start
from voicesvc.events.nats import NatsEventLog
from voicesvc.events.nats.connection import StreamConnection
from voicesvc.events.nats.inbox import InboxClient, parse_headers

BLOCKS = [
    b"NATS/1.0\r\nNats-Msg-Id: 4f6c\r\nVoicesvc-Received-At: 1700000000.25\r\n\r\n",
    b"NATS/1.0 503\r\n\r\n",
    b"NATS/1.0 404 No Messages\r\n\r\n",
    b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 0\r\n\r\n",
    b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1016\r\nNats-Last-Stream: 1024\r\n\r\n",
    b"NATS/1.0 409 Consumer Deleted\r\n\r\n",
    b"NATS/1.0\r\nA:no-space\r\nB:\tpadded \r\nC: has: colons\r\n\r\n",
    b"NATS/1.0\r\nbad name: skipped\r\nno colon here\r\n: no name\r\nKept: yes\r\n\r\n",
    b"NATS/1.0\r\nSame: first\r\nSame: last\r\n\r\n",
    "NATS/1.0\r\nName: caf\u00e9 \u2713\r\n\r\n".encode(),
    b"NATS/1.0\r\nBroken: \xff\xfe\r\n\r\n",
    b"NATS/1.0\r\nN\xc3\xa4me: skipped\r\nName: kept\r\n\r\n",
    b"NATS/1.0\r\n\r\n",
]


@pytest.mark.parametrize("block", BLOCKS)
async def test_headers_read_as_nats_py_reads_them(block: bytes) -> None:
    assert parse_headers(block) == await Client()._process_headers(block)


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


def _webhook(call: str) -> tuple[bytes, str]:
    event_id = str(uuid.uuid4())
    body = {"data": {"id": event_id, "event_type": "call.answered", "payload": {"call_control_id": call}}}
    return json.dumps(body).encode(), event_id


async def _append_and_read(url: str) -> list[tuple[int, str, str, EventIds]]:
    """Append 20 events (one of them twice), then read them back through a subscription."""
    log = NatsEventLog(url, **unique_log_names())
    await log.start()
    try:
        subscription = await log.subscribe(Start.oldest())
        appended = []
        for index in range(20):
            raw, event_id = _webhook(f"v3:call-{index % 3}")
            result = await log.append(raw, event_id, "call.answered", attempt=1 + index % 2)
            assert not result.duplicate
            appended.append((result.event.seq, event_id))
        again = await log.append(*_webhook("v3:call-0")[:1], appended[4][1], "call.answered")
        assert again.duplicate
        assert again.event.seq == appended[4][0]
        read = []
        for seq, event_id in appended:
            event = await subscription.next(5)
            assert event is not None
            assert (event.seq, event.event_id) == (seq, event_id)
            read.append((event.seq, event.event_id, event.event_type, event.ids))
        assert await subscription.next(0.2) is None
        await subscription.close()
        return read
    finally:
        await log.close()


async def test_the_inbox_skips_nats_pys_queue(nats_server: NatsServer, monkeypatch: Any) -> None:
    queued: list[Any] = []
    route = StreamConnection._route

    async def counted(self: StreamConnection, msg: Any) -> None:
        queued.append(msg)
        await route(self, msg)

    monkeypatch.setattr(StreamConnection, "_route", counted)
    read = await _append_and_read(nats_server.url)
    assert len(read) == 20
    assert [event_ids.call_control_id for *_, event_ids in read[:3]] == [
        "v3:call-0",
        "v3:call-1",
        "v3:call-2",
    ]
    assert queued == []  # acknowledgements and deliveries alike came through the fast lane


async def test_without_the_fast_lane_the_callback_delivers_the_same(
    nats_server: NatsServer, monkeypatch: Any
) -> None:
    fast = await _append_and_read(nats_server.url)
    queued: list[Any] = []
    route = StreamConnection._route

    async def counted(self: StreamConnection, msg: Any) -> None:
        queued.append(msg)
        await route(self, msg)

    monkeypatch.setattr(StreamConnection, "_route", counted)
    monkeypatch.setattr(InboxClient, "take", lambda self, subscription, handler: False)
    slow = await _append_and_read(nats_server.url)
    assert [event[2:] for event in slow] == [event[2:] for event in fast]
    assert len(queued) >= 41  # 21 acknowledgements and 20 deliveries, at least
