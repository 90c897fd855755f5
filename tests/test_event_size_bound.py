"""The bound ingress trusts instead of converting a webhook: no accepted body's message is larger.

`delivered_size_bound(len(body))` must be at least the exact size of the stream message of every body
ingress accepts. The bodies here are the worst shapes for it: arrays of `0` and `-1` (a double or a
10-byte varint for two bytes of text), objects of one-letter keys, nesting to the deepest level accepted,
every field of every typed payload set to its costliest value (so the payload is held twice: in `raw` and
typed), the correlation ids copied onto the event, and UTF-16 bodies whose characters take more bytes as
UTF-8 than in the body; then seeded random mixtures of them. Near the limit the exact size decides.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, OneofDescriptor

from tests.support.events import Watcher
from tests.test_event_size import service
from voicesvc.events import StoredEvent
from voicesvc.events.relayable import MAX_DEPTH
from voicesvc.server.event_convert import CORRELATION_FIELDS, EventConverter, delivered_size_bound
from voicesvc.transcode import descriptors
from voicesvc.v1 import events_pb2
from voicesvc.webhooks.verify import parse_json_object

_T = FieldDescriptor
PAYLOAD_DEPTH = MAX_DEPTH - 3
"""Levels of objects and arrays left for a value inside `data.payload` (the body, `data` and `payload`
take three)."""


def _shortest_enum_value(field: FieldDescriptor) -> str:
    names = [name for name, number in descriptors.enum_maps(field.enum_type)[1].items() if number]
    return min(names, key=len)


def _zeros(count: int) -> list[int]:
    return [0] * count


def _nested(depth: int, leaf: Any) -> Any:
    """`[[…[leaf]…]]`, `depth` arrays deep."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def _costliest(field: FieldDescriptor, depth: int, width: int) -> Any:
    """The JSON value of `field` that costs the most protobuf bytes per byte of text, nesting at most
    `depth` levels of objects and arrays (itself included)."""
    if descriptors.is_repeated(field):
        if depth < 1:
            return []
        return [_costliest_single(field, depth - 1, width) for _ in range(width)]
    return _costliest_single(field, depth, width)


def _costliest_single(field: FieldDescriptor, depth: int, width: int) -> Any:
    if field.type == _T.TYPE_MESSAGE:
        message = descriptors.message_type(field)
        if depth < 2:
            return {}
        if message.full_name == "google.protobuf.Struct":
            return {"a": _zeros(width), "b": _nested(depth - 1, -1)}
        return costliest_object(message, depth, width)
    if field.type == _T.TYPE_ENUM:
        return _shortest_enum_value(field)
    if field.type in (_T.TYPE_INT32, _T.TYPE_INT64):
        return -1
    if field.type in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
        return 0
    if field.type == _T.TYPE_BOOL:
        return True
    return ""


def costliest_object(message: Descriptor, depth: int = PAYLOAD_DEPTH + 1, width: int = 8) -> dict[str, Any]:
    """Every field of `message` set to its costliest value (a union to its first variant), nesting at
    most `depth` levels (the object included)."""
    out: dict[str, Any] = {}
    for key, target in descriptors.fields_by_wire_name(message).items():
        field = target.fields[0] if isinstance(target, OneofDescriptor) else target
        out[key] = _costliest(field, depth - 1, width)
    disc = descriptors.discriminator(message)
    if disc is not None:
        out[disc[0]] = disc[1]
    return out


def payload_types() -> list[tuple[str, Descriptor]]:
    """(event type, typed payload message) of every modelled event type."""
    members = events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields
    return [(member.name.replace("_", "."), descriptors.message_type(member)) for member in members]


def envelope(event_type: str, payload: Any, *, event_id: str = "e", **data: Any) -> dict[str, Any]:
    """A webhook body holding `payload`."""
    return {
        "data": {"id": event_id, "event_type": event_type, "payload": payload, **data},
        "meta": {"attempt": -1},
    }


