"""Finding 4: bytes that are not the method's request message get INVALID_ARGUMENT (after authentication:
without a valid token, UNAUTHENTICATED), one warning line without a traceback, an access-log line and a
count in `/metrics`, on every service (the contract's, EventStream, health, reflection)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from grpc_status import rpc_status
from prometheus_client.parser import text_string_to_metric_families

from tests.support.logs import captured_logs
from tests.support.stack import Stack, start_stack

TOKEN = "token-undecodable-1"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
GET_STATUS = "/voicesvc.v1.CallControl/GetCallStatus"
GATHER_AI = "/voicesvc.v1.CallControl/GatherUsingAi"
WATCH = "/voicesvc.v1.EventStream/WatchEvents"
HEALTH = "/grpc.health.v1.Health/Check"
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


def _length_delimited(field: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (lengths below 2**14 here)."""
    size = len(payload)
    varint = bytes([size]) if size < 0x80 else bytes([(size & 0x7F) | 0x80, size >> 7])
    return bytes([(field << 3) | 2]) + varint + payload


def _nested_struct(depth: int) -> bytes:
    """A `google.protobuf.Struct` `{"a": {"a": … {}}}` nested `depth` deep, encoded by hand (the protobuf
    runtime refuses to build one this deep)."""
    struct = b""
    for _ in range(depth - 1):
        value = _length_delimited(5, struct)  # Value.struct_value
        entry = _length_delimited(1, b"a") + _length_delimited(2, value)  # map entry: key, value
        struct = _length_delimited(1, entry)  # Struct.fields
    return struct


UNDECODABLE: dict[str, tuple[str, bytes]] = {
    "corrupt_wire_format": (GET_STATUS, b"\xff\xff\xff\xff"),
    "invalid_utf8_in_a_string": (GET_STATUS, _length_delimited(1, b"v3:\xff\xfe")),
    # 34 objects nested under the top one: beyond protobuf's decoding depth (100 messages, 3 per level).
    "struct_nested_34_deep": (
        GATHER_AI,
        _length_delimited(1, b"v3:leg") + _length_delimited(2, _nested_struct(35)),
    ),
}


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    with captured_logs(logging.INFO, [TOKEN]) as buffer:
        yield buffer


@pytest.fixture
async def secured() -> AsyncIterator[Stack]:
    async with start_stack(auth__tokens=(TOKEN,)) as stack:
        yield stack


async def _unary(
    stack: Stack, method: str, raw: bytes, metadata: tuple[tuple[str, str], ...]
) -> grpc.aio.AioRpcError:
    call = stack.channel.unary_unary(method)  # no serializers: the bytes go out as they are
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(raw, metadata=metadata, timeout=5)
    return caught.value


def _rpc_count(metrics_text: str, method: str, code: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "voicesvc_rpc_requests_total" and sample.labels == {
                "method": method,
                "code": code,
            }:
                return sample.value
    return 0.0


def _lines(logs: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in logs.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("case", list(UNDECODABLE))
async def test_an_undecodable_request_is_invalid_argument_logged_once_and_counted(
    secured: Stack, logs: io.StringIO, case: str
) -> None:
    method, raw = UNDECODABLE[case]

    refused = await _unary(secured, method, raw, AUTH)

    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    message_type = "voicesvc.v1." + method.rsplit("/", 1)[1] + "Request"
    assert (refused.details() or "").startswith(f"request is not a valid {message_type}: ")
    status = rpc_status.from_call(refused)
    assert status is not None
    assert [d.type_url.rsplit("/", 1)[1] for d in status.details] == ["google.rpc.ErrorInfo"]
    assert b"UNDECODABLE_REQUEST" in status.details[0].value
    assert secured.journal() == []  # nothing reached Telnyx

    lines = _lines(logs)
    warnings = [line for line in lines if line.get("event") == "undecodable_request"]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "warning"
    assert warnings[0]["message_type"] == message_type
    assert warnings[0]["rpc"] == method
    assert [line for line in lines if line.get("level") in ("error", "critical")] == []
    assert "Traceback" not in logs.getvalue()
    access = [line for line in lines if line.get("event") == "rpc" and line.get("rpc") == method]
    assert [line["code"] for line in access] == ["INVALID_ARGUMENT"]
    _, metrics = await secured.get("/metrics")
    assert _rpc_count(metrics, method, "INVALID_ARGUMENT") == 1
    assert _rpc_count(metrics, method, "UNKNOWN") == 0


@pytest.mark.parametrize("case", list(UNDECODABLE))
async def test_without_a_valid_token_an_undecodable_request_is_unauthenticated(
    secured: Stack, logs: io.StringIO, case: str
) -> None:
    method, raw = UNDECODABLE[case]
    for metadata in ((), (("authorization", "Bearer wrong-token-1"),)):
        refused = await _unary(secured, method, raw, metadata)
        assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
    # Refused before decoding: no warning about the bytes.
    assert [line for line in _lines(logs) if line.get("event") == "undecodable_request"] == []
    _, metrics = await secured.get("/metrics")
    assert _rpc_count(metrics, method, "UNAUTHENTICATED") == 2


async def test_every_kind_of_service_refuses_undecodable_bytes_with_invalid_argument(
    secured: Stack, logs: io.StringIO
) -> None:
    garbage = b"\xff\xff\xff\xff"
    # Server streaming (EventStream): the request is decoded before the first event.
    watch = secured.channel.unary_stream(WATCH)(garbage, metadata=AUTH, timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in watch:
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Health is open without a token, and decodes like the rest.
    health = await _unary(secured, HEALTH, garbage, ())
    assert health.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Bidirectional streaming (reflection): a message in the stream that cannot be decoded ends it.
    reflection = secured.channel.stream_stream(REFLECTION)(iter([garbage]), metadata=AUTH, timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in reflection:
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    warnings = [line for line in _lines(logs) if line.get("event") == "undecodable_request"]
    assert [line["rpc"] for line in warnings] == [WATCH, HEALTH, REFLECTION]
    assert "Traceback" not in logs.getvalue()
    _, metrics = await secured.get("/metrics")
    for method in (WATCH, HEALTH, REFLECTION):
        assert _rpc_count(metrics, method, "INVALID_ARGUMENT") == 1, method
