"""Finding 8: numbers inside free-form objects (`google.protobuf.Struct` / `Value`) reach Telnyx as the JSON
the caller meant: integral numbers as JSON integers, fractions unchanged, at any depth."""

from __future__ import annotations

import json
import re

from google.protobuf import json_format, struct_pb2

from tests.support.stack import Stack
from voicesvc.transcode.wire import to_json
from voicesvc.v1 import call_control_pb2 as cc_pb2
from voicesvc.v1 import call_control_pb2_grpc as cc_grpc


def _struct(data: dict[str, object]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    json_format.ParseDict(data, out)
    return out


async def test_integral_numbers_in_a_struct_are_sent_as_json_integers(stack: Stack) -> None:
    leg = stack.dial_direct()
    parameters = _struct(
        {
            "type": "object",
            "zero": 0,
            "negative": -5,
            "big": 1e20,
            "fraction": 1.5,
            "limit": 2**53,
            "nested": {"list": [0, 1, 2.25, {"deep": 7}], "flag": True, "none": None},
        }
    )
    stub = cc_grpc.CallControlStub(stack.channel)

    await stub.GatherUsingAi(
        cc_pb2.GatherUsingAiRequest(call_control_id=leg, parameters=parameters), timeout=10
    )

    [entry] = stack.journal("gather_using_ai")
    assert entry.raw_body is not None
    sent = json.loads(entry.raw_body)["parameters"]
    assert sent == {
        "type": "object",
        "zero": 0,
        "negative": -5,
        "big": 100000000000000000000,
        "fraction": 1.5,
        "limit": 9007199254740992,
        "nested": {"list": [0, 1, 2.25, {"deep": 7}], "flag": True, "none": None},
    }
    # Written as integers on the wire: no `0.0`, no exponent (a Struct's keys come in any order).
    assert re.search(r'"zero":0[,}]', entry.raw_body)
    assert re.search(r'"big":100000000000000000000[,}]', entry.raw_body)
    assert '"deep":7}' in entry.raw_body
    for float_form in (".0,", ".0}", ".0]", "e+"):
        assert float_form not in entry.raw_body
    assert isinstance(sent["zero"], int)
    assert isinstance(sent["fraction"], float)


def test_a_value_beyond_two_to_the_53_is_the_double_the_caller_built() -> None:
    # A client building the Value from the number 9007199254740993 already holds the double
    # 9007199254740992 (the documented limit): that integer is what goes out, as an integer.
    value = struct_pb2.Value(number_value=9007199254740993)
    assert to_json(value) == 9007199254740992
    assert json.dumps(to_json(value)) == "9007199254740992"
    assert to_json(struct_pb2.Value(number_value=-0.0)) == 0
    assert to_json(struct_pb2.Value(number_value=0.1)) == 0.1
