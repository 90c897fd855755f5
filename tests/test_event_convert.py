"""Stored events → `voicesvc.v1.Event`: every reference event type arrives typed with every payload field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format, timestamp_pb2

from tests.support.reference import reference, sample
from voicesvc.events.log import StoredEvent
from voicesvc.server.event_convert import EventConverter, payload_member, to_event
from voicesvc.transcode import wire

EVENT_TYPES = [e["event_type"] for e in reference()["webhook_events"]]


def stored(data: dict[str, Any], seq: int = 1, attempt: int = 1) -> StoredEvent:
    raw = json.dumps({"data": data, "meta": {"attempt": attempt}}).encode()
    return StoredEvent(
        seq,
        f"cursor-{seq}",
        str(data.get("id", "id")),
        str(data["event_type"]),
        1_700_000_000.25,
        attempt,
        raw,
    )


def test_the_reference_has_43_event_types() -> None:
    assert len(set(EVENT_TYPES)) == 43


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_reference_event_type_converts_typed_with_every_payload_field(event_type: str) -> None:
    schema = next(e for e in reference()["webhook_events"] if e["event_type"] == event_type)["data"]
    data = sample(schema)
    data["event_type"] = event_type
    data["occurred_at"] = "2024-05-01T10:00:00.250Z"
    event = to_event(stored(data))

    member = payload_member(event_type)
    assert member is not None
    assert event.WhichOneof("payload") == member.name
    assert wire.to_json(getattr(event, member.name)) == data["payload"]
    assert event.event_type == event_type
    assert event.occurred_at.ToJsonString() == "2024-05-01T10:00:00.250Z"
    assert event.received_at.ToJsonString() == "2023-11-14T22:13:20.250Z"
    payload = data["payload"]
    for name in ("call_control_id", "call_leg_id", "call_session_id", "connection_id", "client_state"):
        assert getattr(event, name) == payload.get(name, "")
    assert json_format.MessageToDict(event.raw) == data


def test_unknown_types_and_bad_values_keep_the_raw_data() -> None:
    data = {
        "id": "e-1",
        "event_type": "call.teleported",
        "occurred_at": "yesterday",
        "created_at": "2024-05-01 10:00:00",
        "payload": {"call_control_id": 42, "portal": "x"},
    }
    event = to_event(stored(data))
    assert event.WhichOneof("payload") is None
    assert not event.HasField("occurred_at")
    assert event.created_at.ToJsonString() == "2024-05-01T10:00:00Z"
    assert event.call_control_id == ""
    assert event.raw["payload"]["portal"] == "x"  # type: ignore[index]

    typed = to_event(stored({"id": "e-2", "event_type": "call.hangup", "payload": {"hangup_cause": 7}}))
    assert typed.WhichOneof("payload") == "call_hangup"


def envelope(event_type: str, payload: bytes) -> bytes:
    return b'{"data": {"id": "p", "event_type": "' + event_type.encode() + b'", "payload": ' + payload + b"}}"


POISON = {
    # Bodies ingress refuses now, as an event log written before that could still hold them.
    "nested_40_deep": envelope("call.answered", b'{"x": ' + b"[" * 40 + b"]" * 40 + b"}"),
    "integer_beyond_a_double": envelope("call.answered", b'{"x": ' + b"9" * 400 + b"}"),
    "unpaired_surrogate": envelope("call.answered", b'{"call_control_id": "v3:\\ud800", "from": "\\ud800"}'),
    "struct_nested_60_deep": envelope(
        "call.ai_gather.ended", b'{"result": ' + b'{"a": ' * 60 + b"1" + b"}" * 61
    ),
}


@pytest.mark.parametrize("raw", list(POISON.values()), ids=list(POISON))
def test_an_event_protobuf_cannot_carry_is_delivered_with_its_identity(raw: bytes) -> None:
    event_type = json.loads(raw)["data"]["event_type"]
    poison = StoredEvent(9, "cursor-9", "p", event_type, 1_700_000_000.0, 1, raw)
    response = EventConverter().response(poison)
    parsed = type(response).FromString(response.SerializeToString())  # what a subscriber decodes
    assert (parsed.event.id, parsed.event.cursor, parsed.event.event_type) == ("p", "cursor-9", event_type)
    assert not parsed.event.raw.fields


def test_the_converter_parses_each_event_once_and_shares_the_response() -> None:
    converter = EventConverter(cache_size=2)
    first = stored({"id": "a", "event_type": "call.answered", "payload": {}}, seq=1)
    second = stored({"id": "b", "event_type": "call.answered", "payload": {}}, seq=2)
    third = stored({"id": "c", "event_type": "call.answered", "payload": {}}, seq=3)
    response = converter.response(first)
    assert converter.response(first) is response
    converter.response(second)
    converter.response(third)  # evicts the least recently used: `first`
    assert converter.conversions == 3
    assert converter.response(first).event.id == "a"
    assert converter.conversions == 4


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T00:00:00.000000Z",
        "2018-02-02T22:25:27.521992Z",
        "2018-02-02T22:25:27Z",
        "2018-02-02T22:25:27.5+02:00",
        "1969-12-31T23:59:59.999999-05:30",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "2018-02-02T22:25:27.123456789Z",
    ],
)
def test_timestamps_parse_to_the_instant_protobuf_reads(value: str) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromJsonString(value)
    event = to_event(stored({"id": "t", "event_type": "call.answered", "occurred_at": value, "payload": {}}))
    assert (event.occurred_at.seconds, event.occurred_at.nanos) == (expected.seconds, expected.nanos)
