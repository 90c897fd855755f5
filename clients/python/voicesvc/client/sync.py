"""`SyncVoiceClient`: the client on grpc's blocking channel, for code without an event loop.

```python
from voicesvc.client import SyncVoiceClient

with SyncVoiceClient("127.0.0.1:50051") as client:
    answered = client.dial("+15552220000", "+15551110000", "demo", wait=True)
    client.hangup(answered.response.call_control_id, wait=True)
    for call in client.list_calls(page_size=50):  # every page
        print(call.name)
```

It has the asyncio client's surface for requests and replies: the generated stubs by the same names, the
call-flow shortcuts, `execute`, `get_call`, every list RPC as a pager (`list_calls`, …), `watch` as a plain
iterator, the same typed errors and the same retries of UNAVAILABLE with one `command_id` per command.
Worker groups (`pull`, `subscribe`) are asyncio only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Self, cast

import grpc

from voicesvc.client.calls import CommandResult, command_request
from voicesvc.client.errors import from_grpc_error
from voicesvc.client.interceptors import (
    DEFAULT_RETRY,
    KEEPALIVE_OPTIONS,
    RetryPolicy,
    prepare_request,
)
from voicesvc.client.paging import LIST_METHODS, Pager, build_request
from voicesvc.v1 import (
    call_control_applications_pb2_grpc,
    call_control_commands_pb2,
    call_control_pb2,
    call_control_pb2_grpc,
    call_events_pb2_grpc,
    calls_pb2,
    calls_pb2_grpc,
    connections_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    subscriptions_pb2_grpc,
)

__all__ = ["SyncVoiceClient"]


class _Details(grpc.ClientCallDetails):  # type: ignore[misc]  # grpc is untyped
    def __init__(self, method: str, timeout: float | None, metadata: Any, credentials: Any, wfr: Any) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wfr
        self.compression = None


class _TypedStream:
    """A sync response stream whose failures are typed errors; cancel() and metadata are the call's own."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._call)
        except grpc.RpcError as error:
            raise from_grpc_error(error) from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)


