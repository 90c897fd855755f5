"""Wire round trip for every RPC: a request with every field set encodes to exactly the JSON (or
query) the reference prescribes, and a full response document decodes with every field kept.

Documents are generated from the reference's schemas (every property set; each union variant in
turn), so names, nesting, discriminators and types are checked against the reference itself.
"""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from google.protobuf.message import Message

from tests.support.reference import (
    endpoint_id,
    endpoints,
    max_variants,
    request_schema,
    response_item_schema,
    sample,
)
from voicesvc.transcode import descriptors as d
from voicesvc.transcode import http, query, routes, wire
from voicesvc.transcode.paging import decode_page_token, encode_page_token
from voicesvc.transcode.validate import missing_required, path_id_problem
from voicesvc.v1 import call_control_pb2, call_events_pb2

ROUTE_BY_ENDPOINT = {(r.http_method, r.path_template): r for r in routes.ROUTES}


def _cases() -> list[Any]:
    out = []
    for ep in endpoints():
        schema = {"req": request_schema(ep), "resp": response_item_schema(ep)[0]}
        for variant in range(max(max_variants(schema["req"]), max_variants(schema["resp"]))):
            for zero in (False, True):
                out.append(
                    pytest.param(
                        ep, variant, zero, id=f"{endpoint_id(ep)}#v{variant}{'-zero' if zero else ''}"
                    )
                )
    return out


def _route(ep: dict) -> routes.Route:
    return ROUTE_BY_ENDPOINT[(ep["method"], ep["path"])]


def _request_with_every_field(ep: dict, variant: int, zero: bool) -> tuple[Message, dict]:
    route = _route(ep)
    document = sample(request_schema(ep), variant, zero)
    message = wire.from_json(route.request_cls, document, strict=True, exclude=route.path_params)
    for name in route.path_params:
        setattr(message, name, f"{name}-7")
    return message, document


@pytest.mark.parametrize(("ep", "variant", "zero"), _cases())
def test_request_encodes_to_the_reference_shape(ep: dict, variant: int, zero: bool) -> None:
    route = _route(ep)
    message: Any  # the request type of the endpoint: list fields are set by name
    message, document = _request_with_every_field(ep, variant, zero)
    if route.is_list:
        message.page_size = 50
        message.page_token = encode_page_token(3)
    sent = http.encode_request(route, message)
    expected_path = ep["path"]
    for name in route.path_params:
        expected_path = expected_path.replace("{" + name + "}", f"{name}-7")
    assert sent.method == ep["method"]
    assert sent.path == expected_path
    if route.has_body:
        assert sent.body == document
        assert sent.query == []
    else:
        assert sent.body is None
        expected = query.flatten(document)
        if route.is_list:
            expected += [("page[number]", "3"), ("page[size]", "50")]
        assert sent.query == expected
        # The sandbox reads the same query back into the same message.
        assert (
            http.decode_request(route, {p: f"{p}-7" for p in route.path_params}, sent.query, None) == message
        )


@pytest.mark.parametrize("ep", endpoints(), ids=endpoint_id)
def test_null_members_of_a_response_leave_their_fields_unset(ep: dict) -> None:
    route = _route(ep)
    item_schema, is_list = response_item_schema(ep)
    item = dict.fromkeys(sample(item_schema))
    document = {"data": [item], "meta": {"total_results": None}} if is_list else {"data": item}
    response = http.decode_response(route, document)
    decoded = getattr(response, http.list_field(route))[0] if is_list else response
    # Only a free-form value keeps its null, as JSON null; nothing else appears present.
    present = decoded.ListFields()
    assert [f.message_type.full_name for f, _ in present] == [d.VALUE] * len(present)


@pytest.mark.parametrize(("ep", "variant", "zero"), _cases())
def test_response_decodes_with_every_field_kept(ep: dict, variant: int, zero: bool) -> None:
    route = _route(ep)
    item_schema, is_list = response_item_schema(ep)
    item = sample(item_schema, variant, zero)
    if is_list:
        document = {
            "data": [item, item],
            "meta": {"page_number": 1, "page_size": 2, "total_pages": 2, "total_results": 3, "unknown": 1},
        }
        response: Any = http.decode_response(route, document)
        items = getattr(response, http.list_field(route))
        assert [wire.to_json(i) for i in items] == [item, item]
        assert response.total_size == 3
        assert decode_page_token(response.next_page_token) == 2
    else:
        response = http.decode_response(route, {"data": {**item, "field_from_the_future": 1}})
        assert wire.to_json(response) == item


def test_every_request_is_accepted_strictly_and_required_fields_are_known() -> None:
    for ep in endpoints():
        message, _ = _request_with_every_field(ep, 0, False)
        assert missing_required(message) == [], endpoint_id(ep)
        empty = _route(ep).request_cls()
        required = set(request_schema(ep).get("required", [])) | set(ep["path_params"])
        reported = {p.strip("/").split("/")[0] for p in missing_required(empty)}
        assert reported == required, endpoint_id(ep)


