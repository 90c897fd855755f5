"""A scripted in-process gRPC server for client tests: it records what callers sent and answers as told."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc import aio

from voicesvc.v1 import call_control_pb2, events_pb2

Unary = Callable[[Any, aio.ServicerContext], Awaitable[Any]]
Streaming = Callable[[Any, aio.ServicerContext], AsyncIterator[Any]]


@dataclass
class Seen:
    """One call as the server received it."""

    method: str
    request: Any
    metadata: dict[str, str]
    time_remaining: float | None


@dataclass
class FakeServer:
    """Serves GetCallStatus and WatchEvents with the coroutines a test installs."""

    get_call_status: Unary | None = None
    watch_events: Streaming | None = None
    seen: list[Seen] = field(default_factory=list)
    target: str = ""
    _server: aio.Server | None = None

    def _record(self, method: str, request: Any, context: aio.ServicerContext) -> None:
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        self.seen.append(Seen(method, request, metadata, context.time_remaining()))

    async def _status(self, request: Any, context: aio.ServicerContext) -> Any:
        self._record("GetCallStatus", request, context)
        if self.get_call_status is None:
            return call_control_pb2.GetCallStatusResponse(call_control_id=request.call_control_id)
        return await self.get_call_status(request, context)

    async def _watch(self, request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
        self._record("WatchEvents", request, context)
        assert self.watch_events is not None
        async for item in self.watch_events(request, context):
            yield item

    async def start(self) -> FakeServer:
        handlers = {
            "voicesvc.v1.CallControl": {
                "GetCallStatus": grpc.unary_unary_rpc_method_handler(
                    self._status,
                    request_deserializer=call_control_pb2.GetCallStatusRequest.FromString,
                    response_serializer=call_control_pb2.GetCallStatusResponse.SerializeToString,
                ),
            },
            "voicesvc.v1.EventStream": {
                "WatchEvents": grpc.unary_stream_rpc_method_handler(
                    self._watch,
                    request_deserializer=events_pb2.WatchEventsRequest.FromString,
                    response_serializer=events_pb2.WatchEventsResponse.SerializeToString,
                ),
            },
        }
        self._server = aio.server()
        for service, methods in handlers.items():
            self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, methods),))
        port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        self.target = f"127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(None)
