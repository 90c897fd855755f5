"""`VoiceClient`: an asyncio client for voicesvc with the generated stubs and shortcuts for common calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Literal, Self, cast, overload

import grpc
from grpc import aio

from voicesvc.client.calls import CallsClient, CallWatch, CommandResult
from voicesvc.client.interceptors import DEFAULT_RETRY, RetryPolicy, open_channel
from voicesvc.client.paging import LIST_METHODS, AsyncPager, build_request
from voicesvc.client.pull import Pull, run_handler
from voicesvc.client.watch import EventWatch
from voicesvc.v1 import (
    call_control_applications_pb2_grpc,
    call_control_pb2,
    call_control_pb2_grpc,
    call_events_pb2_grpc,
    calls_pb2_grpc,
    connections_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    subscriptions_pb2,
    subscriptions_pb2_grpc,
)

DEFAULT_TARGET = "127.0.0.1:50051"


class VoiceClient:
    """A connection to voicesvc.

    Use it as `async with VoiceClient("host:port", token=...) as client:`. Every RPC of the contract
    is reachable through the generated stubs (`client.call_control.AnswerCall(...)`); the methods below cover
    the common flow with plain arguments. Each call sends `authorization: Bearer <token>` when a token
    is given, and unary calls get `timeout` seconds unless the call passes its own; event streams are
    not bounded by the default.

    `tls` takes `grpc.ssl_channel_credentials(...)` for a TLS or mTLS server; without it the channel is
    plaintext. `options` are passed to the channel (`("grpc.max_receive_message_length", …)`).

    Every failure is a typed error (`voicesvc.client.errors.VoiceError` subclasses: `NotFound`,
    `InvalidArgument`, …). UNAVAILABLE is retried by `retry` (`RetryPolicy`; `NO_RETRY` turns it off) where
    that is safe: reads, and commands, whose one `command_id` the client fills in before the first attempt.
    Every list RPC pages by itself: `async for call in client.list_calls(page_size=50)`, and
    `client.list_calls(...).pages` for the responses (`list_call_control_applications`, `list_active_calls`,
    `list_call_events`, `list_subscriptions`, `list_dead_letters`; see `LIST_METHODS`).
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        token: str | None = None,
        tls: grpc.ChannelCredentials | None = None,
        timeout: float | None = 10.0,
        options: Sequence[tuple[str, Any]] = (),
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.channel: aio.Channel = open_channel(
            target, token=token, tls=tls, timeout=timeout, options=options, retry=retry
        )
        self.call_control = call_control_pb2_grpc.CallControlStub(self.channel)
        """`voicesvc.v1.CallControl`: dial, status and every call command."""
        self.calls = CallsClient(calls_pb2_grpc.CallsStub(self.channel), self.call_control)
        """`voicesvc.v1.Calls` (`get`, `list`, `watch`, `execute`); the CallControl RPCs are here too."""
        self.applications = call_control_applications_pb2_grpc.CallControlApplicationsStub(self.channel)
        """`voicesvc.v1.CallControlApplications`: list, get, create, update, delete."""
        self.call_events = call_events_pb2_grpc.CallEventsStub(self.channel)
        """`voicesvc.v1.CallEvents`: the call event history Telnyx keeps."""
        self.connections = connections_pb2_grpc.ConnectionsStub(self.channel)
        """`voicesvc.v1.Connections`: active calls of a connection."""
        self.events = events_pb2_grpc.EventStreamStub(self.channel)
        """`voicesvc.v1.EventStream`: the live, resumable webhook stream."""
        self.subscriptions = subscriptions_pb2_grpc.SubscriptionsStub(self.channel)
        """`voicesvc.v1.Subscriptions`: durable worker groups with acks, dead letters and redrive."""
        self._stubs: dict[str, Any] = {
            "voicesvc.v1.CallControl": self.call_control,
            "voicesvc.v1.Calls": self.calls.stub,
            "voicesvc.v1.CallControlApplications": self.applications,
            "voicesvc.v1.CallEvents": self.call_events,
            "voicesvc.v1.Connections": self.connections,
            "voicesvc.v1.EventStream": self.events,
            "voicesvc.v1.Subscriptions": self.subscriptions,
        }

    def __getattr__(self, name: str) -> Callable[..., AsyncPager]:
        method = LIST_METHODS.get(name)
        if method is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        call = getattr(self._stubs[method.service], method.rpc)

        def pager(request: Any = None, /, **fields: Any) -> AsyncPager:
            return AsyncPager(call, build_request(method, request, fields), method.items_field)

        pager.__doc__ = f"Every item of `{method.service}.{method.rpc}`, page after page."
        return pager

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self, grace: float | None = None) -> None:
        """Close the channel; calls still running are cancelled after `grace` seconds."""
        await self.channel.close(grace)

    async def wait_ready(self) -> None:
        """Wait until the channel is connected; bound it with `asyncio.timeout(...)`."""
        await self.channel.channel_ready()

    # -- the common call flow --------------------------------------------------------------------------
    @overload
    async def dial(
        self,
        to: str | Sequence[str],
        from_: str,
        connection_id: str,
        *,
        wait: Literal[False] = False,
        **fields: Any,
    ) -> call_control_pb2.DialCallResponse: ...
    @overload
    async def dial(
        self, to: str | Sequence[str], from_: str, connection_id: str, *, wait: Literal[True], **fields: Any
    ) -> CommandResult[call_control_pb2.DialCallResponse]: ...
    async def dial(
        self, to: str | Sequence[str], from_: str, connection_id: str, *, wait: bool = False, **fields: Any
    ) -> call_control_pb2.DialCallResponse | CommandResult[call_control_pb2.DialCallResponse]:
        """Place an outbound call. `to` is one number or SIP URI, or a list (the first to answer wins).

        `fields` are any other `DialCallRequest` fields by their proto names (`client_state=...`,
        `timeout_secs=30`, nested messages as dicts). With `wait=True` it returns once the call is
        answered (`CommandResult`: the dial's response and the `call.answered` event); a call that is not
        answered (busy, no answer …) raises FAILED_PRECONDITION with the hangup cause in the details.
        """
        from_field: dict[str, Any] = {"from": from_}  # `from` is a keyword, so it cannot be passed by name
        request = call_control_pb2.DialCallRequest(connection_id=connection_id, **from_field, **fields)
        if isinstance(to, str):
            request.to_string = to
        else:
            request.to_list.values.extend(to)
        if wait:
            return cast(CommandResult[call_control_pb2.DialCallResponse], await self.calls.execute(request))
        return cast(call_control_pb2.DialCallResponse, await self.call_control.DialCall(request))

    async def execute(self, command: Any) -> CommandResult[Any]:
        """Send any CallControl command whose outcome Telnyx reports by webhook and wait for it (one RPC):
        `await client.execute(call_control_pb2.GatherDigitsRequest(call_control_id=...))`."""
        return await self.calls.execute(command)

    def watch_calls(self, **options: Any) -> CallWatch:
        """List-then-watch the calls: `async for change in client.watch_calls(): ...`; the options are those
        of `client.calls.watch` (state, connection and session filters, `after_cursor`)."""
        return self.calls.watch(**options)

    async def status(self, call_control_id: str) -> call_control_pb2.GetCallStatusResponse:
        """The current state of a call leg (`is_alive`, duration, …)."""
        request = call_control_pb2.GetCallStatusRequest(call_control_id=call_control_id)
        return cast(call_control_pb2.GetCallStatusResponse, await self.call_control.GetCallStatus(request))

    async def answer(self, call_control_id: str, **fields: Any) -> call_control_pb2.AnswerCallResponse:
        """Answer an incoming call; `fields` are other `AnswerCallRequest` fields."""
        request = call_control_pb2.AnswerCallRequest(call_control_id=call_control_id, **fields)
        return cast(call_control_pb2.AnswerCallResponse, await self.call_control.AnswerCall(request))

    async def speak(
        self,
        call_control_id: str,
        payload: str,
        voice: str = "female",
        language: str = "en-US",
        *,
        wait: bool = False,
        **fields: Any,
    ) -> call_control_pb2.SpeakTextResponse:
        """Speak `payload` (text, or SSML with `payload_type`) on the call; `fields` are other
        `SpeakTextRequest` fields. With `wait=True` it returns once the speech has ended."""
        request = call_control_pb2.SpeakTextRequest(
            call_control_id=call_control_id, payload=payload, voice=voice, language=language, **fields
        )
        if wait:
            return cast(call_control_pb2.SpeakTextResponse, (await self.calls.execute(request)).response)
        return cast(call_control_pb2.SpeakTextResponse, await self.call_control.SpeakText(request))

    async def hangup(
        self, call_control_id: str, *, wait: bool = False, **fields: Any
    ) -> call_control_pb2.HangupCallResponse:
        """Hang up the call; `fields` are other `HangupCallRequest` fields. With `wait=True` it returns once
        Telnyx reported the hangup."""
        request = call_control_pb2.HangupCallRequest(call_control_id=call_control_id, **fields)
        if wait:
            return cast(call_control_pb2.HangupCallResponse, (await self.calls.execute(request)).response)
        return cast(call_control_pb2.HangupCallResponse, await self.call_control.HangupCall(request))

    def watch(
        self,
        event_types: Sequence[str] = (),
        call_control_ids: Sequence[str] = (),
        after_cursor: str | None = None,
        start_oldest: bool = False,
        *,
        call_session_ids: Sequence[str] = (),
        connection_ids: Sequence[str] = (),
        heartbeat_interval: float | None = None,
        reconnect: bool = False,
        max_reconnects: int | None = None,
    ) -> EventWatch:
        """Subscribe to call events: `async for event in client.watch(["call."]): ...`.

        `event_types` match exactly (`call.answered`) or by a prefix ending in a dot (`call.`). The stream
        starts now, at the oldest retained event (`start_oldest`), or after `after_cursor`. The returned
        `EventWatch` skips heartbeats, keeps `last_cursor` current and, with `reconnect=True`, resumes
        after it when the server becomes unavailable.
        """
        return EventWatch(
            self.events,
            event_types=event_types,
            call_control_ids=call_control_ids,
            call_session_ids=call_session_ids,
            connection_ids=connection_ids,
            after_cursor=after_cursor,
            start_oldest=start_oldest,
            heartbeat_interval=heartbeat_interval,
            reconnect=reconnect,
            max_reconnects=max_reconnects,
        )

    # -- worker groups ---------------------------------------------------------------------------------
    def pull(
        self, subscription: str, *, member_id: str = "", max_outstanding: int = 0, **options: Any
    ) -> Pull:
        """Join a subscription's worker group: `async with client.pull("subscriptions/x") as pull:`, then
        `async for message in pull:` and `await message.ack()` (or `nack()`, `extend(seconds)`).

        `subscription` is `subscriptions/{id}` or the bare id. Reusing `member_id` across restarts keeps
        the worker's identity; the stream reconnects with it on UNAVAILABLE. `options` go to `Pull`.
        """
        return Pull(
            self.subscriptions,
            _subscription_name(subscription),
            member_id=member_id,
            max_outstanding=max_outstanding,
            **options,
        )

    async def subscribe(
        self,
        subscription: str,
        handler: Callable[[events_pb2.Event], Awaitable[object]],
        *,
        member_id: str = "",
        max_outstanding: int = 0,
        concurrency: int = 16,
    ) -> None:
        """Run `handler(event)` for every event the group gives this member, until cancelled: ack when it
        returns, nack when it raises, deadline extended while it runs, reconnect on UNAVAILABLE."""
        name = _subscription_name(subscription)
        request = subscriptions_pb2.GetSubscriptionRequest(name=name)
        found = cast(subscriptions_pb2.Subscription, await self.subscriptions.GetSubscription(request))
        deadline = found.ack_deadline.seconds + found.ack_deadline.nanos / 1e9
        pull = self.pull(name, member_id=member_id, max_outstanding=max_outstanding)
        await run_handler(pull, handler, ack_deadline=deadline or 30.0, concurrency=concurrency)


def _subscription_name(subscription: str) -> str:
    return subscription if subscription.startswith("subscriptions/") else f"subscriptions/{subscription}"