def encodings(body: dict[str, Any]) -> Iterator[bytes]:
    """The body as compact UTF-8 (no spaces: the fewest bytes of text) and as UTF-16."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    yield text.encode("utf-8")
    yield text.encode("utf-16-le")


def exact_size(raw: bytes) -> int:
    """The exact size of the stream message ingress would store `raw` as."""
    body = parse_json_object(raw)  # ingress accepts it
    data = body["data"]
    return EventConverter().delivered_size(raw, body, data["id"], data["event_type"], 1)


def worst_bodies() -> Iterator[tuple[str, dict[str, Any]]]:
    """The hand-picked worst shapes, each named."""
    for count in (1, 2, 100, 5000):
        yield f"{count} zeros", envelope("call.answered", {"x": _zeros(count)})
        yield f"{count} minus ones", envelope("call.answered", {"x": [-1] * count})
        yield (
            f"{count} one-letter keys",
            envelope("call.answered", {chr(0x61 + i % 26) * (1 + i // 26): 0 for i in range(count)}),
        )
    yield "deepest arrays", envelope("call.answered", {"x": [_nested(PAYLOAD_DEPTH - 1, 0)] * 300})
    deep_objects: Any = 0
    for _ in range(PAYLOAD_DEPTH - 1):
        deep_objects = {"": deep_objects}
    yield "deepest objects", envelope("call.answered", {"x": [deep_objects] * 300})
    yield "empty containers", envelope("call.answered", {"x": [[], {}, None, True, ""] * 500})
    wide = "\uffff" * 2000  # 2 bytes in UTF-16, 3 in UTF-8
    ids = dict.fromkeys(CORRELATION_FIELDS, wide)
    yield "wide correlation ids", envelope("call.answered", ids, event_id="e" + wide, record_type=wide)
    yield "escapes", envelope("call.answered", {"x": ['\u0000\n"\\'] * 500, "y": "\U0001f600" * 500})
    for event_type, message in payload_types():
        for key, target in descriptors.fields_by_wire_name(message).items():
            message_type = target.message_type if isinstance(target, FieldDescriptor) else None
            if message_type is not None and message_type.full_name == "google.protobuf.Struct":
                # Held twice, in `raw` and typed: 11 bytes of each `0,` in both.
                yield f"{event_type}, zeros in {key}", envelope(event_type, {key: {"z": _zeros(5000)}})
        for width in (1, 8, 40):
            payload = costliest_object(message, width=width)
            yield f"{event_type}, every field, width {width}", envelope(event_type, payload)
            yield f"{event_type}, with ids", envelope(event_type, {**payload, **ids})


def _random_value(rng: random.Random, depth: int, budget: list[int]) -> Any:
    """A random JSON value of the costliest tokens, nesting at most `depth` levels; every value takes one
    from `budget[0]`, and containers stay empty once it is spent."""
    budget[0] -= 1
    roll = rng.random()
    if depth >= 1 and roll < 0.25:
        count = rng.randint(0, 12) if budget[0] > 0 else 0
        return [_random_value(rng, depth - 1, budget) for _ in range(count)]
    if depth >= 1 and roll < 0.4:
        count = rng.randint(0, 6) if budget[0] > 0 else 0
        keys = {rng.choice("abc") * rng.randint(0, 3) for _ in range(count)}
        return {key: _random_value(rng, depth - 1, budget) for key in keys}
    return rng.choice([0, -1, 0, -1, 1e300, -(2**53), None, True, "", "\uffff", "\\", 7])


def random_bodies(count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Seeded mixtures: a costliest payload with random subtrees under its keys and unknown ones."""
    rng = random.Random(20240601)
    types = payload_types()
    for index in range(count):
        event_type, message = rng.choice(types)
        payload = costliest_object(message, width=rng.randint(1, 20))
        for key in rng.sample(sorted(payload), k=min(len(payload), rng.randint(0, 3))):
            payload[key] = _random_value(rng, PAYLOAD_DEPTH, [300])
        payload["x" * rng.randint(1, 3)] = _random_value(rng, PAYLOAD_DEPTH, [300])
        yield f"random {index} ({event_type})", envelope(event_type, payload)


def test_the_bound_holds_for_the_worst_bodies_ingress_accepts() -> None:
    worst_ratio = 0.0
    checked = 0
    for name, body in [*worst_bodies(), *random_bodies(300)]:
        for raw in encodings(body):
            size = exact_size(raw)
            assert size <= delivered_size_bound(len(raw)), (name, len(raw), size)
            worst_ratio = max(worst_ratio, size / len(raw))
            checked += 1
    assert checked > 1000
    # The shapes reach close to what the bound allows: it is not far looser than the worst case.
    assert worst_ratio > 10


