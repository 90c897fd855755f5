"""Valid requests for any RPC, derived from the descriptors, together with the JSON Telnyx must receive.

The expected JSON is built field by field next to the message (wire names from the contract), so a test
comparing it with what reached the sandbox does not depend on the encoder under test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from voicesvc.transcode import descriptors as d
from voicesvc.transcode.routes import Route
from voicesvc.transcode.validate import is_required

# Realistic values for required strings, by field name; anything else gets "<name>-value".
STRING_VALUES: dict[str, str] = {
    "from": "+15550100000",
    "to": "+15550100002",
    "to_string": "+15550100001",
    "sip_address": "sip:agent@example.com",
    "webhook_event_url": "https://example.com/hooks",
    "digits": "1234",
    "content_type": "application/json",
    "body": '{"hello":"world"}',
    "client_state": "aGVsbG8=",
    "voice": "female",
    "payload": "Hello from the test suite",
    "queue_name": "support",
    "application_name": "test-app",
    "connection_id": "conn-rpc-test",
    "conversation_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
}
STRUCT_VALUE = {"type": "object", "properties": {"age": {"type": "integer"}}}
_T = FieldDescriptor


@dataclass
class BuiltRequest:
    """A request message and what its REST request must carry."""

    message: Message
    path: str
    """Expected path below the API root, e.g. `/calls/abc/actions/speak`."""
    body: dict[str, Any] | None
    """Expected JSON body without `command_id` (None for body-less verbs)."""
    query: list[tuple[str, str]]


def _scalar(field: FieldDescriptor, overrides: Mapping[str, Any]) -> tuple[Any, Any]:
    """(proto value, JSON value) for a required scalar."""
    if field.name in overrides:
        value = overrides[field.name]
        return value, value
    if field.type == _T.TYPE_STRING:
        value = STRING_VALUES.get(field.name, f"{field.name}-value")
        return value, value
    if field.type == _T.TYPE_ENUM:
        number = next(v.number for v in field.enum_type.values if v.number != 0)
        return number, d.enum_maps(field.enum_type)[0][number]
    if field.type == _T.TYPE_BOOL:
        return True, True
    if field.type in (_T.TYPE_INT32, _T.TYPE_INT64, _T.TYPE_UINT32, _T.TYPE_UINT64):
        return 3, 3
    if field.type in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
        return 1.5, 1.5
    raise AssertionError(f"no sample value for {field.full_name}")


def fill_required(
    message: Message, overrides: Mapping[str, Any] = (), exclude: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Set every required field (and one member of every required union) of `message`; answer its JSON."""
    overrides = dict(overrides)
    desc = message.DESCRIPTOR
    out: dict[str, Any] = {}
    disc = d.discriminator(desc)
    if disc:
        out[disc[0]] = disc[1]
    chosen: set[str] = set()
    for field in desc.fields:
        if field.name in exclude:
            continue
        oneof = field.containing_oneof
        union = oneof is not None and d.is_union_oneof(oneof)
        if union:
            assert oneof is not None
            if oneof.name in chosen or not d.oneof_required(oneof):
                continue
            chosen.add(oneof.name)
            key = d.oneof_wire_name(oneof)
        elif is_required(field):
            key = d.wire_name(field)
        else:
            continue
        out[key] = _set(message, field, overrides)
    return out


def _set(message: Message, field: FieldDescriptor, overrides: Mapping[str, Any]) -> Any:
    if field.type == _T.TYPE_MESSAGE:
        if field.message_type.full_name == d.STRUCT:
            json_format.ParseDict(STRUCT_VALUE, getattr(message, field.name))
            return STRUCT_VALUE
        if field.is_repeated:
            return [fill_required(getattr(message, field.name).add(), overrides)]
        sub = getattr(message, field.name)
        sub.SetInParent()
        return fill_required(sub, overrides)
    value, wire = _scalar(field, overrides)
    if field.is_repeated:
        getattr(message, field.name).append(value)
        return [wire]
    setattr(message, field.name, value)
    return wire


def build_request(
    route: Route, path_ids: Mapping[str, str], overrides: Mapping[str, Any] = (), page_size: int = 2
) -> BuiltRequest:
    """A valid request for `route` with path parameters from `path_ids`."""
    message = route.request_cls()
    path = route.path_template
    for name in route.path_params:
        setattr(message, name, path_ids[name])
        path = path.replace("{" + name + "}", path_ids[name])
    expected = fill_required(message, overrides, exclude=frozenset(route.path_params))
    query: list[tuple[str, str]] = []
    if route.has_body:
        return BuiltRequest(message, path, expected, query)
    assert not expected or route.is_list, f"{route.rpc}: query parameters are not covered here"
    if route.is_list:
        message.page_size = page_size  # type: ignore[attr-defined]
        query.append(("page[size]", str(page_size)))
    return BuiltRequest(message, path, None, query)


def unary(channel: grpc.aio.Channel, route: Route) -> grpc.aio.UnaryUnaryMultiCallable:
    """A callable for `route` on `channel`, without the generated stub classes."""
    return channel.unary_unary(
        route.full_method,
        request_serializer=route.request_cls.SerializeToString,
        response_deserializer=route.response_cls.FromString,
    )
