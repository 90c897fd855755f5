"""Failures through the real server: bad input refused before any REST call, Telnyx errors mapped to gRPC
statuses with rich details, retries without duplicate effects, deadlines and cancellation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from aiohttp import web
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support.metrics import sample_value
from tests.support.rpc_requests import unary
from tests.support.stack import Stack, eventually, start_stack
from voicesvc.transcode.routes import BY_METHOD, ROUTES
from voicesvc.v1 import call_control_applications_pb2 as apps_pb2
from voicesvc.v1 import call_control_pb2 as cc_pb2
from voicesvc.v1 import call_events_pb2

SPEAK = BY_METHOD["/voicesvc.v1.CallControl/SpeakText"]
DIAL = BY_METHOD["/voicesvc.v1.CallControl/DialCall"]
STATUS = BY_METHOD["/voicesvc.v1.CallControl/GetCallStatus"]
BRIDGE = BY_METHOD["/voicesvc.v1.CallControl/BridgeCall"]
CREATE_APP = BY_METHOD["/voicesvc.v1.CallControlApplications/CreateCallControlApplication"]
GET_APP = BY_METHOD["/voicesvc.v1.CallControlApplications/GetCallControlApplication"]
UPDATE_APP = BY_METHOD["/voicesvc.v1.CallControlApplications/UpdateCallControlApplication"]
LIST_APPS = BY_METHOD["/voicesvc.v1.CallControlApplications/ListCallControlApplications"]
LIST_EVENTS = BY_METHOD["/voicesvc.v1.CallEvents/ListCallEvents"]


def speak(call_control_id: str, **fields: Any) -> cc_pb2.SpeakTextRequest:
    return cc_pb2.SpeakTextRequest(call_control_id=call_control_id, payload="Hello", voice="female", **fields)


def dial_request(**fields: Any) -> cc_pb2.DialCallRequest:
    base = {"connection_id": "conn-1", "from": "+15550100000", "to_string": "+15550100001"}
    return cc_pb2.DialCallRequest(**{**base, **fields})


def details(err: grpc.aio.AioRpcError) -> dict[str, list[Any]]:
    """The rich error details of a failed call, by detail type name."""
    status = rpc_status.from_call(err)
    assert status is not None, "the status carries no details"
    assert status.code == err.code().value[0]
    out: dict[str, list[Message]] = {}
    for packed in status.details:
        for cls in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.RetryInfo):
            if packed.Is(cls.DESCRIPTOR):
                msg = cls()
                packed.Unpack(msg)
                out.setdefault(cls.DESCRIPTOR.name, []).append(msg)
    return out


async def fails(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


# ------------------------------------------------------------------ bad input never reaches Telnyx

BAD_IDS = {
    "empty": "",
    "too_long": "x" * 257,
    "slash": "abc/def",
    "question_mark": "abc?x=1",
    "hash": "abc#frag",
    "percent": "abc%2Fdef",
    "dot": ".",
    "dot_dot": "..",
    "dot_dot_inside": "abc..def",
    "space": "abc def",
    "tab": "abc\tdef",
    "newline": "abc\ndef",
    "nul": "abc\x00def",
    "escape": "abc\x1bdef",
    "zero_width": "abc\u200bdef",
}


@pytest.mark.parametrize("bad", list(BAD_IDS.values()), ids=list(BAD_IDS))
async def test_unusable_ids_are_invalid_argument_and_nothing_is_sent(stack: Stack, bad: str) -> None:
    for route, request in (
        (SPEAK, speak(bad)),
        (STATUS, cc_pb2.GetCallStatusRequest(call_control_id=bad)),
        (GET_APP, apps_pb2.GetCallControlApplicationRequest(id=bad)),
    ):
        err = await fails(unary(stack.channel, route)(request))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        [bad_request] = details(err)["BadRequest"]
        field = route.path_params[0]
        assert [v.field for v in bad_request.field_violations] == [field]
        assert bad_request.field_violations[0].description.startswith("must ")
        assert err.details().startswith(f"invalid request: {field} must ")
    assert stack.journal() == []


async def test_missing_required_fields_are_named_and_nothing_is_sent(stack: Stack) -> None:
    from_field: dict[str, Any] = {"from": "+15550100000"}
    err = await fails(unary(stack.channel, DIAL)(cc_pb2.DialCallRequest(**from_field)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    [bad_request] = details(err)["BadRequest"]
    assert {v.field for v in bad_request.field_violations} == {"connection_id", "to"}
    assert all(v.description == "is required" for v in bad_request.field_violations)
    assert "connection_id" in err.details()
    assert "to" in err.details()

    # A required string set to "" counts as missing; the field is named as the proto names it.
    call = stack.dial_direct()
    err = await fails(unary(stack.channel, BRIDGE)(cc_pb2.BridgeCallRequest(call_control_id=call)))
    assert [v.field for v in details(err)["BadRequest"][0].field_violations] == ["other_call_control_id"]

    # Path and body problems are reported together.
    err = await fails(unary(stack.channel, SPEAK)(cc_pb2.SpeakTextRequest(call_control_id="a/b", voice="x")))
    fields = {v.field for v in details(err)["BadRequest"][0].field_violations}
    assert fields == {"call_control_id", "payload"}
    assert stack.journal() == []


async def test_enum_numbers_outside_the_contract_are_refused_and_nothing_is_sent(stack: Stack) -> None:
    call = stack.inbound_direct()
    reject = BY_METHOD["/voicesvc.v1.CallControl/RejectCall"]
    err = await fails(unary(stack.channel, reject)(cc_pb2.RejectCallRequest(call_control_id=call, cause=99)))  # type: ignore[arg-type]
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    [bad_request] = details(err)["BadRequest"]
    assert [v.field for v in bad_request.field_violations] == ["cause"]

    listing = call_events_pb2.ListCallEventsRequest()
    listing.filter.product = 99  # type: ignore[assignment]
    err = await fails(unary(stack.channel, LIST_EVENTS)(listing))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert stack.journal() == []


async def test_non_finite_numbers_inside_free_form_json_are_refused(stack: Stack) -> None:
    collect = BY_METHOD["/voicesvc.v1.CallControl/CollectPayment"]
    payment = cc_pb2.CollectPaymentRequest(call_control_id=stack.dial_direct())
    payment.metadata.update({"nested": {"amount": float("inf")}})
    err = await fails(unary(stack.channel, collect)(payment))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    [bad_request] = details(err)["BadRequest"]
    assert [v.field for v in bad_request.field_violations] == ["metadata"]
    assert stack.journal() == []


async def test_bad_page_token_and_page_size_are_invalid_argument(stack: Stack) -> None:
    list_apps = unary(stack.channel, LIST_APPS)
    for request in (
        apps_pb2.ListCallControlApplicationsRequest(page_token="not-a-token"),
        apps_pb2.ListCallControlApplicationsRequest(page_size=251),
        apps_pb2.ListCallControlApplicationsRequest(page_size=-1),
    ):
        err = await fails(list_apps(request))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert details(err)["BadRequest"][0].field_violations[0].field in ("page_token", "page_size")
    assert stack.journal() == []


# ------------------------------------------------------------------ Telnyx errors → gRPC statuses

STATUS_MAP = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    410: grpc.StatusCode.FAILED_PRECONDITION,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.UNAVAILABLE,
    502: grpc.StatusCode.UNAVAILABLE,
    503: grpc.StatusCode.UNAVAILABLE,
}


@pytest.mark.parametrize("http_status", list(STATUS_MAP))
async def test_telnyx_status_maps_to_grpc_code_with_error_info(http_status: int) -> None:
    # One attempt, so retryable statuses are reported as they come.
    async with start_stack(telnyx__retry_max_attempts=1) as stack:
        stack.add_fault(kind="error", path="/calls$", status=http_status)
        err = await fails(unary(stack.channel, DIAL)(dial_request()))
        assert err.code() == STATUS_MAP[http_status]
        [info] = details(err)["ErrorInfo"]
        assert info.domain == "api.telnyx.com"
        assert info.reason  # the Telnyx error code
        assert info.metadata["http_status"] == str(http_status)
        assert info.metadata["title"]
        assert len(stack.journal()) == 1


async def test_rate_limit_carries_retry_info() -> None:
    # A Retry-After longer than the service waits for is handed to the caller instead.
    async with start_stack(telnyx__retry_max_retry_after_s=1.0) as stack:
        stack.add_fault(kind="rate_limit", path="/calls$", retry_after=30)
        err = await fails(unary(stack.channel, DIAL)(dial_request()))
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        got = details(err)
        assert got["RetryInfo"][0].retry_delay.seconds == 30
        assert got["ErrorInfo"][0].reason == "10011"


async def test_real_telnyx_errors_keep_their_code_and_field(stack: Stack) -> None:
    # Unknown call: 404 with Telnyx code 10005.
    err = await fails(unary(stack.channel, STATUS)(cc_pb2.GetCallStatusRequest(call_control_id="v3:unknown")))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert details(err)["ErrorInfo"][0].reason == "10005"

    # Command on a call that has ended: the call's state is the cause.
    call = stack.dial_direct()
    await unary(stack.channel, BY_METHOD["/voicesvc.v1.CallControl/HangupCall"])(
        cc_pb2.HangupCallRequest(call_control_id=call)
    )
    err = await fails(unary(stack.channel, SPEAK)(speak(call)))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(err)["ErrorInfo"][0].reason == "90018"

    # Telnyx rejects a field: BadRequest names it from `source.pointer`, as the caller's field (the body's
    # `call_control_id` of a bridge is `other_call_control_id` in the request message).
    live = stack.dial_direct()
    err = await fails(
        unary(stack.channel, BRIDGE)(
            cc_pb2.BridgeCallRequest(call_control_id=live, other_call_control_id="v3:gone")
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    [bad_request] = details(err)["BadRequest"]
    assert [v.field for v in bad_request.field_violations] == ["other_call_control_id"]
    assert bad_request.field_violations[0].description


# ------------------------------------------------------------------ answers Telnyx should not give


@asynccontextmanager
async def answering(status: int, body: bytes) -> AsyncIterator[Stack]:
    """A voicesvc whose upstream answers every request with `status` and `body` (JSON)."""

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with start_stack(
            telnyx__base_url=f"http://127.0.0.1:{port}/v2", telnyx__retry_max_attempts=1
        ) as stack:
            yield stack
    finally:
        await runner.cleanup()


async def test_a_telnyx_error_with_very_long_texts_still_reaches_the_caller() -> None:
    errors = [{"code": "10015", "title": "Invalid", "detail": "d" * 10_000, "source": {"pointer": "/to"}}] * 3
    async with answering(422, json.dumps({"errors": errors}).encode()) as stack:
        err = await fails(unary(stack.channel, DIAL)(dial_request()))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    got = details(err)
    assert got["ErrorInfo"][0].reason == "10015"
    assert got["BadRequest"][0].field_violations[0].field == "to"


MALFORMED = {
    "no_data": (STATUS, b'{"foo": 1}'),
    "null_data": (STATUS, b'{"data": null}'),
    "array_document": (STATUS, b"[1, 2]"),
    "list_data_object": (LIST_EVENTS, b'{"data": {}}'),
    "list_items_not_objects": (LIST_EVENTS, b'{"data": [1, 2]}'),
}


@pytest.mark.parametrize(("route", "body"), list(MALFORMED.values()), ids=list(MALFORMED))
async def test_a_success_without_the_expected_data_is_a_protocol_error(route: Any, body: bytes) -> None:
    request = route.request_cls(call_control_id="v3:x") if route is STATUS else route.request_cls()
    async with answering(200, body) as stack:
        err = await fails(unary(stack.channel, route)(request))
    assert err.code() == grpc.StatusCode.UNKNOWN
    assert details(err)["ErrorInfo"][0].reason == "UPSTREAM_PROTOCOL_ERROR"


@pytest.mark.parametrize("meta", ['"meta"', '{"total_results": 3000000000}', '{"page_number": -5}'])
async def test_an_odd_list_meta_is_ignored_or_clamped(meta: str) -> None:
    body = f'{{"data": [{{"record_type": "call_event"}}], "meta": {meta}}}'.encode()
    async with answering(200, body) as stack:
        listed = await unary(stack.channel, LIST_EVENTS)(call_events_pb2.ListCallEventsRequest())
    assert len(listed.call_events) == 1
    assert listed.total_size in (0, 2**31 - 1)
    assert listed.next_page_token == ""


# ------------------------------------------------------------------ retries without duplicate effects


async def speaks_once_in_three_attempts(stack: Stack, call: str) -> None:
    """A speak that succeeds after two failed attempts, all with one command_id, and acts once."""
    response = await unary(stack.channel, SPEAK)(speak(call))
    assert response.result == "ok"
    entries = stack.journal("/actions/speak")
    assert len(entries) == 3
    assert len({e.body["command_id"] for e in entries}) == 1
    assert stack.executions(call, "speak") == 1


async def test_commands_are_retried_on_503_and_429_and_run_once(stack: Stack) -> None:
    call = stack.dial_direct()
    stack.add_fault(kind="error", path="/actions/speak$", status=503, count=1)
    stack.add_fault(kind="rate_limit", path="/actions/speak$", retry_after=0, count=1)
    await speaks_once_in_three_attempts(stack, call)


async def test_command_dropped_after_execution_is_retried_and_deduplicated(stack: Stack) -> None:
    call = stack.dial_direct()
    stack.add_fault(kind="drop_after", path="/actions/speak$", count=2)
    await speaks_once_in_three_attempts(stack, call)


async def test_callers_command_id_is_kept(stack: Stack) -> None:
    call = stack.dial_direct()
    await unary(stack.channel, SPEAK)(speak(call, command_id="my-key-1"))
    await unary(stack.channel, SPEAK)(speak(call, command_id="my-key-1"))
    assert [e.body["command_id"] for e in stack.journal("/actions/speak")] == ["my-key-1", "my-key-1"]
    assert stack.executions(call, "speak") == 1


async def test_dial_retried_after_drop_places_one_call(stack: Stack) -> None:
    stack.add_fault(kind="drop_after", path="/calls$", count=1)
    response = await unary(stack.channel, DIAL)(dial_request())
    assert len(stack.journal("/calls", method="POST")) == 2
    assert list(stack.sandbox.engine.calls) == [response.call_control_id]


async def test_post_without_key_is_not_retried_once_it_may_have_arrived(stack: Stack) -> None:
    create = apps_pb2.CreateCallControlApplicationRequest(
        application_name="no-retry", webhook_event_url="https://example.com/hooks"
    )
    stack.add_fault(kind="drop_after", path="/call_control_applications$", count=1)
    err = await fails(unary(stack.channel, CREATE_APP)(create))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert len(stack.journal("/call_control_applications")) == 1
    assert len(stack.sandbox.engine.apps.list({}, None)) == 1  # created once, never twice

    stack.add_fault(kind="drop_before", path="/call_control_applications$", count=1)
    err = await fails(unary(stack.channel, CREATE_APP)(create))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert len(stack.journal("/call_control_applications")) == 2


async def test_delete_is_not_retried_once_it_may_have_taken_effect(stack: Stack) -> None:
    delete = BY_METHOD["/voicesvc.v1.CallControlApplications/DeleteCallControlApplication"]
    gone = stack.create_application_direct()
    stack.add_fault(kind="drop_after", path="/call_control_applications/", method="DELETE", count=1)
    err = await fails(unary(stack.channel, delete)(apps_pb2.DeleteCallControlApplicationRequest(id=gone)))
    # Not NOT_FOUND from a second attempt: the caller learns the outcome is unknown.
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert len(stack.journal(method="DELETE")) == 1

    # A 429 was refused before anything happened: that one is retried.
    kept = stack.create_application_direct()
    stack.add_fault(
        kind="rate_limit", path="/call_control_applications/", method="DELETE", count=1, retry_after=0
    )
    deleted = await unary(stack.channel, delete)(apps_pb2.DeleteCallControlApplicationRequest(id=kept))
    assert deleted.id == kept
    assert len(stack.journal(method="DELETE")) == 3


async def test_reads_and_patches_are_retried_after_dropped_connections(stack: Stack) -> None:
    app_id = stack.create_application_direct()
    stack.add_fault(kind="drop_before", path="/call_control_applications/", count=1)
    got = await unary(stack.channel, GET_APP)(apps_pb2.GetCallControlApplicationRequest(id=app_id))
    assert got.id == app_id

    stack.add_fault(kind="drop_after", path="/call_control_applications/", method="PATCH", count=1)
    update = apps_pb2.UpdateCallControlApplicationRequest(
        id=app_id, application_name="renamed", webhook_event_url="https://example.com/new"
    )
    updated = await unary(stack.channel, UPDATE_APP)(update)
    assert updated.application_name == "renamed"
    assert len(stack.journal(method="PATCH")) == 2


async def test_persistent_upstream_failure_is_unavailable_after_the_retry_budget(stack: Stack) -> None:
    stack.add_fault(kind="error", path="/call_events$", status=503)
    err = await fails(unary(stack.channel, LIST_EVENTS)(call_events_pb2.ListCallEventsRequest()))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert len(stack.journal("/call_events")) == stack.settings.telnyx.retry_max_attempts


# ------------------------------------------------------------------ deadlines and cancellation


async def test_caller_deadline_bounds_the_rest_call(stack: Stack) -> None:
    call = stack.dial_direct()
    stack.add_fault(kind="latency", path="/actions/speak$", latency_ms=1000)
    err = await fails(unary(stack.channel, SPEAK)(speak(call), timeout=0.2))
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert len(stack.journal("/actions/speak")) == 1


async def test_cancelled_rpc_is_recorded_as_cancelled(stack: Stack) -> None:
    call = stack.dial_direct()
    stack.add_fault(kind="latency", path="/actions/speak$", latency_ms=1000)
    pending = unary(stack.channel, SPEAK)(speak(call))
    await eventually(lambda: stack.journal("/actions/speak"))
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    metrics = stack.service.metrics
    await eventually(
        lambda: (
            sample_value(metrics, "voicesvc_rpc_requests_total", method=SPEAK.full_method, code="CANCELLED")
            == 1
        )
    )


def test_error_tests_use_real_routes() -> None:
    used = {SPEAK, DIAL, STATUS, BRIDGE, CREATE_APP, GET_APP, UPDATE_APP, LIST_APPS, LIST_EVENTS}
    assert used <= set(ROUTES)
