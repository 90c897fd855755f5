"""Helpers for subscription suites: a `StreamingPull` member over real gRPC and a recorder of deliveries.

```python
member = await Member.open(channel, "subscriptions/work", member_id="w1")
delivery = await member.receive()          # one ReceivedEvent
await member.ack(delivery.ack_id)
```
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import duration_pb2

from voicesvc.v1 import subscriptions_pb2, subscriptions_pb2_grpc

READ_TIMEOUT = 15.0
_END = object()


class Member:
    """One StreamingPull stream: requests go through a queue, responses are read by a task."""

    def __init__(self, call: Any, requests: asyncio.Queue[object]) -> None:
        self.call = call
        self._requests = requests
        self.member_id = ""
        self.received: asyncio.Queue[subscriptions_pb2.ReceivedEvent] = asyncio.Queue()
        self.heartbeats = 0
        self.error: grpc.aio.AioRpcError | None = None
        self.ended = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        channel: grpc.aio.Channel,
        subscription: str,
        *,
        member_id: str = "",
        max_outstanding: int = 0,
        heartbeat_s: float | None = None,
    ) -> Member:
        """Open the stream and wait for its first response (the member id)."""
        requests: asyncio.Queue[object] = asyncio.Queue()
        first = subscriptions_pb2.StreamingPullRequest(
            subscription=subscription, member_id=member_id, max_outstanding_events=max_outstanding
        )
        if heartbeat_s is not None:
            first.heartbeat_interval.FromNanoseconds(int(heartbeat_s * 1e9))
        await requests.put(first)

        async def produce() -> AsyncIterator[subscriptions_pb2.StreamingPullRequest]:
            while True:
                item = await requests.get()
                if item is _END:
                    return
                assert isinstance(item, subscriptions_pb2.StreamingPullRequest)
                yield item

        stub = subscriptions_pb2_grpc.SubscriptionsStub(channel)
        member = cls(stub.StreamingPull(produce()), requests)
        member._reader = asyncio.get_running_loop().create_task(member._read())
        return member

    async def _read(self) -> None:
        try:
            async for response in self.call:
                if response.member_id:
                    self.member_id = response.member_id
                if response.HasField("heartbeat"):
                    self.heartbeats += 1
                for received in response.received_events:
                    await self.received.put(received)
        except grpc.aio.AioRpcError as exc:
            self.error = exc
        except asyncio.CancelledError:
            pass
        finally:
            self.ended.set()

    async def started(self) -> Member:
        """Wait until the server echoed the member id."""
        async with asyncio.timeout(READ_TIMEOUT):
            while not self.member_id:
                if self.ended.is_set():
                    raise AssertionError(f"stream ended: {self.error}")
                await asyncio.sleep(0.005)
        return self

    async def receive(self, wait_s: float = READ_TIMEOUT) -> subscriptions_pb2.ReceivedEvent:
        """The next delivery (within `wait_s`)."""
        async with asyncio.timeout(wait_s):
            return await self.received.get()

    async def nothing(self, wait_s: float = 0.3) -> None:
        """Assert that nothing is delivered within `wait_s`."""
        with contextlib.suppress(TimeoutError):
            got = await self.receive(wait_s)
            raise AssertionError(f"unexpected delivery {got.event.id} (attempt {got.delivery_attempt})")

    async def send(self, **fields: Any) -> None:
        """Send one request (`ack_ids=[...]`, `nack_ids=[...]`, …)."""
        await self._requests.put(subscriptions_pb2.StreamingPullRequest(**fields))

    async def ack(self, *ack_ids: str) -> None:
        """Ack deliveries."""
        await self.send(ack_ids=list(ack_ids))

    async def nack(self, *ack_ids: str) -> None:
        """Nack deliveries."""
        await self.send(nack_ids=list(ack_ids))

    async def extend(self, seconds: float, *ack_ids: str) -> None:
        """Set the deadline of deliveries to `seconds` from now."""
        deadline = duration_pb2.Duration()
        deadline.FromNanoseconds(int(seconds * 1e9))
        await self.send(modify_deadline_ack_ids=list(ack_ids), modify_deadline=deadline)

    async def failure(self) -> grpc.aio.AioRpcError:
        """Wait for the stream to end with an error, and answer it."""
        async with asyncio.timeout(READ_TIMEOUT):
            await self.ended.wait()
        assert self.error is not None, "the stream ended without an error"
        return self.error

    async def close(self) -> None:
        """End the stream from the member's side (half-close, then cancel)."""
        await self._requests.put(_END)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await self.ended.wait()
        self.call.cancel()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
