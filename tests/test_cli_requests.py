"""`voicesvc call` maps request JSON onto every RPC: Telnyx keys, proto names where they differ (BridgeCall's
`other_call_control_id`), unions, enums, nested messages; a wrong key names the field it could have meant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.voicesvc_process import ServerProcess, running_server
from voicesvc.client.cli import InputError, build_request, find_route, main
from voicesvc.transcode import wire
from voicesvc.transcode.routes import ROUTES
from voicesvc.v1 import call_control_pb2

DIAL = {"connection_id": "cli-bridge", "from": "+18005550101", "to": "+18005550100"}


def _build(rpc: str, data: dict[str, Any]) -> Any:
    return build_request(find_route(rpc), data)


def _error(rpc: str, data: dict[str, Any]) -> str:
    with pytest.raises(InputError) as caught:
        _build(rpc, data)
    return str(caught.value)


def test_bridge_takes_the_path_leg_and_the_other_leg_by_their_proto_names() -> None:
    request = _build(
        "CallControl.BridgeCall",
        {"call_control_id": "leg-a", "other_call_control_id": "leg-b", "mute_dtmf": "both"},
    )
    assert request.call_control_id == "leg-a"
    assert request.other_call_control_id == "leg-b"
    # The body Telnyx receives names the other leg by its Telnyx key.
    body = wire.to_json(request, exclude={"call_control_id"})
    assert body["call_control_id"] == "leg-b"
    assert body["mute_dtmf"] == "both"


def test_every_rpc_takes_its_path_parameters_and_required_fields_by_name() -> None:
    for route in ROUTES:
        data = dict.fromkeys(route.path_params, "x")
        message = build_request(route, data)
        for name in route.path_params:
            assert getattr(message, name) == "x", route.rpc


def test_every_kind_of_key_of_collect_payment() -> None:
    data = {
        "call_control_id": "leg-a",  # path parameter
        "amount": 12.5,  # double
        "max_attempts": 3,  # int32
        "currency": "USD",  # enum with its own wire value
        "payment_method": "credit-card",  # enum value name derived
        "metadata": {"order": 7, "tags": ["a"]},  # free-form object
        "prompts": {
            "bank-account-number": "Your account, please",
            "postal-code": "Your postal code",
        },  # unions
    }
    request = _build("CallControl.CollectPayment", data)
    assert request.call_control_id == "leg-a"
    assert request.currency == call_control_pb2.COLLECT_PAYMENT_CURRENCY_USD
    assert request.prompts.bank_account_number_string == "Your account, please"
    assert request.prompts.postal_code_string == "Your postal code"
    body = wire.to_json(request, exclude={"call_control_id"})
    assert body == {k: v for k, v in data.items() if k != "call_control_id"}


def test_dial_takes_a_union_and_a_keyword_key() -> None:
    request = _build("CallControl.DialCall", {**DIAL, "to": ["+1555", "+1556"]})
    assert list(request.to_list.values) == ["+1555", "+1556"]
    assert getattr(request, "from") == "+18005550101"


def test_a_wrong_key_names_the_proto_fields_it_could_have_meant() -> None:
    text = _error("CallControl.BridgeCall", {"call_control_id": "a", "other_call_control": "b"})
    assert "/other_call_control: is not a known field of BridgeCallRequest" in text
    assert 'other_call_control_id (Telnyx key "call_control_id")' in text
    text = _error("CallControl.DialCall", {**DIAL, "fro": "x"})
    assert "did you mean from?" in text
    nested = {**DIAL, "answering_machine_detection_config": {"total_analysis_time_milis": 5}}
    text = _error("CallControl.DialCall", nested)
    assert "/answering_machine_detection_config/total_analysis_time_milis" in text
    assert "did you mean greeting_total_analysis_time_millis or total_analysis_time_millis?" in text
    text = _error("CallControl.BridgeCall", {"zzz": 1})
    assert "(its fields: call_control_id, other_call_control_id, client_state" in text
    text = _error("CallControl.BridgeCall", {"call_control_id": "a", "other_call_control_id": 5})
    assert "/other_call_control_id: must be a string" in text


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server() as srv:
        yield srv


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_bridge_call_through_the_cli(capsys: pytest.CaptureFixture[str], server: ServerProcess) -> None:
    target = ["--target", server.target]
    legs = [
        _cli(capsys, "calls", "exec", *target, "DialCall", json.dumps(DIAL))["response"]["call_control_id"]
        for _ in range(2)
    ]
    body = {"call_control_id": legs[0], "other_call_control_id": legs[1]}
    bridged = _cli(capsys, "calls", "exec", *target, "BridgeCall", json.dumps(body))
    assert bridged["outcome"]["event_type"] == "call.bridged"
    assert bridged["outcome"]["call_control_id"] == legs[0]
    code = main(["call", *target, "CallControl.BridgeCall", json.dumps({"call_control_id": legs[0]})])
    _, err = capsys.readouterr()
    assert code == 1  # the other leg is required: the server refuses it, naming the field
    assert "INVALID_ARGUMENT" in err
    assert "call_control_id" in err