def test_the_typed_payload_generator_fills_every_field() -> None:
    # The costliest payloads exercise every field of every typed payload (else a field's cost goes unchecked).
    for event_type, message in payload_types():
        raw = json.dumps(envelope(event_type, costliest_object(message))).encode()
        stored = StoredEvent(1, "c", "e", event_type, time.time(), 1, raw)
        typed = getattr(EventConverter().response(stored).event, event_type.replace(".", "_"))
        present = {f.name for f, _ in typed.ListFields()}
        expected = {
            f.name for f in message.fields if not f.containing_oneof or f is f.containing_oneof.fields[0]
        }
        assert present == expected, event_type


def test_a_bounded_event_is_converted_once_by_the_stream() -> None:
    converter = EventConverter()
    raw = json.dumps(
        envelope("call.hangup", {"call_control_id": "v3:k", "hangup_cause": "normal_clearing"})
    ).encode()
    body = parse_json_object(raw)
    size = converter.delivered_size(raw, body, "e", "call.hangup", 1, 3 << 20)
    assert size == delivered_size_bound(len(raw))
    assert converter.conversions == 0  # bounded, not converted
    stored = StoredEvent(4, "0" * 21, "e", "call.hangup", time.time(), 1, raw)
    delivered = converter.response(stored)
    assert converter.conversions == 1
    assert delivered.SerializeToString() == EventConverter().response(stored).SerializeToString()
    assert converter.response(stored) is delivered  # every later stream shares it
    assert converter.conversions == 1


def _padded(length: int) -> bytes:
    return json.dumps(envelope("call.answered", {"call_control_id": "v3:n", "pad": "p" * length})).encode()


def _body_of_exact_size(target: int) -> bytes:
    """A body whose exact stream message is `target` bytes, padded by a string only `raw` holds (each
    character of it one byte of the message, but where a length prefix grows)."""
    length = max(target - exact_size(_padded(0)) - 64, 0)
    while exact_size(_padded(length)) < target:
        length += 1
    raw = _padded(length)
    assert exact_size(raw) == target
    return raw


@pytest.mark.parametrize("limit", [3000, 20_000])
async def test_near_the_limit_the_exact_size_decides(limit: int) -> None:
    at_limit, over = _body_of_exact_size(limit), _body_of_exact_size(limit + 1)
    assert delivered_size_bound(len(over)) > limit  # the bound alone could not tell
    async with service(**{"webhooks.max_event_bytes": limit}) as (_, channel, poster):
        watcher = await Watcher.open(channel, oldest=True)
        status, answer = await poster.post_signed(over)
        assert (status, answer["error"]["reason"]) == (413, "event_too_large")
        assert f"as a {limit + 1}-byte message; at most {limit} bytes" in answer["error"]["message"]
        status, answer = await poster.post_signed(at_limit)
        assert status == 200, answer
        event = await watcher.event()  # only the one that fits was stored
        assert event.id == "e"
        assert events_pb2.WatchEventsResponse(event=event).ByteSize() <= limit
        watcher.cancel()


async def test_a_small_body_is_stored_unconverted_and_streamed_whole() -> None:
    async with service() as (svc, channel, poster):
        payload = {"call_control_id": "v3:s", "client_state": "c3RhdGU=", "x": [0, -1, {"a": None}]}
        raw = json.dumps(envelope("call.answered", payload, event_id="s")).encode()
        status, answer = await poster.post_signed(raw)
        assert status == 200, answer
        assert svc.converter.conversions == 0  # ingress only bounded it
        watcher = await Watcher.open(channel, oldest=True)
        event = await watcher.event()
        assert svc.converter.conversions == 1  # the stream converted it, once
        assert (event.id, event.call_control_id, event.client_state) == ("s", "v3:s", "c3RhdGU=")
        assert event.call_answered.call_control_id == "v3:s"
        values = event.raw.fields["payload"].struct_value.fields["x"].list_value.values
        assert [value.WhichOneof("kind") for value in values] == [
            "number_value",
            "number_value",
            "struct_value",
        ]
        assert values[1].number_value == -1
        watcher.cancel()


def test_the_premises_of_the_bound_hold_for_the_contract() -> None:
    # `delivered_size_bound` counts at most 2 bytes per tag (field numbers below 2048) and 7 copied strings.
    seen: set[str] = set()
    pending = [events_pb2.WatchEventsResponse.DESCRIPTOR]
    while pending:
        message = pending.pop()
        if message.full_name in seen or message.full_name.startswith("google.protobuf."):
            continue
        seen.add(message.full_name)
        for field in message.fields:
            assert field.number < 2048, (message.full_name, field.name)
            if field.message_type is not None:
                pending.append(field.message_type)
    assert len(seen) > 40
    assert len(CORRELATION_FIELDS) + 2 == 7
