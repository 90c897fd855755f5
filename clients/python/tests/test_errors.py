"""Every failure reaches the caller as the typed error of its status code, with its details."""

from __future__ import annotations

import uuid

import grpc
import pytest
from conftest import TOKEN, Server
from grpc import aio

from voicesvc.client import (
    NO_RETRY,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    VoiceClient,
    VoiceError,
)
from voicesvc.v1 import call_control_pb2, calls_pb2


def _client(server: Server, **options: object) -> VoiceClient:
    return VoiceClient(server.target, token=TOKEN, **options)  # type: ignore[arg-type]


async def _dial(client: VoiceClient) -> str:
    answered = await client.dial("+15552220000", "+15551110000", f"conn-{uuid.uuid4().hex[:8]}", wait=True)
    return answered.response.call_control_id


async def test_an_unknown_call_is_not_found_with_the_request_id(sandbox: Server) -> None:
    async with _client(sandbox) as client:
        with pytest.raises(NotFound) as caught:
            await client.calls.get("v3:no-such-call")
    error = caught.value
    assert isinstance(error, VoiceError)
    assert isinstance(error, aio.AioRpcError)  # code written against grpc's own error keeps working
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.status_code == grpc.StatusCode.NOT_FOUND
    assert len(error.request_id) >= 8
    assert isinstance(error.__cause__, aio.AioRpcError)
    assert not isinstance(error.__cause__, VoiceError)
    assert error.request_id in str(error)


async def test_a_request_missing_required_fields_names_them(sandbox: Server) -> None:
    async with _client(sandbox) as client:
        with pytest.raises(InvalidArgument) as caught:
            await client.call_control.DialCall(call_control_pb2.DialCallRequest(connection_id="c"))
    fields = {v.field for v in caught.value.field_violations}
    assert {"from", "to"} <= fields, fields
    assert caught.value.request_id


async def test_a_command_on_an_ended_call_is_a_failed_precondition_with_the_telnyx_code(
    sandbox: Server,
) -> None:
    async with _client(sandbox) as client:
        call_control_id = await _dial(client)
        await client.hangup(call_control_id, wait=True)
        with pytest.raises(FailedPrecondition) as caught:
            await client.speak(call_control_id, "too late")
    error = caught.value
    assert error.telnyx_code == "90018", error.details_list
    assert error.reason == "90018"
    assert error.metadata["http_status"] == "422"


async def test_a_rate_limit_is_resource_exhausted_with_its_retry_delay(sandbox: Server) -> None:
    sandbox.admin("POST", "/faults", {"kind": "rate_limit", "path": "/actions/speak$", "retry_after": 7})
    async with _client(sandbox) as client:
        call_control_id = await _dial(client)
        with pytest.raises(ResourceExhausted) as caught:
            await client.speak(call_control_id, "hello")
    assert caught.value.retry_delay == 7.0


async def test_a_missing_token_is_unauthenticated(sandbox: Server) -> None:
    async with VoiceClient(sandbox.target) as client:
        with pytest.raises(Unauthenticated):
            await client.calls.get("v3:x")


async def test_a_slow_upstream_past_the_deadline_is_deadline_exceeded(sandbox: Server) -> None:
    sandbox.admin("POST", "/faults", {"kind": "latency", "path": "/actions/speak$", "latency_ms": 3000})
    async with _client(sandbox) as client:
        call_control_id = await _dial(client)
        with pytest.raises(DeadlineExceeded):
            request = call_control_pb2.SpeakTextRequest(
                call_control_id=call_control_id, payload="hi", voice="female"
            )
            await client.call_control.SpeakText(request, timeout=0.3)


async def test_an_unreachable_server_is_unavailable_without_a_request_id() -> None:
    async with VoiceClient("127.0.0.1:1", retry=NO_RETRY, timeout=5) as client:
        with pytest.raises(Unavailable) as caught:
            await client.calls.get("v3:x")
    assert caught.value.request_id == ""


async def test_a_stream_fails_with_a_typed_error(sandbox: Server) -> None:
    async with VoiceClient(sandbox.target) as client:
        call = client.calls.stub.WatchCalls(calls_pb2.WatchCallsRequest())
        with pytest.raises(Unauthenticated):
            async for _ in call:
                pass
