"""Client helpers of the `Calls` service: read calls, watch them, and send commands that return their outcome.

```python
async with VoiceClient() as client:
    answered = await client.dial("+15552220000", "+15551110000", "demo", wait=True)
    call = await client.calls.get(answered.response.call_control_id)
    async for call in client.calls.list(states=[calls_pb2.CALL_STATE_ANSWERED]):
        ...
    async for change in client.watch_calls():
        ...
```
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar, cast

from google.protobuf import duration_pb2
from google.protobuf.message import Message
from grpc import aio

from voicesvc.v1 import call_control_commands_pb2 as commands_pb2
from voicesvc.v1 import call_control_pb2_grpc, calls_pb2, calls_pb2_grpc, events_pb2

__all__ = ["CallWatch", "CallsClient", "CommandResult", "command_request"]

R = TypeVar("R", bound=Message)

_MEMBERS: dict[str, str] = {
    field.message_type.full_name: field.name
    for field in commands_pb2.ExecuteCommandRequest.DESCRIPTOR.oneofs_by_name["command"].fields
    if field.message_type is not None
}


@dataclass(frozen=True)
class CommandResult(Generic[R]):
    """A command's own response and the webhook event that reported its outcome."""

    response: R
    outcome: events_pb2.Event
    succeeded: bool


def command_request(command: Message) -> commands_pb2.ExecuteCommandRequest:
    """The `ExecuteCommandRequest` carrying `command` (a CallControl request whose RPC has an outcome)."""
    member = _MEMBERS.get(command.DESCRIPTOR.full_name)
    if member is None:
        raise ValueError(
            f"{command.DESCRIPTOR.name} has no outcome reported by webhook; send it with its own RPC"
        )
    request = commands_pb2.ExecuteCommandRequest()
    getattr(request, member).CopyFrom(command)
    return request


def _filter(
    states: Sequence[int], connection_id: str, call_session_id: str, direction: int
) -> calls_pb2.CallFilter:
    return calls_pb2.CallFilter(
        states=list(states),  # type: ignore[arg-type]
        connection_id=connection_id,
        call_session_id=call_session_id,
        direction=direction,  # type: ignore[arg-type]
    )


class CallsClient:
    """`client.calls`: the `Calls` service's helpers.

    The CallControl RPCs stay reachable here as before (`client.calls.AnswerCall(...)`), so code written
    against the generated stub keeps working; `client.call_control` is that stub by its own name.
    """

    def __init__(
        self, stub: calls_pb2_grpc.CallsStub, call_control: call_control_pb2_grpc.CallControlStub
    ) -> None:
        self.stub = stub
        """The generated `voicesvc.v1.Calls` stub."""
        self._call_control = call_control

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call_control, name)

    async def get(self, call: str) -> calls_pb2.Call:
        """One call, by its call control id or its name (`calls/{call_control_id}`)."""
        name = call if call.startswith("calls/") else f"calls/{call}"
        return cast(calls_pb2.Call, await self.stub.GetCall(calls_pb2.GetCallRequest(name=name)))

    async def list(
        self,
        *,
        states: Sequence[int] = (),
        connection_id: str = "",
        call_session_id: str = "",
        direction: int = 0,
        page_size: int = 0,
    ) -> AsyncIterator[calls_pb2.Call]:
        """Every matching call, ordered by name, reading page after page."""
        request = calls_pb2.ListCallsRequest(
            filter=_filter(states, connection_id, call_session_id, direction), page_size=page_size
        )
        while True:
            page = cast(calls_pb2.ListCallsResponse, await self.stub.ListCalls(request))
            for call in page.calls:
                yield call
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def watch(
        self,
        *,
        states: Sequence[int] = (),
        connection_id: str = "",
        call_session_id: str = "",
        direction: int = 0,
        after_cursor: str = "",
        heartbeat_interval: float | None = None,
    ) -> CallWatch:
        """List-then-watch: `async for change in client.calls.watch(): ...` (see `CallWatch`)."""
        request = calls_pb2.WatchCallsRequest(
            filter=_filter(states, connection_id, call_session_id, direction), after_cursor=after_cursor
        )
        if heartbeat_interval is not None:
            request.heartbeat_interval.CopyFrom(duration_pb2.Duration(seconds=round(heartbeat_interval)))
        return CallWatch(self.stub, request)

    async def execute(self, command: Message) -> CommandResult[Any]:
        """Send `command` (e.g. a `SpeakTextRequest`) and wait for its outcome event, in one RPC.

        Bound the wait with the client's timeout or `asyncio.timeout`; a call that hangs up first raises
        FAILED_PRECONDITION with the hangup cause in the error details.
        """
        request = command_request(command)
        reply = cast(commands_pb2.ExecuteCommandResponse, await self.stub.ExecuteCommand(request))
        member = reply.WhichOneof("response")
        response = getattr(reply, member) if member else None
        return CommandResult(response, reply.outcome, reply.succeeded)


class CallWatch:
    """An async iterator of `CallChange`s: first the `EXISTING` calls, then the changes as they happen.

    Heartbeats are not yielded; `synced` turns true at the first one (the existing calls have all been
    sent), and `last_cursor` always names the position to resume from with `after_cursor`.
    """

    def __init__(self, stub: calls_pb2_grpc.CallsStub, request: calls_pb2.WatchCallsRequest) -> None:
        self._stub = stub
        self._request = request
        self._call: Any = None
        self.last_cursor = request.after_cursor
        """The cursor of the last change or heartbeat received."""
        self.synced = bool(request.after_cursor)
        """True once the existing calls have all been received."""
        self._buffered: deque[calls_pb2.CallChange] = deque()

    def __aiter__(self) -> CallWatch:
        return self

    def _open(self) -> None:
        if self._call is None:
            self._call = self._stub.WatchCalls(self._request)

    async def ready(self) -> CallWatch:
        """Wait until the server has sent every existing call (they are still yielded, first)."""
        self._open()
        while not self.synced:
            change = await self._read()
            if change is not None:
                self._buffered.append(change)
        return self

    async def __anext__(self) -> calls_pb2.CallChange:
        if self._buffered:
            return self._buffered.popleft()
        self._open()
        while True:
            change = await self._read()
            if change is not None:
                return change

    async def _read(self) -> calls_pb2.CallChange | None:
        """The next change, or None for a heartbeat (which marks the list complete)."""
        item = await self._call.read()
        if item is aio.EOF:
            raise StopAsyncIteration
        response = cast(calls_pb2.WatchCallsResponse, item)
        if response.WhichOneof("kind") == "heartbeat":
            self.synced = True
            self.last_cursor = response.heartbeat.cursor or self.last_cursor
            return None
        self.last_cursor = response.change.cursor
        return response.change

    async def aclose(self) -> None:
        """Cancel the stream."""
        if self._call is not None:
            self._call.cancel()

    async def __aenter__(self) -> Self:
        self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