def test_enum_wire_strings_round_trip_for_every_value() -> None:
    seen = 0
    for module in d.MODULES:
        for enum in module.DESCRIPTOR.enum_types_by_name.values():
            to_wire, from_wire = d.enum_maps(enum)
            assert len(to_wire) == len(enum.values) - 1, enum.name
            assert len(from_wire) == len(to_wire), f"{enum.name} has two values with one wire string"
            seen += len(to_wire)
    assert seen > 400


def test_an_enum_wire_string_decodes_to_its_value_and_an_unknown_one_only_strictly_fails() -> None:
    cls = call_control_pb2.DialCallRequest
    known = cast(
        call_control_pb2.DialCallRequest, wire.from_json(cls, {"answering_machine_detection": "detect_beep"})
    )
    assert known.answering_machine_detection == call_control_pb2.ANSWERING_MACHINE_DETECTION_DETECT_BEEP
    for value in ("DETECT_BEEP", "detect-beep", 1, None):
        document = {"answering_machine_detection": value, "connection_id": "c"}
        lenient = cast(call_control_pb2.DialCallRequest, wire.from_json(cls, document))
        assert (lenient.answering_machine_detection, lenient.connection_id) == (0, "c")
    with pytest.raises(wire.WireError) as refused:
        wire.from_json(cls, {"answering_machine_detection": "detect-beep"}, strict=True)
    assert [v.pointer for v in refused.value.violations] == ["/answering_machine_detection"]
    assert "must be one of:" in refused.value.violations[0].detail


def test_unset_fields_are_omitted_and_explicit_zero_values_are_kept() -> None:
    msg = call_control_pb2.AnswerCallRequest(call_control_id="c")
    assert http.encode_request(routes.BY_METHOD["/voicesvc.v1.CallControl/AnswerCall"], msg).body == {}
    msg.billing_group_id = ""
    msg.send_silence_when_idle = False
    msg.record_max_length = 0
    body = http.encode_request(routes.BY_METHOD["/voicesvc.v1.CallControl/AnswerCall"], msg).body
    assert body == {"billing_group_id": "", "send_silence_when_idle": False, "record_max_length": 0}


def test_enum_wire_strings_that_are_not_derivable_use_the_option() -> None:
    msg = call_control_pb2.DialCallRequest(connection_id="c", to_string="+15550001111")
    setattr(msg, "from", "+15550002222")
    msg.answering_machine_detection = call_control_pb2.ANSWERING_MACHINE_DETECTION_DETECT_BEEP
    body = http.encode_request(routes.BY_METHOD["/voicesvc.v1.CallControl/DialCall"], msg).body
    assert body == {
        "connection_id": "c",
        "from": "+15550002222",
        "to": "+15550001111",
        "answering_machine_detection": "detect_beep",
    }


def test_bridge_body_call_control_id_is_the_other_leg() -> None:
    route = routes.BY_METHOD["/voicesvc.v1.CallControl/BridgeCall"]
    msg = call_control_pb2.BridgeCallRequest(call_control_id="leg-a", other_call_control_id="leg-b")
    sent = http.encode_request(route, msg)
    assert (sent.path, sent.body) == ("/calls/leg-a/actions/bridge", {"call_control_id": "leg-b"})


def test_deep_object_query_of_call_event_filters() -> None:
    route = routes.BY_METHOD["/voicesvc.v1.CallEvents/ListCallEvents"]
    msg = call_events_pb2.ListCallEventsRequest(page_size=10)
    msg.filter.occurred_at.gte = "2026-01-01T00:00:00Z"
    msg.filter.outbound_outbound_voice_profile_id = "ovp"
    msg.filter.failed = False
    sent = http.encode_request(route, msg)
    assert sent.query == [
        ("filter[failed]", "false"),
        ("filter[occurred_at][gte]", "2026-01-01T00:00:00Z"),
        ("filter[outbound.outbound_voice_profile_id]", "ovp"),
        ("page[size]", "10"),
    ]


UNUSABLE_IDS = ["", ".", "a/b", "a?b", "a#b", "a%2Fb", "..", "a b", "a\tb", "a\x00b", "x" * 257]


@pytest.mark.parametrize("bad", UNUSABLE_IDS)
def test_unusable_path_ids_are_refused(bad: str) -> None:
    assert path_id_problem(bad) is not None
    route = routes.BY_METHOD["/voicesvc.v1.CallControl/HangupCall"]
    with pytest.raises(wire.WireError) as err:
        http.encode_request(route, call_control_pb2.HangupCallRequest(call_control_id=bad))
    assert err.value.violations[0].pointer == "/call_control_id"


