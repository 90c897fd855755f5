"""The Python client (`voicesvc.client`) against a running voicesvc and against a scripted gRPC server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc import aio
from grpc_status import rpc_status

from tests.support.fake_grpc import FakeServer
from tests.support.voicesvc_process import ServerProcess, running_server
from voicesvc.client import EventWatch, VoiceClient, describe_error, error_details
from voicesvc.v1 import call_control_applications_pb2, events_pb2

TOKEN = "client-test-token"
FROM = "+18005550101"
TO = "+18005550100"
CONNECTION = "1684641123236054244"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def auth_server() -> Iterator[ServerProcess]:
    with running_server({"VOICESVC_AUTH_TOKENS": TOKEN}, token=TOKEN) as srv:
        yield srv


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    srv = await FakeServer().start()
    yield srv
    await srv.stop()


async def _events_until(watch: AsyncIterator[events_pb2.Event], last_type: str) -> list[events_pb2.Event]:
    out = []
    async with asyncio.timeout(30):
        async for event in watch:
            out.append(event)
            if event.event_type == last_type:
                break
    return out


# -- against voicesvc --------------------------------------------------------------------------------------
async def test_dial_status_speak_hangup(server: ServerProcess) -> None:
    async with VoiceClient(server.target) as client:
        answered = await client.dial(TO, FROM, CONNECTION, client_state="aGVsbG8=", wait=True)
        assert answered.outcome.event_type == "call.answered"
        call = answered.response
        assert call.call_control_id
        assert call.is_alive
        status = await client.status(call.call_control_id)
        assert status.call_control_id == call.call_control_id
        assert status.call_session_id == call.call_session_id
        assert (await client.speak(call.call_control_id, "Hello from the tests")).result == "ok"
        assert (await client.hangup(call.call_control_id)).result == "ok"


async def test_dial_accepts_a_list_of_destinations(server: ServerProcess) -> None:
    async with VoiceClient(server.target) as client:
        call = await client.dial([TO, "+18005550102"], FROM, CONNECTION)
        assert call.call_control_id
        await client.hangup(call.call_control_id)


async def test_generated_stubs_are_exposed(server: ServerProcess) -> None:
    async with VoiceClient(server.target) as client:
        created = await client.applications.CreateCallControlApplication(
            call_control_applications_pb2.CreateCallControlApplicationRequest(
                application_name="client-tests", webhook_event_url="https://example.com/hooks"
            )
        )
        fetched = await client.applications.GetCallControlApplication(
            call_control_applications_pb2.GetCallControlApplicationRequest(id=created.id)
        )
        assert fetched.application_name == "client-tests"


async def test_missing_fields_are_invalid_argument_with_field_details(server: ServerProcess) -> None:
    async with VoiceClient(server.target) as client:
        with pytest.raises(aio.AioRpcError) as caught:
            await client.calls.DialCall(_dial_without_to())
    err = caught.value
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    text = describe_error(err)
    assert text.startswith("INVALID_ARGUMENT: ")
    assert "field to: " in text
    bad = [d for d in error_details(err) if isinstance(d, error_details_pb2.BadRequest)]
    assert bad
    assert "to" in {v.field for v in bad[0].field_violations}


def _dial_without_to() -> object:
    from voicesvc.v1 import call_control_pb2

    # `from` is a keyword; the dict of one str value does not fit the other fields' types.
    return call_control_pb2.DialCallRequest(connection_id=CONNECTION, **{"from": FROM})  # type: ignore[arg-type]


async def test_unknown_call_is_not_found_with_telnyx_reason(server: ServerProcess) -> None:
    async with VoiceClient(server.target) as client:
        with pytest.raises(aio.AioRpcError) as caught:
            await client.status("v3:no-such-call")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "reason: " in describe_error(caught.value)


async def test_token_is_sent_as_bearer_metadata(auth_server: ServerProcess) -> None:
    async with VoiceClient(auth_server.target) as anonymous:
        with pytest.raises(aio.AioRpcError) as caught:
            await anonymous.status("v3:no-such-call")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert describe_error(caught.value).startswith("UNAUTHENTICATED")
    # The event stream needs the token too, not only the unary calls.
    async with (
        VoiceClient(auth_server.target, token=TOKEN) as client,
        client.watch(event_types=["call.hangup"]) as watch,
    ):
        call = await client.dial(TO, FROM, CONNECTION)
        assert (await client.hangup(call.call_control_id)).result == "ok"
        async for event in watch:
            assert event.call_control_id == call.call_control_id
            break


async def test_watch_delivers_the_call_events_and_resumes_after_a_cursor(server: ServerProcess) -> None:
    async with VoiceClient(server.target) as client:
        watch = client.watch(event_types=["call."], start_oldest=True)
        call = await client.dial(TO, FROM, CONNECTION)
        mine = client.watch(call_control_ids=[call.call_control_id], start_oldest=True)
        first = await _events_until(mine, "call.initiated")
        assert [e.event_type for e in first] == ["call.initiated"]
        assert first[0].call_control_id == call.call_control_id
        assert mine.last_cursor == first[0].cursor
        await client.hangup(call.call_control_id)
        rest = await _events_until(mine, "call.hangup")
        assert rest[-1].event_type == "call.hangup"
        assert all(e.call_control_id == call.call_control_id for e in rest)
        assert mine.last_cursor == rest[-1].cursor

        resumed = client.watch(call_control_ids=[call.call_control_id], after_cursor=first[0].cursor)
        again = await _events_until(resumed, "call.hangup")
        assert [e.id for e in again] == [e.id for e in rest]

        everything = await _events_until(watch, "call.hangup")
        assert {"call.initiated", "call.hangup"} <= {e.event_type for e in everything}
        assert all(e.event_type.startswith("call.") for e in everything)


# -- against a scripted server -----------------------------------------------------------------------------
async def test_watch_opened_before_dialling_sees_the_first_webhook(server: ServerProcess) -> None:
    async with VoiceClient(server.target) as client, client.watch(event_types=["call."]) as events:
        call = await client.dial(TO, FROM, CONNECTION)
        seen = []
        async with asyncio.timeout(30):
            async for event in events:
                if event.call_control_id != call.call_control_id:
                    continue
                seen.append(event.event_type)
                if event.event_type == "call.answered":
                    await client.hangup(call.call_control_id)
                if event.event_type == "call.hangup":
                    break
    assert seen == ["call.initiated", "call.answered", "call.hangup"]


async def test_token_and_default_deadline_are_attached(fake: FakeServer) -> None:
    async with VoiceClient(fake.target, token="t0k3n", timeout=30.0) as client:
        await client.status("v3:abc")
        await client.calls.GetCallStatus(_status_request(), metadata=(("x-extra", "1"),))
    first, second = fake.seen
    assert first.metadata["authorization"] == "Bearer t0k3n"
    assert first.time_remaining is not None
    assert second.metadata["authorization"] == "Bearer t0k3n"
    assert second.metadata["x-extra"] == "1"


async def test_no_deadline_when_timeout_is_none(fake: FakeServer) -> None:
    async with VoiceClient(fake.target, timeout=None) as client:
        await client.status("v3:abc")
    assert fake.seen[0].time_remaining is None
    assert "authorization" not in fake.seen[0].metadata


def _status_request() -> object:
    from voicesvc.v1 import call_control_pb2

    return call_control_pb2.GetCallStatusRequest(call_control_id="v3:abc")


def _packed(message: object) -> any_pb2.Any:
    out = any_pb2.Any()
    out.Pack(message)  # type: ignore[arg-type]
    return out


async def test_describe_error_unpacks_error_info_bad_request_and_retry_info(fake: FakeServer) -> None:
    async def fail(request: object, context: aio.ServicerContext) -> object:
        status = status_pb2.Status(
            code=code_pb2.RESOURCE_EXHAUSTED,
            message="slow down",
            details=[
                _packed(
                    error_details_pb2.ErrorInfo(
                        reason="10011", domain="api.telnyx.com", metadata={"http_status": "429"}
                    )
                ),
                _packed(
                    error_details_pb2.BadRequest(
                        field_violations=[
                            error_details_pb2.BadRequest.FieldViolation(field="to", description="is invalid")
                        ]
                    )
                ),
                _packed(
                    error_details_pb2.RetryInfo(
                        retry_delay=duration_pb2.Duration(seconds=2, nanos=500_000_000)
                    )
                ),
            ],
        )
        converted = rpc_status.to_status(status)
        await context.abort(converted.code, converted.details, converted.trailing_metadata)
        raise AssertionError("abort returned")

    fake.get_call_status = fail
    async with VoiceClient(fake.target) as client:
        with pytest.raises(aio.AioRpcError) as caught:
            await client.status("v3:abc")
    assert describe_error(caught.value).splitlines() == [
        "RESOURCE_EXHAUSTED: slow down",
        "  reason: 10011 (api.telnyx.com)",
        "    http_status: 429",
        "  field to: is invalid",
        "  retry after 2.5s",
    ]


async def test_describe_error_without_details(fake: FakeServer) -> None:
    async def fail(request: object, context: aio.ServicerContext) -> object:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "call has already ended")
        raise AssertionError("abort returned")

    fake.get_call_status = fail
    async with VoiceClient(fake.target) as client:
        with pytest.raises(aio.AioRpcError) as caught:
            await client.status("v3:abc")
    assert describe_error(caught.value) == "FAILED_PRECONDITION: call has already ended"
    assert error_details(caught.value) == []


def _event(cursor: str, event_type: str = "call.answered") -> events_pb2.WatchEventsResponse:
    return events_pb2.WatchEventsResponse(
        event=events_pb2.Event(cursor=cursor, id=f"id-{cursor}", event_type=event_type)
    )


def _heartbeat(cursor: str) -> events_pb2.WatchEventsResponse:
    return events_pb2.WatchEventsResponse(heartbeat=events_pb2.Heartbeat(cursor=cursor))


async def test_watch_skips_heartbeats_and_reconnects_after_the_last_cursor(fake: FakeServer) -> None:
    async def stream(
        request: events_pb2.WatchEventsRequest, context: aio.ServicerContext
    ) -> AsyncIterator[events_pb2.WatchEventsResponse]:
        if len(fake.seen) == 1:
            yield _heartbeat("c0")
            yield _event("c1")
            await context.abort(grpc.StatusCode.UNAVAILABLE, "server shutting down")
        else:
            yield _event("c2", "call.hangup")
            yield _heartbeat("c3")

    fake.watch_events = stream
    async with VoiceClient(fake.target, timeout=30.0) as client:
        watch = client.watch(["call."], call_control_ids=["v3:abc"], start_oldest=True, reconnect=True)
        got = [e.cursor async for e in watch]
    assert got == ["c1", "c2"]
    assert watch.last_cursor == "c3"
    assert watch.reconnects == 1
    first, second = (s.request for s in fake.seen)
    assert first.start == events_pb2.START_POSITION_OLDEST
    assert not first.after_cursor
    assert list(first.filter.event_types) == ["call."]
    assert list(first.filter.call_control_ids) == ["v3:abc"]
    assert second.after_cursor == "c1"
    assert fake.seen[0].time_remaining is None


async def test_ready_reconnects_when_the_first_attempt_is_unavailable(fake: FakeServer) -> None:
    async def stream(
        request: events_pb2.WatchEventsRequest, context: aio.ServicerContext
    ) -> AsyncIterator[events_pb2.WatchEventsResponse]:
        if len(fake.seen) == 1:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "replica is draining")
        yield _heartbeat("c5")
        yield _event("c6", "call.hangup")

    fake.watch_events = stream
    async with VoiceClient(fake.target, timeout=30.0) as client, client.watch(reconnect=True) as watch:
        assert watch.reconnects == 1
        assert watch.last_cursor == "c5"
        assert [e.cursor async for e in watch] == ["c6"]


async def test_watch_without_reconnect_raises_unavailable(fake: FakeServer) -> None:
    async def stream(
        request: events_pb2.WatchEventsRequest, context: aio.ServicerContext
    ) -> AsyncIterator[events_pb2.WatchEventsResponse]:
        yield _event("c1")
        await context.abort(grpc.StatusCode.UNAVAILABLE, "gone")

    fake.watch_events = stream
    got = []
    async with VoiceClient(fake.target) as client:
        watch = client.watch(after_cursor="c0")
        with pytest.raises(aio.AioRpcError) as caught:
            async for event in watch:
                got.append(event.cursor)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert got == ["c1"]
    assert fake.seen[0].request.after_cursor == "c0"


async def test_watch_does_not_retry_out_of_range(fake: FakeServer) -> None:
    async def stream(
        request: events_pb2.WatchEventsRequest, context: aio.ServicerContext
    ) -> AsyncIterator[events_pb2.WatchEventsResponse]:
        await context.abort(grpc.StatusCode.OUT_OF_RANGE, "cursor expired; oldest is c9")
        yield _event("never")

    fake.watch_events = stream
    async with VoiceClient(fake.target) as client:
        with pytest.raises(aio.AioRpcError) as caught:
            async for _ in client.watch(after_cursor="c0", reconnect=True):
                pass
    assert caught.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert len(fake.seen) == 1


async def test_watch_can_be_closed_while_waiting(fake: FakeServer) -> None:
    async def stream(
        request: events_pb2.WatchEventsRequest, context: aio.ServicerContext
    ) -> AsyncIterator[events_pb2.WatchEventsResponse]:
        yield _event("c1")
        await asyncio.Event().wait()
        yield _event("never")

    fake.watch_events = stream
    async with VoiceClient(fake.target) as client:
        watch = client.watch()
        got = []

        async def consume() -> None:
            async for event in watch:
                got.append(event.cursor)
                await watch.aclose()

        async with asyncio.timeout(10):
            await consume()
    assert got == ["c1"]


async def test_a_silent_stream_is_taken_for_dead_and_reopened(fake: FakeServer) -> None:
    async def stream(
        request: events_pb2.WatchEventsRequest, context: aio.ServicerContext
    ) -> AsyncIterator[events_pb2.WatchEventsResponse]:
        if len(fake.seen) == 1:
            yield _heartbeat("c0")
            yield _event("c1")
            await asyncio.Event().wait()  # the connection goes quiet: no heartbeat, no end
        yield _heartbeat("c1")
        yield _event("c2")

    fake.watch_events = stream
    async with VoiceClient(fake.target) as client:
        watch = client.watch(heartbeat_interval=0.2, reconnect=True)
        got = []
        async with asyncio.timeout(10):
            async for event in watch:
                got.append(event.cursor)
                if len(got) == 2:
                    break
        await watch.aclose()
    assert got == ["c1", "c2"]
    assert watch.reconnects == 1
    assert fake.seen[1].request.after_cursor == "c1"


async def test_a_silent_stream_without_reconnect_is_unavailable(fake: FakeServer) -> None:
    async def stream(
        request: events_pb2.WatchEventsRequest, context: aio.ServicerContext
    ) -> AsyncIterator[events_pb2.WatchEventsResponse]:
        yield _heartbeat("c0")
        await asyncio.Event().wait()
        yield _event("never")

    fake.watch_events = stream
    async with VoiceClient(fake.target) as client:
        with pytest.raises(aio.AioRpcError) as caught:
            async with asyncio.timeout(10):
                async for _ in client.watch(heartbeat_interval=0.2):
                    pass
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_aclose_stops_a_watch_waiting_to_reconnect() -> None:
    # Nothing listens there: every attempt fails with UNAVAILABLE and the watch keeps retrying.
    async with VoiceClient("127.0.0.1:9") as client:
        for wait_in_ready in (True, False):
            watch = EventWatch(client.events, reconnect=True, initial_backoff=30.0, max_backoff=30.0)
            waiting = asyncio.create_task(watch.ready() if wait_in_ready else anext(watch, None))
            await asyncio.sleep(0.5)  # first attempt failed; now in its 15-30 s backoff
            assert not waiting.done()
            async with asyncio.timeout(5):
                await watch.aclose()
                await waiting


async def test_aclose_ends_ready_while_it_waits_for_the_opening_heartbeat(fake: FakeServer) -> None:
    async def stream(
        request: events_pb2.WatchEventsRequest, context: aio.ServicerContext
    ) -> AsyncIterator[events_pb2.WatchEventsResponse]:
        await asyncio.Event().wait()  # a server slow to subscribe: no opening heartbeat yet
        yield _heartbeat("never")

    fake.watch_events = stream
    async with VoiceClient(fake.target) as client:
        watch = client.watch()
        waiting = asyncio.create_task(watch.ready())
        await asyncio.sleep(0.3)
        await watch.aclose()
        async with asyncio.timeout(5):
            assert await waiting is watch  # returns; it is not cancelled