class _SyncInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """The token, the default deadline of unary calls, typed errors and safe retries on a sync channel."""

    def __init__(self, token: str | None, timeout: float | None, retry: RetryPolicy) -> None:
        if token is not None and (not token or any(c.isspace() for c in token)):
            raise ValueError("token must be non-empty and contain no whitespace")
        self._extra = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout
        self._retry = retry

    def _details(self, details: Any, bounded: bool, timeout: float | None = None) -> _Details:
        metadata = list(details.metadata or ())
        keys = {key for key, _ in metadata}
        metadata += [(k, v) for k, v in self._extra if k not in keys]
        if timeout is None:
            timeout = details.timeout if details.timeout is not None or not bounded else self._timeout
        return _Details(details.method, timeout, metadata, details.credentials, details.wait_for_ready)

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        details = self._details(client_call_details, bounded=True)
        request, retryable = prepare_request(details.method, request)
        attempts = self._retry.max_attempts if retryable else 1
        deadline = None if details.timeout is None else time.monotonic() + details.timeout
        attempt = 1
        while True:
            outcome = continuation(details, request)
            try:
                outcome.result()
            except grpc.RpcError as error:
                wait = self._retry.backoff.delay_s(attempt)
                left = None if deadline is None else deadline - time.monotonic()
                if (
                    error.code() != grpc.StatusCode.UNAVAILABLE
                    or attempt >= attempts
                    or (left is not None and left <= wait)
                ):
                    raise from_grpc_error(error) from error
                time.sleep(wait)
                attempt += 1
                if deadline is not None:
                    details = self._details(details, True, timeout=deadline - time.monotonic())
                continue
            return outcome

    def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return _TypedStream(continuation(self._details(client_call_details, bounded=False), request))

    def intercept_stream_unary(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        outcome = continuation(self._details(client_call_details, bounded=True), request_iterator)
        try:
            outcome.result()
        except grpc.RpcError as error:
            raise from_grpc_error(error) from error
        return outcome

    def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        details = self._details(client_call_details, bounded=False)
        return _TypedStream(continuation(details, request_iterator))


class SyncVoiceClient:
    """A blocking connection to voicesvc; the arguments are those of `VoiceClient`."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        token: str | None = None,
        tls: grpc.ChannelCredentials | None = None,
        timeout: float | None = 10.0,
        options: Sequence[tuple[str, Any]] = (),
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.target = target
        self.timeout = timeout
        given = {name for name, _ in options}
        all_options = [*options, *((k, v) for k, v in KEEPALIVE_OPTIONS if k not in given)]
        raw = (
            grpc.secure_channel(target, tls, options=all_options)
            if tls is not None
            else grpc.insecure_channel(target, options=all_options)
        )
        self._raw_channel = raw
        self.channel: grpc.Channel = grpc.intercept_channel(raw, _SyncInterceptor(token, timeout, retry))
        self.call_control = call_control_pb2_grpc.CallControlStub(self.channel)
        """`voicesvc.v1.CallControl`: dial, status and every call command."""
        self.calls = calls_pb2_grpc.CallsStub(self.channel)
        """`voicesvc.v1.Calls`: GetCall, ListCalls, WatchCalls, ExecuteCommand."""
        self.applications = call_control_applications_pb2_grpc.CallControlApplicationsStub(self.channel)
        """`voicesvc.v1.CallControlApplications`: list, get, create, update, delete."""
        self.call_events = call_events_pb2_grpc.CallEventsStub(self.channel)
        """`voicesvc.v1.CallEvents`: the call event history Telnyx keeps."""
        self.connections = connections_pb2_grpc.ConnectionsStub(self.channel)
        """`voicesvc.v1.Connections`: active calls of a connection."""
        self.events = events_pb2_grpc.EventStreamStub(self.channel)
        """`voicesvc.v1.EventStream`: the live, resumable webhook stream."""
        self.subscriptions = subscriptions_pb2_grpc.SubscriptionsStub(self.channel)
        """`voicesvc.v1.Subscriptions`: worker groups' configuration and dead letters."""
        self._stubs: dict[str, Any] = {
            "voicesvc.v1.CallControl": self.call_control,
            "voicesvc.v1.Calls": self.calls,
            "voicesvc.v1.CallControlApplications": self.applications,
            "voicesvc.v1.CallEvents": self.call_events,
            "voicesvc.v1.Connections": self.connections,
            "voicesvc.v1.EventStream": self.events,
            "voicesvc.v1.Subscriptions": self.subscriptions,
        }

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel."""
        self._raw_channel.close()

    def __getattr__(self, name: str) -> Callable[..., Pager]:
        method = LIST_METHODS.get(name)
        if method is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        call = getattr(self._stubs[method.service], method.rpc)

        def pager(request: Any = None, /, **fields: Any) -> Pager:
            return Pager(call, build_request(method, request, fields), method.items_field)

        pager.__doc__ = f"Every item of `{method.service}.{method.rpc}`, page after page."
        return pager

    def execute(self, command: Any) -> CommandResult[Any]:
        """Send a CallControl command whose outcome Telnyx reports by webhook and wait for it (one RPC)."""
        request = command_request(command)
        reply = cast(call_control_commands_pb2.ExecuteCommandResponse, self.calls.ExecuteCommand(request))
        member = reply.WhichOneof("response")
        return CommandResult(getattr(reply, member) if member else None, reply.outcome, reply.succeeded)

    def _send(self, rpc: str, request: Any, wait: bool) -> Any:
        if wait:
            return self.execute(request)
        return getattr(self.call_control, rpc)(request)

    def dial(
        self, to: str | Sequence[str], from_: str, connection_id: str, *, wait: bool = False, **fields: Any
    ) -> Any:
        """Place an outbound call (as `VoiceClient.dial`); `wait=True` answers a `CommandResult`."""
        from_field: dict[str, Any] = {"from": from_}
        request = call_control_pb2.DialCallRequest(connection_id=connection_id, **from_field, **fields)
        if isinstance(to, str):
            request.to_string = to
        else:
            request.to_list.values.extend(to)
        return self._send("DialCall", request, wait)

    def status(self, call_control_id: str) -> call_control_pb2.GetCallStatusResponse:
        """The current state of a call leg (`is_alive`, duration, …)."""
        request = call_control_pb2.GetCallStatusRequest(call_control_id=call_control_id)
        return cast(call_control_pb2.GetCallStatusResponse, self.call_control.GetCallStatus(request))

    def answer(self, call_control_id: str, *, wait: bool = False, **fields: Any) -> Any:
        """Answer an incoming call; `fields` are other `AnswerCallRequest` fields."""
        request = call_control_pb2.AnswerCallRequest(call_control_id=call_control_id, **fields)
        return self._send("AnswerCall", request, wait)

    def speak(
        self,
        call_control_id: str,
        payload: str,
        voice: str = "female",
        language: str = "en-US",
        *,
        wait: bool = False,
        **fields: Any,
    ) -> Any:
        """Speak `payload` on the call; with `wait=True` it returns once the speech has ended."""
        request = call_control_pb2.SpeakTextRequest(
            call_control_id=call_control_id, payload=payload, voice=voice, language=language, **fields
        )
        return self._send("SpeakText", request, wait)

    def hangup(self, call_control_id: str, *, wait: bool = False, **fields: Any) -> Any:
        """Hang up the call; with `wait=True` it returns once Telnyx reported the hangup."""
        request = call_control_pb2.HangupCallRequest(call_control_id=call_control_id, **fields)
        return self._send("HangupCall", request, wait)

    def get_call(self, call_control_id: str) -> calls_pb2.Call:
        """The call as its events describe it (no Telnyx request)."""
        name = call_control_id if call_control_id.startswith("calls/") else f"calls/{call_control_id}"
        return cast(calls_pb2.Call, self.calls.GetCall(calls_pb2.GetCallRequest(name=name)))

    def watch(
        self,
        event_types: Sequence[str] = (),
        call_control_ids: Sequence[str] = (),
        after_cursor: str | None = None,
        start_oldest: bool = False,
        *,
        call_session_ids: Sequence[str] = (),
        connection_ids: Sequence[str] = (),
        timeout: float | None = None,
    ) -> Iterator[events_pb2.Event]:
        """The matching events as they arrive, heartbeats skipped; stop iterating (or `timeout`) to end."""
        request = events_pb2.WatchEventsRequest(
            filter=events_pb2.EventFilter(
                event_types=list(event_types),
                call_control_ids=list(call_control_ids),
                call_session_ids=list(call_session_ids),
                connection_ids=list(connection_ids),
            )
        )
        if after_cursor:
            request.after_cursor = after_cursor
        elif start_oldest:
            request.start = events_pb2.START_POSITION_OLDEST
        call = self.events.WatchEvents(request, timeout=timeout)
        try:
            for response in call:
                if response.WhichOneof("kind") == "event":
                    yield response.event
        finally:
            call.cancel()