def test_strict_decoding_names_every_offending_field() -> None:
    route = routes.BY_METHOD["/voicesvc.v1.CallControl/DialCall"]
    with pytest.raises(wire.WireError) as err:
        http.decode_request(
            route,
            {},
            [],
            {
                "to": 5,
                "answering_machine_detection": "sometimes",
                "timeout_secs": "30",
                "assistant": {"tools": [{"type": "webhook", "webhook": {"url": 3}}]},
                "no_such_field": True,
            },
        )
    pointers = {v.pointer for v in err.value.violations}
    assert pointers == {
        "/to",
        "/answering_machine_detection",
        "/timeout_secs",
        "/assistant/tools/0/webhook/url",
        "/no_such_field",
    }


def test_bad_page_token_is_refused() -> None:
    route = routes.BY_METHOD["/voicesvc.v1.CallEvents/ListCallEvents"]
    with pytest.raises(wire.WireError) as err:
        http.encode_request(route, call_events_pb2.ListCallEventsRequest(page_token="not-a-token"))
    assert err.value.violations[0].pointer == "/page_token"


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_are_refused(bad: float) -> None:
    route = routes.BY_METHOD["/voicesvc.v1.CallControl/CollectPayment"]
    with pytest.raises(wire.WireError) as err:
        http.encode_request(route, call_control_pb2.CollectPaymentRequest(call_control_id="c", amount=bad))
    assert err.value.violations[0].pointer == "/amount"


def test_non_finite_numbers_deep_inside_are_reported_at_their_full_path() -> None:
    route = routes.BY_METHOD["/voicesvc.v1.CallControl/StartAiAssistant"]
    request = call_control_pb2.StartAiAssistantRequest(call_control_id="c")
    request.assistant.dynamic_variables["score"].number = float("nan")
    with pytest.raises(wire.WireError) as err:
        http.encode_request(route, request)
    assert [v.pointer for v in err.value.violations] == ["/assistant/dynamic_variables/score"]


def test_empty_union_values_count_as_missing() -> None:
    dial = call_control_pb2.DialCallRequest(connection_id="c", to_string="")
    setattr(dial, "from", "+15550001111")
    assert missing_required(dial) == ["/to"]
    dial.to_list.SetInParent()  # the list variant, holding nothing
    assert missing_required(dial) == ["/to"]

    start = call_control_pb2.StartAiAssistantRequest(call_control_id="c")
    start.message_history.add()  # a union item with no variant set would be sent as null
    assert missing_required(start) == ["/message_history/0"]

    # A union value may itself be empty: a dynamic variable can be "".
    answer = call_control_pb2.AnswerCallRequest(call_control_id="c")
    answer.assistant.id = "assistant-1"
    answer.assistant.dynamic_variables["middle_name"].string = ""
    assert missing_required(answer) == []


ROUTE_OF_ACTIVE_CALLS = routes.BY_METHOD["/voicesvc.v1.Connections/ListActiveCalls"]


@pytest.mark.parametrize("size", ["0", "3000000000", "²", "-1", "1.5"])
def test_page_parameters_outside_int32_or_not_ascii_digits_are_refused(size: str) -> None:
    with pytest.raises(wire.WireError) as err:
        http.decode_request(ROUTE_OF_ACTIVE_CALLS, {"connection_id": "c"}, [("page[size]", size)], None)
    assert [v.pointer for v in err.value.violations] == ["/page[size]"]


@pytest.mark.parametrize("amount", [b"1e400", b"9" * 400])
def test_strict_decoding_refuses_numbers_beyond_a_double(amount: bytes) -> None:
    route = routes.BY_METHOD["/voicesvc.v1.CallControl/CollectPayment"]
    body = json.loads(b'{"amount": ' + amount + b', "metadata": {"x": ' + amount + b"}}")
    with pytest.raises(wire.WireError) as err:
        http.decode_request(route, {"call_control_id": "c"}, [], body)
    assert sorted(v.pointer for v in err.value.violations) == ["/amount", "/metadata"]


@pytest.mark.parametrize("route", [r for r in routes.ROUTES if not r.has_body], ids=lambda r: r.rpc)
def test_a_request_with_only_its_path_set_sends_no_query_and_keeps_deadline_and_request_id(
    route: routes.Route,
) -> None:
    message = route.request_cls()
    for name in route.path_params:
        setattr(message, name, f"{name}-7")
    sent = http.encode_request(route, message, deadline=123.5, request_id="req-1")
    assert sent.query == query.flatten(
        wire.to_json(message, exclude=set(route.path_params) | http.PAGE_FIELDS)
    )
    assert (sent.body, sent.deadline, sent.request_id) == (None, 123.5, "req-1")


@pytest.mark.parametrize("rpc", ["AnswerCall", "ListActiveCalls"])
def test_deadline_and_request_id_reach_every_kind_of_request(rpc: str) -> None:
    route = next(r for r in routes.ROUTES if r.rpc == rpc)
    message = route.request_cls()
    for name in route.path_params:
        setattr(message, name, f"{name}-7")
    sent = http.encode_request(route, message, deadline=9.0, request_id="req-2")
    assert (sent.deadline, sent.request_id) == (9.0, "req-2")
