"""The Calls service end to end on the memory log: reads, list-then-watch, and commands with their outcome."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from aiohttp import web
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support.stack import Stack, eventually
from voicesvc.v1 import call_control_commands_pb2 as cmd_pb2
from voicesvc.v1 import call_control_pb2 as cc_pb2
from voicesvc.v1 import calls_pb2, calls_pb2_grpc, common_pb2

CONNECTION = "conn-calls"


def stub(stack: Stack) -> calls_pb2_grpc.CallsStub:
    return calls_pb2_grpc.CallsStub(stack.channel)


def dial_request(to: str = "+15550100001", **fields: Any) -> cc_pb2.DialCallRequest:
    fields["from"] = "+15550100000"  # a keyword in Python: passed by its name as a key
    return cc_pb2.DialCallRequest(connection_id=CONNECTION, to_string=to, **fields)


async def execute(stack: Stack, deadline_s: float = 5.0, **command: Any) -> cmd_pb2.ExecuteCommandResponse:
    reply = await stub(stack).ExecuteCommand(cmd_pb2.ExecuteCommandRequest(**command), timeout=deadline_s)
    assert isinstance(reply, cmd_pb2.ExecuteCommandResponse)
    return reply


async def answered_call(stack: Stack, **fields: Any) -> str:
    reply = await execute(stack, dial_call=dial_request(**fields))
    assert reply.outcome.event_type == "call.answered"
    return reply.dial_call.call_control_id


async def get_call(stack: Stack, call_control_id: str) -> calls_pb2.Call:
    call = await stub(stack).GetCall(calls_pb2.GetCallRequest(name=f"calls/{call_control_id}"), timeout=5)
    assert isinstance(call, calls_pb2.Call)
    return call


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError("no ErrorInfo in the details")


# ------------------------------------------------------------------ commands that return their outcome


async def test_dial_returns_the_answer_and_the_call_reads_answered_at_once(stack: Stack) -> None:
    reply = await execute(stack, dial_call=dial_request(client_state="aGk="))
    assert reply.succeeded
    assert reply.dial_call.is_alive
    outcome = reply.outcome
    assert outcome.event_type == "call.answered"
    assert outcome.call_control_id == reply.dial_call.call_control_id
    assert outcome.WhichOneof("payload") == "call_answered"
    call = await get_call(stack, reply.dial_call.call_control_id)
    assert call.state == calls_pb2.CALL_STATE_ANSWERED
    assert call.direction == calls_pb2.CALL_DIRECTION_OUTGOING
    assert (getattr(call, "from"), call.to, call.connection_id) == (
        "+15550100000",
        "+15550100001",
        CONNECTION,
    )
    assert call.client_state == "aGk="
    assert call.answer_time.seconds > 0
    # Exactly one dial reached Telnyx.
    assert len(stack.journal("/calls", "POST")) == 1


async def test_media_and_gather_commands_return_their_typed_outcome(stack: Stack) -> None:
    ccid = await answered_call(stack)
    spoke = await execute(
        stack, speak_text=cc_pb2.SpeakTextRequest(call_control_id=ccid, payload="Hi", voice="female")
    )
    assert (spoke.speak_text.result, spoke.outcome.event_type, spoke.succeeded) == (
        "ok",
        "call.speak.ended",
        True,
    )
    gathered = await execute(stack, gather_digits=cc_pb2.GatherDigitsRequest(call_control_id=ccid))
    assert gathered.outcome.call_gather_ended.digits == "1234"
    referred = await execute(
        stack, refer_call=cc_pb2.ReferCallRequest(call_control_id=ccid, sip_address="sip:fail@x")
    )
    assert (referred.outcome.event_type, referred.succeeded) == ("call.refer.failed", False)
    await stack.channel.unary_unary(
        "/voicesvc.v1.CallControl/StartRecording",
        request_serializer=cc_pb2.StartRecordingRequest.SerializeToString,
        response_deserializer=cc_pb2.StartRecordingResponse.FromString,
    )(
        cc_pb2.StartRecordingRequest(
            call_control_id=ccid,
            format=cc_pb2.RESEMBLE_VOICE_SETTING_FORMAT_MP3,
            channels=common_pb2.RECORD_CHANNELS_SINGLE,
        ),
        timeout=5,
    )
    # call.recording.saved names only the leg: it is found through the call's leg id.
    saved = await execute(stack, stop_recording=cc_pb2.StopRecordingRequest(call_control_id=ccid))
    assert saved.outcome.event_type == "call.recording.saved"
    assert saved.outcome.call_recording_saved.recording_urls
    hung = await execute(stack, hangup_call=cc_pb2.HangupCallRequest(call_control_id=ccid))
    assert hung.outcome.call_hangup.sip_hangup_cause == "200"
    call = await get_call(stack, ccid)
    assert call.state == calls_pb2.CALL_STATE_ENDED


async def test_a_call_that_ends_first_fails_precondition_with_the_hangup_cause(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await execute(stack, dial_call=dial_request(to="+15550001486"))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(failure.value)
    assert info.reason == "CALL_ENDED"
    assert info.metadata["hangup_cause"] == "user_busy"
    assert info.metadata["sip_hangup_cause"] == "486"
    assert info.metadata["call_control_id"].startswith("v3:")


async def test_the_deadline_bounds_the_wait_and_says_the_command_was_sent(stack: Stack) -> None:
    ccid = await answered_call(stack)
    stack.add_fault(kind="webhook_fail", event_type="call.speak.ended")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await execute(
            stack,
            deadline_s=0.5,
            speak_text=cc_pb2.SpeakTextRequest(call_control_id=ccid, payload="x", voice="female"),
        )
    assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    info = error_info(failure.value)
    assert (info.reason, info.metadata["call_control_id"], info.metadata["rpc"]) == (
        "OUTCOME_NOT_REPORTED",
        ccid,
        "SpeakText",
    )
    assert stack.executions(ccid, "speak") == 1


async def test_an_outcome_stored_before_the_command_answers_is_still_returned(stack: Stack) -> None:
    ccid = await answered_call(stack)
    original = stack.sandbox.rest.handle

    async def answer_after_the_webhooks(request: web.Request) -> web.StreamResponse:
        response = await original(request)
        if request.path.endswith("/actions/speak"):
            # The speech's webhooks are delivered and stored before the command's own answer leaves.
            await eventually(lambda: stack.sandbox.dispatcher.pending == 0)
            await asyncio.sleep(0.05)
        return response

    stack.sandbox.rest.handle = answer_after_the_webhooks  # type: ignore[method-assign]
    reply = await execute(
        stack, speak_text=cc_pb2.SpeakTextRequest(call_control_id=ccid, payload="fast", voice="female")
    )
    assert reply.outcome.event_type == "call.speak.ended"


async def test_a_command_telnyx_refuses_fails_as_its_own_rpc_would(stack: Stack) -> None:
    ringing = stack.dial_direct(answered=False)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await execute(
            stack,
            speak_text=cc_pb2.SpeakTextRequest(call_control_id=ringing, payload="too early", voice="female"),
        )
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(failure.value).reason == "90034"
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await execute(stack)
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_media_on_a_ringing_outbound_leg_is_refused_like_telnyx_does(stack: Stack) -> None:
    ringing = stack.dial_direct(answered=False)
    speak = stack.channel.unary_unary(
        "/voicesvc.v1.CallControl/SpeakText",
        request_serializer=cc_pb2.SpeakTextRequest.SerializeToString,
        response_deserializer=cc_pb2.SpeakTextResponse.FromString,
    )
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await speak(cc_pb2.SpeakTextRequest(call_control_id=ringing, payload="hi", voice="female"), timeout=5)
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    [reply] = [r for r in stack.replies if r.path.endswith("/actions/speak")]
    assert reply.status == 422
    assert reply.body["errors"][0]["code"] == "90034"
    assert reply.body["errors"][0]["title"] == "Call is not in a state to accept this command"
    assert stack.executions(ringing, "speak") == 0
    # Once answered, the same command goes through.
    await eventually(lambda: stack.sandbox.engine.call_state(ringing) == "answered")
    assert (
        await speak(cc_pb2.SpeakTextRequest(call_control_id=ringing, payload="hi", voice="female"), timeout=5)
    ).result == "ok"


# ------------------------------------------------------------------ reads


async def test_get_call_refuses_bad_names_and_reports_unknown_calls(stack: Stack) -> None:
    for name, code in [
        ("v3:abc", grpc.StatusCode.INVALID_ARGUMENT),
        ("calls/", grpc.StatusCode.INVALID_ARGUMENT),
        ("calls/v3:never-seen", grpc.StatusCode.NOT_FOUND),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub(stack).GetCall(calls_pb2.GetCallRequest(name=name), timeout=5)
        assert failure.value.code() == code, name
    # No read went to Telnyx.
    assert stack.journal() == []


async def test_list_calls_filters_and_pages_through_every_call(stack: Stack) -> None:
    inbound = [stack.inbound_direct(CONNECTION) for _ in range(3)]
    outbound = [await answered_call(stack) for _ in range(2)]
    await eventually(lambda: len(stack.service.call_store) == 5)
    names: list[str] = []
    token = ""
    while True:
        page = await stub(stack).ListCalls(
            calls_pb2.ListCallsRequest(page_size=2, page_token=token), timeout=5
        )
        assert page.total_size == 5
        assert page.cursor
        names += [c.name for c in page.calls]
        token = page.next_page_token
        if not token:
            break
    assert names == sorted(f"calls/{c}" for c in inbound + outbound)
    incoming = await stub(stack).ListCalls(
        calls_pb2.ListCallsRequest(
            filter=calls_pb2.CallFilter(
                direction=calls_pb2.CALL_DIRECTION_INCOMING, states=[calls_pb2.CALL_STATE_INITIATED]
            )
        ),
        timeout=5,
    )
    assert sorted(c.call_control_id for c in incoming.calls) == sorted(inbound)
    answered = await stub(stack).ListCalls(
        calls_pb2.ListCallsRequest(filter=calls_pb2.CallFilter(states=[calls_pb2.CALL_STATE_ANSWERED])),
        timeout=5,
    )
    assert sorted(c.call_control_id for c in answered.calls) == sorted(outbound)
    first = await stub(stack).ListCalls(calls_pb2.ListCallsRequest(page_size=1), timeout=5)
    for request in [
        calls_pb2.ListCallsRequest(page_token="garbage!"),
        calls_pb2.ListCallsRequest(
            page_token=first.next_page_token, filter=calls_pb2.CallFilter(connection_id="x")
        ),
        calls_pb2.ListCallsRequest(page_size=-1),
        calls_pb2.ListCallsRequest(filter=calls_pb2.CallFilter(states=[99])),  # type: ignore[list-item]
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub(stack).ListCalls(request, timeout=5)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_reads_wait_for_the_projection_to_catch_up_then_say_so(stack: Stack) -> None:
    projection = stack.service.projection
    projection._ready.clear()  # as at start-up, with a log still being read
    projection.target_seq = 10**9
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await stub(stack).ListCalls(calls_pb2.ListCallsRequest(), timeout=0.3)
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(failure.value).reason == "CALLS_CATCHING_UP"
    projection._ready.set()
    assert (await stub(stack).ListCalls(calls_pb2.ListCallsRequest(), timeout=5)).total_size == 0


# ------------------------------------------------------------------ list-then-watch


@contextlib.asynccontextmanager
async def watching(
    stack: Stack, **request: Any
) -> AsyncIterator[asyncio.Queue[calls_pb2.WatchCallsResponse]]:
    queue: asyncio.Queue[calls_pb2.WatchCallsResponse] = asyncio.Queue()
    call = stub(stack).WatchCalls(calls_pb2.WatchCallsRequest(**request))

    async def pump() -> None:
        async for item in call:
            await queue.put(item)

    task = asyncio.create_task(pump())
    try:
        yield queue
    finally:
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await task


async def changes_until(
    queue: asyncio.Queue[calls_pb2.WatchCallsResponse], done: Any, limit: float = 10
) -> list[calls_pb2.CallChange]:
    got: list[calls_pb2.CallChange] = []
    async with asyncio.timeout(limit):
        while not got or not done(got[-1]):
            item = await queue.get()
            if item.WhichOneof("kind") == "change":
                got.append(item.change)
    return got


async def test_watch_lists_existing_calls_then_follows_and_resumes_from_a_cursor(stack: Stack) -> None:
    existing = await answered_call(stack)
    async with watching(stack) as queue:
        first = await queue.get()
        assert first.change.kind == calls_pb2.CALL_CHANGE_KIND_EXISTING
        assert first.change.call.call_control_id == existing
        assert (await queue.get()).WhichOneof("kind") == "heartbeat"  # the list is complete
        await execute(stack, hangup_call=cc_pb2.HangupCallRequest(call_control_id=existing))
        changes = await changes_until(queue, lambda c: c.kind == calls_pb2.CALL_CHANGE_KIND_ENDED)
        assert [c.kind for c in changes] == [calls_pb2.CALL_CHANGE_KIND_ENDED]
        assert changes[0].event_type == "call.hangup"
        resume_at = changes[-1].cursor
    other = await answered_call(stack)
    async with watching(stack, after_cursor=resume_at) as queue:
        changes = await changes_until(queue, lambda c: c.call.state == calls_pb2.CALL_STATE_ANSWERED)
    assert {c.call.call_control_id for c in changes} == {other}
    assert all(c.kind == calls_pb2.CALL_CHANGE_KIND_UPDATED for c in changes)
    assert [c.call.state for c in changes] == [calls_pb2.CALL_STATE_INITIATED, calls_pb2.CALL_STATE_ANSWERED]


async def test_watch_refuses_a_cursor_it_did_not_issue(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        async for _ in stub(stack).WatchCalls(calls_pb2.WatchCallsRequest(after_cursor="nope"), timeout=5):
            break
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
