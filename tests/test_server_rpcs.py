"""Every RPC of the contract, through a real gRPC channel and server, against the sandbox: the exact REST
request that arrives (method, path, query, JSON body) and the response decoded from the sandbox's answer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from google.protobuf.message import Message

from tests.support.rpc_requests import build_request, unary
from tests.support.stack import Stack
from voicesvc.transcode import descriptors as d
from voicesvc.transcode.http import list_field
from voicesvc.transcode.routes import BY_METHOD, ROUTES, Route
from voicesvc.transcode.wire import to_json
from voicesvc.v1 import call_control_applications_pb2 as apps_pb2
from voicesvc.v1 import call_control_pb2 as cc_pb2
from voicesvc.v1 import call_events_pb2, common_pb2

ACTIVE_CONNECTION = "conn-active-calls"


def _setup(stack: Stack, route: Route) -> tuple[dict[str, str], dict[str, Any]]:
    """Path ids that exist in the sandbox, and field overrides the sandbox's call state needs."""
    ids: dict[str, str] = {}
    overrides: dict[str, Any] = {}
    if "call_control_id" in route.path_params:
        ringing = route.rpc in ("AnswerCall", "RejectCall")
        ids["call_control_id"] = stack.inbound_direct() if ringing else stack.dial_direct()
    if "id" in route.path_params:
        ids["id"] = stack.create_application_direct()
    if "connection_id" in route.path_params:
        stack.dial_direct(connection_id=ACTIVE_CONNECTION)
        ids["connection_id"] = ACTIVE_CONNECTION
    if route.rpc == "BridgeCall":
        overrides["other_call_control_id"] = stack.dial_direct()
    return ids, overrides


def _known(response_desc: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The members of a Telnyx object the response message has fields for (null and [] mean unset)."""
    keys = d.fields_by_wire_name(response_desc)
    return {k: v for k, v in data.items() if k in keys and v is not None and v != []}


def _assert_decoded(route: Route, response: Message, answer: dict[str, Any]) -> None:
    if not route.is_list:
        assert to_json(response) == _known(route.response_cls.DESCRIPTOR, answer["data"])
        return
    items = getattr(response, list_field(route))
    assert len(items) == len(answer["data"])
    for item, data in zip(items, answer["data"], strict=True):
        assert to_json(item) == _known(item.DESCRIPTOR, data)
    assert response.total_size == answer["meta"]["total_results"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("route", ROUTES, ids=[r.rpc for r in ROUTES])
async def test_rpc_sends_the_exact_rest_request_and_decodes_the_answer(stack: Stack, route: Route) -> None:
    ids, overrides = _setup(stack, route)
    built = build_request(route, ids, overrides)

    response = await unary(stack.channel, route)(built.message, timeout=10)

    [entry] = stack.journal()
    assert entry.method == route.http_method
    assert entry.path == "/v2" + built.path
    assert entry.query == built.query
    if built.body is None:
        assert entry.raw_body is None
    else:
        body = dict(entry.body)
        if route.dedup_field:
            # Filled in by the service so a retried command cannot act twice.
            assert uuid.UUID(body.pop("command_id")).version == 4
        assert body == built.body
    [reply] = stack.replies
    assert reply.status in (200, 201), reply.body
    _assert_decoded(route, response, reply.body)
    if route.http_method == "POST" and "/actions/" in route.path_template:
        assert response.result == "ok"


def test_every_rpc_of_the_contract_is_covered() -> None:
    assert len(ROUTES) == 50
    assert len({r.full_method for r in ROUTES}) == 50


async def test_list_paging_and_filters_travel_as_telnyx_query_parameters(stack: Stack) -> None:
    for name in ("page-a", "page-b", "page-c", "other"):
        stack.create_application_direct(name)
    route = BY_METHOD["/voicesvc.v1.CallControlApplications/ListCallControlApplications"]
    list_apps = unary(stack.channel, route)
    request = apps_pb2.ListCallControlApplicationsRequest(
        filter=common_pb2.ListCallControlApplicationsFilter(
            application_name=common_pb2.ApplicationName(contains="page")
        ),
        sort=apps_pb2.LIST_CALL_CONTROL_APPLICATIONS_SORT_CONNECTION_NAME,
        page_size=2,
    )
    first = await list_apps(request)
    assert [a.application_name for a in first.call_control_applications] == ["page-a", "page-b"]
    assert first.total_size == 3
    assert first.next_page_token

    request.page_token = first.next_page_token
    second = await list_apps(request)
    assert [a.application_name for a in second.call_control_applications] == ["page-c"]
    assert second.next_page_token == ""

    first_query, second_query = (e.query for e in stack.journal())
    assert first_query == [
        ("filter[application_name][contains]", "page"),
        ("sort", "connection_name"),
        ("page[size]", "2"),
    ]
    assert second_query == [*first_query[:2], ("page[number]", "2"), ("page[size]", "2")]


async def test_nested_filters_are_deep_object_encoded(stack: Stack) -> None:
    list_events = unary(stack.channel, BY_METHOD["/voicesvc.v1.CallEvents/ListCallEvents"])
    conditions = common_pb2.ListCallControlApplicationsFilter(
        connection_id="conn-9",
        failed=False,
        occurred_at=common_pb2.OccurredAt(gte="2026-01-01T00:00:00Z", lt="2026-02-01T00:00:00Z"),
    )
    await list_events(call_events_pb2.ListCallEventsRequest(filter=conditions))
    [entry] = stack.journal()
    assert entry.query == [
        ("filter[connection_id]", "conn-9"),
        ("filter[failed]", "false"),
        ("filter[occurred_at][gte]", "2026-01-01T00:00:00Z"),
        ("filter[occurred_at][lt]", "2026-02-01T00:00:00Z"),
    ]


async def test_explicit_false_and_zero_are_sent_and_unset_fields_are_not(stack: Stack) -> None:
    dial = unary(stack.channel, BY_METHOD["/voicesvc.v1.CallControl/DialCall"])
    fields: dict[str, Any] = {
        "connection_id": "conn-1",
        "from": "+15550100000",
        "to_string": "+15550100001",
        "bridge_on_answer": False,
        "record_max_length": 0,
        "command_id": "dial-1",
    }
    request = cc_pb2.DialCallRequest(**fields)
    await dial(request)
    [entry] = stack.journal()
    assert entry.body == {
        "connection_id": "conn-1",
        "from": "+15550100000",
        "to": "+15550100001",
        "bridge_on_answer": False,
        "record_max_length": 0,
        "command_id": "dial-1",
    }
