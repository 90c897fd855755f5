"""Stored webhook events → `voicesvc.v1.Event` messages, parsed once and shared by every stream.

The typed payload member is found generically: the member of `Event.payload` named like the event type
with dots turned into underscores (`call.recording.saved` → `call_recording_saved`). Types without a
member still carry the verified `data` object in `raw`. Malformed values (a timestamp that does not
parse, a payload of the wrong shape) leave the affected field unset instead of failing the stream, and an
event that cannot be converted at all (something ingress would refuse today, stored by an older version)
is delivered with its identity only: one event never ends a stream.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import structlog
from google.protobuf import timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor

from voicesvc.events import relayable
from voicesvc.events.log import StoredEvent
from voicesvc.transcode import descriptors, wire
from voicesvc.v1 import events_pb2

__all__ = ["CORRELATION_FIELDS", "EventConverter", "payload_member", "to_event"]

logger = structlog.get_logger("voicesvc.events")

CORRELATION_FIELDS = ("call_control_id", "call_leg_id", "call_session_id", "connection_id", "client_state")
"""Payload keys lifted onto `Event` itself, where filters and clients find them without the payload."""

_PAYLOAD_MEMBERS: dict[str, FieldDescriptor] = {
    f.name: f for f in events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields
}


def payload_member(event_type: str) -> FieldDescriptor | None:
    """The `Event.payload` member holding the typed payload of `event_type`, or None if not modelled."""
    return _PAYLOAD_MEMBERS.get(event_type.replace(".", "_"))


def _timestamp(value: Any) -> timestamp_pb2.Timestamp | None:
    """An RFC 3339 date-time as a Timestamp; None when absent or unparseable (naive times are UTC)."""
    if not isinstance(value, str) or not value:
        return None
    stamp = timestamp_pb2.Timestamp()
    try:
        stamp.FromJsonString(value)
        return stamp
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        stamp.FromDatetime(parsed)
    except (ValueError, OverflowError):
        return None
    return stamp


def _set_unix_time(stamp: timestamp_pb2.Timestamp, unix_time: float) -> None:
    # Split before scaling: a float cannot hold today's time in nanoseconds exactly.
    seconds = math.floor(unix_time)
    nanos = min(round((unix_time - seconds) * 1e9), 999_999_999)
    stamp.seconds, stamp.nanos = seconds, nanos


def _data_object(raw: bytes) -> dict[str, Any]:
    """The envelope's `data` object (ingress only stores bodies that have one; anything else is empty)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def to_event(stored: StoredEvent, into: events_pb2.Event | None = None) -> events_pb2.Event:
    """The contract message of one stored event (filled into `into` when given)."""
    event = into if into is not None else events_pb2.Event()
    _identify(event, stored)
    data = _data_object(stored.raw)
    if relayable.problem_in(stored.raw, data):
        # Ingress refuses such bodies; one stored before it did is delivered with its identity only.
        return event
    for name in ("occurred_at", "created_at"):
        stamp = _timestamp(data.get(name))
        if stamp is not None:
            getattr(event, name).CopyFrom(stamp)
    payload = data.get("payload")
    if isinstance(payload, dict):
        for name in CORRELATION_FIELDS:
            value = payload.get(name)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):  # a string protobuf refuses (unpaired surrogate)
                    setattr(event, name, value)
    # Anything protobuf cannot hold (numbers beyond a double, runaway nesting, unpaired surrogates) leaves
    # that part empty rather than failing: ingress refuses such bodies, but the log may predate that.
    try:
        event.raw.update(data)
    except Exception:  # noqa: BLE001 - protobuf raises several types for values it cannot hold
        event.raw.Clear()
    member = payload_member(stored.event_type)
    if member is not None and isinstance(payload, dict):
        typed = getattr(event, member.name)
        try:
            wire.from_json(descriptors.message_type(member), payload, into=typed)
        except Exception:  # noqa: BLE001 - a payload the typed message cannot hold stays only in `raw`
            typed.Clear()
        typed.SetInParent()
    return event


def _identify(event: events_pb2.Event, stored: StoredEvent) -> None:
    """The fields every delivered event has, whatever its body holds."""
    event.cursor = stored.cursor
    event.id = stored.event_id
    event.event_type = stored.event_type
    event.attempt = min(stored.attempt, 2**31 - 1)
    _set_unix_time(event.received_at, stored.received_at)


class EventConverter:
    """Converts stored events into stream responses, keeping the most recent `cache_size` of them.

    Many subscribers read the same events at about the same time, so each event is parsed once and the
    same response object is handed to every stream; callers must not modify what they get.
    """

    def __init__(self, cache_size: int = 2048) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self._size = cache_size
        self._cache: OrderedDict[str, events_pb2.WatchEventsResponse] = OrderedDict()
        self.conversions = 0
        """How many events were parsed (cache misses)."""

    def response(self, stored: StoredEvent) -> events_pb2.WatchEventsResponse:
        """The `WatchEventsResponse` carrying `stored` (shared; do not modify)."""
        cached = self._cache.get(stored.cursor)
        if cached is not None:
            self._cache.move_to_end(stored.cursor)
            return cached
        # Built in place: a nested message assigned through a constructor is copied by serialising it.
        response = events_pb2.WatchEventsResponse()
        try:
            to_event(stored, into=response.event)
            response.ByteSize()  # a message that cannot be serialised fails here, not in every stream
        except Exception:
            logger.exception("event_not_converted", event_id=stored.event_id, cursor=stored.cursor)
            response.Clear()
            _identify(response.event, stored)
        self.conversions += 1
        self._cache[stored.cursor] = response
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return response
