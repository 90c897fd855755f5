"""Helpers for event-stream suites: signed webhooks over real HTTP and WatchEvents readers over real gRPC.

```python
poster = WebhookPoster(http, service.http_url, signer)
watcher = await Watcher.open(channel, event_types=["call."])     # returns once subscribed
status, body, event_id = await poster.deliver("call.answered", call_control_id="v3:a")
event = await watcher.event()
```
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from voicesvc.server.http import WEBHOOK_PATH
from voicesvc.v1 import events_pb2, events_pb2_grpc
from voicesvc.webhooks import Signer

READ_TIMEOUT = 15.0


def webhook_body(
    event_type: str, payload: dict[str, Any] | None = None, *, event_id: str | None = None, attempt: int = 1
) -> tuple[bytes, str]:
    """A Telnyx webhook envelope and its event id."""
    event_id = event_id or str(uuid.uuid4())
    body = {
        "data": {
            "id": event_id,
            "event_type": event_type,
            "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "payload": payload or {},
            "record_type": "event",
        },
        "meta": {"attempt": attempt, "delivered_to": "http://127.0.0.1/webhooks/telnyx"},
    }
    return json.dumps(body).encode(), event_id


class WebhookPoster:
    """Posts webhooks to a service's `/webhooks/telnyx` route."""

    def __init__(self, http: aiohttp.ClientSession, http_url: str, signer: Signer) -> None:
        self.http = http
        self.url = http_url + WEBHOOK_PATH
        self.signer = signer

    async def post(self, raw: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """POST `raw` with `headers`: (status, JSON answer)."""
        async with self.http.post(self.url, data=raw, headers=headers) as response:
            return response.status, await response.json()

    async def post_signed(self, raw: bytes, timestamp: int | None = None) -> tuple[int, dict[str, Any]]:
        """POST `raw` signed by the trusted key (Telnyx headers)."""
        return await self.post(
            raw, self.signer.sign_telnyx(raw, int(time.time()) if timestamp is None else timestamp)
        )

    async def deliver(
        self, event_type: str, *, event_id: str | None = None, attempt: int = 1, **payload: Any
    ) -> tuple[str, str]:
        """Deliver one event that must be accepted; answers (event id, cursor)."""
        raw, event_id = webhook_body(event_type, payload, event_id=event_id, attempt=attempt)
        status, answer = await self.post_signed(raw)
        assert status == 200, answer
        return event_id, str(answer["cursor"])


def watch_request(
    *,
    event_types: Sequence[str] = (),
    call_control_ids: Sequence[str] = (),
    call_session_ids: Sequence[str] = (),
    connection_ids: Sequence[str] = (),
    after_cursor: str = "",
    oldest: bool = False,
    heartbeat_s: float | None = None,
) -> events_pb2.WatchEventsRequest:
    request = events_pb2.WatchEventsRequest(
        filter=events_pb2.EventFilter(
            event_types=list(event_types),
            call_control_ids=list(call_control_ids),
            call_session_ids=list(call_session_ids),
            connection_ids=list(connection_ids),
        ),
        after_cursor=after_cursor,
        start=events_pb2.START_POSITION_OLDEST if oldest else events_pb2.START_POSITION_NOW,
    )
    if heartbeat_s is not None:
        interval = duration_pb2.Duration()
        interval.FromNanoseconds(round(heartbeat_s * 1e9))
        request.heartbeat_interval.CopyFrom(interval)
    return request


class Watcher:
    """One WatchEvents stream, read message by message."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.last_cursor = ""
        """Cursor of the last event or non-empty heartbeat read (where a client would resume)."""

    @classmethod
    async def open(cls, channel: grpc.aio.Channel, **request: Any) -> Watcher:
        """Open a stream and wait for its opening heartbeat (the subscription exists from then on)."""
        watcher = cls.start(channel, **request)
        first = await watcher.read()
        assert first.WhichOneof("kind") == "heartbeat", first
        return watcher

    @classmethod
    def start(cls, channel: grpc.aio.Channel, **request: Any) -> Watcher:
        """Open a stream without waiting for anything."""
        return cls(events_pb2_grpc.EventStreamStub(channel).WatchEvents(watch_request(**request)))

    async def read(self, within: float = READ_TIMEOUT) -> events_pb2.WatchEventsResponse:
        """The next message; raises the stream's `AioRpcError` when it ended with one."""
        async with asyncio.timeout(within):
            item = await self.call.read()
        assert item is not grpc.aio.EOF, "the stream ended without a status"
        if item.WhichOneof("kind") == "event":
            self.last_cursor = item.event.cursor
        elif item.heartbeat.cursor:
            self.last_cursor = item.heartbeat.cursor
        return item

    async def event(self, within: float = READ_TIMEOUT) -> events_pb2.Event:
        """The next event, skipping heartbeats."""
        async with asyncio.timeout(within):
            while True:
                item = await self.read()
                if item.WhichOneof("kind") == "event":
                    return item.event

    async def events_until(self, event_id: str, within: float = READ_TIMEOUT) -> list[events_pb2.Event]:
        """Every event up to and including the one with `event_id`."""
        events: list[events_pb2.Event] = []
        async with asyncio.timeout(within):
            while not events or events[-1].id != event_id:
                events.append(await self.event())
        return events

    async def heartbeat(self, within: float = READ_TIMEOUT) -> events_pb2.Heartbeat:
        """The next heartbeat; fails if an event comes first."""
        item = await self.read(within)
        assert item.WhichOneof("kind") == "heartbeat", item
        return item.heartbeat

    async def failure(self, within: float = READ_TIMEOUT) -> grpc.aio.AioRpcError:
        """Read until the stream ends with an error status and return it."""
        async with asyncio.timeout(within):
            while True:
                try:
                    await self.read()
                except grpc.aio.AioRpcError as exc:
                    return exc

    def cancel(self) -> None:
        self.call.cancel()


def error_info(exc: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo | None:
    """The `ErrorInfo` detail of a failed call, if it carries one."""
    status = rpc_status.from_call(exc)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None
