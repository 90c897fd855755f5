"""Stored webhook events → `voicesvc.v1.Event` messages, parsed once and shared by every stream.

The typed payload member is found generically: the member of `Event.payload` named like the event type
with dots turned into underscores (`call.recording.saved` → `call_recording_saved`). Types without a
member still carry the verified `data` object in `raw`. Malformed values (a timestamp that does not
parse, a payload of the wrong shape) leave the affected field unset instead of failing the stream, and an
event that cannot be converted at all (something ingress would refuse today, stored by an older version)
is delivered with its identity only: one event never ends a stream. Nor does an event too large for a
client to receive (stored by an older version or by a replica with a larger bound): a message beyond
`relayable.MAX_DELIVERED_BYTES` goes out without `raw` and the typed payload. Every reduced event says what
was left out in `Event.reduction`.

Ingress bounds each webhook's stream message with `EventConverter.delivered_size` before storing it. The
message of a body of n bytes is at most `delivered_size_bound(n)` bytes (16 n + 1024, see there); a body whose
bound is within the limit is stored without conversion, and a stream converts it when it first delivers
it (once: the converter's cache shares the message among streams); keeping the parsed body for that
conversion was measured not to pay (bench/PROFILE.md). Only a body whose bound exceeds the limit is
converted at ingress, to measure the exact message the stream will deliver; that message is kept for the
stream, which does not convert the event again.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import structlog
from google.protobuf import timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor

from voicesvc import jsontext, rfc3339
from voicesvc.events import relayable
from voicesvc.events.log import StoredEvent, encode_cursor
from voicesvc.transcode import descriptors, wire
from voicesvc.v1 import events_pb2

__all__ = [
    "CORRELATION_FIELDS",
    "EventConverter",
    "delivered_size_bound",
    "payload_member",
    "reduce_to_fit",
    "to_event",
]

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
    fast = rfc3339.seconds_and_nanos(value)
    if fast is not None:
        stamp.seconds, stamp.nanos = fast
        return stamp
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
        body = jsontext.loads(raw)
    except ValueError:
        return {}
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def to_event(
    stored: StoredEvent, into: events_pb2.Event | None = None, *, data: dict[str, Any] | None = None
) -> events_pb2.Event:
    """The contract message of one stored event (filled into `into` when given).

    `data` is the body's `data` object when the caller has parsed the body already and found it relayable
    (ingress has); otherwise the body is parsed and checked here.
    """
    event = into if into is not None else events_pb2.Event()
    _identify(event, stored)
    if data is None:
        data = _data_object(stored.raw)
        problem = relayable.problem_in(stored.raw, data)
    else:
        problem = None
    if problem:
        # Ingress refuses such bodies; one stored before it did is delivered with its identity only.
        event.reduction = events_pb2.EVENT_REDUCTION_NOT_RELAYABLE
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


def reduce_to_fit(event: events_pb2.Event, limit: int = relayable.MAX_DELIVERED_BYTES) -> None:
    """Leave `raw` and the typed payload out of an event whose stream message would exceed `limit` bytes;
    if even that is too large (huge correlation ids), keep its identity only."""
    if _message_size(event) <= limit:
        return
    event.ClearField("raw")
    member = event.WhichOneof("payload")
    if member is not None:
        event.ClearField(member)
    event.reduction = events_pb2.EVENT_REDUCTION_TOO_LARGE
    if _message_size(event) > limit:
        identity = events_pb2.Event(
            cursor=event.cursor, id=event.id, event_type=event.event_type, attempt=event.attempt
        )
        identity.received_at.CopyFrom(event.received_at)
        identity.reduction = events_pb2.EVENT_REDUCTION_TOO_LARGE
        event.Clear()
        event.MergeFrom(identity)


def _message_size(event: events_pb2.Event) -> int:
    """Serialized size of the stream message carrying `event`: the event plus its field tag and length."""
    size = event.ByteSize()
    return size + 1 + _varint_size(size)


def _varint_size(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


_WIDEST_CURSOR = encode_cursor(2**64 - 1, 2**32 - 1)
"""Every cursor has this length; the widest stands in for the one an event is about to get."""

_WIDEST_FRACTION = 0.999
"""A fraction of a second whose nanoseconds take as many bytes as any (at least 2^28)."""

SIZE_PER_BODY_BYTE = 16
SIZE_OVERHEAD = 1024


def delivered_size_bound(body_bytes: int) -> int:
    """An upper bound of the serialized stream message of any event whose webhook body, accepted by
    ingress (`parse_json_object`: a relayable JSON object, nesting at most `relayable.MAX_DEPTH` levels),
    has `body_bytes` bytes: `SIZE_PER_BODY_BYTE * body_bytes + SIZE_OVERHEAD`.

    Why it holds, for a body of n bytes (UTF-8, -16 or -32, as `json.loads` reads them) and any value v of
    the body whose text takes N bytes. As a `google.protobuf.Value` inside its container (list entry or map
    entry: tag, length, the Value's own tag and length), v costs at most 6 N + 5 bytes, by induction over
    the nesting (every length prefix is at most 5 bytes, as n < 2^31):

    * a number is a double: 1 + 1 + 9 = 11 bytes for at least 1 byte of text, plus the 1-byte comma or
      bracket every element has: `[0,0,…]` and `[-1,-1,…]` are the worst, 5.5 bytes per byte;
    * `null`, `true`, `false`: 4 bytes for at least 4; a string: 2 tags, 2 lengths and its UTF-8 bytes, at
      most 1.5 times its text (a UTF-16 BMP character: 2 bytes of text, 3 of UTF-8; escapes only shrink);
    * a list or an object adds 2 tags and 2 lengths (at most 12 bytes) to its elements for 2 brackets and a
      separator per element; a map entry adds a tag, a length and its key, for a key of at least 2 bytes of
      text, a colon and a separator.

    So `raw` (the `data` object) is at most 6 n + 11 bytes with its own tag and length. The typed payload
    is decoded from `data.payload` with every JSON byte used at most once: a scalar field costs its tag (at
    most 2 bytes: field numbers are below 2048) and at most 10 bytes (a negative int32) for a key, colon
    and value of at least 5 bytes; nested messages, repeated messages and strings cost as above, `Struct`
    fields exactly as above; so at most 6 n + 13 bytes with the member's tag and length. Seven strings of
    the body are copied once more (`id`, `event_type` and the five `CORRELATION_FIELDS`): at most 1.5 n
    bytes plus 6 each. The rest is fixed: the cursor (`_WIDEST_CURSOR`, 2 + 21), three timestamps
    (19 each), `attempt` (6), `reduction` (2) and the response's tag and length (6). In all at most
    13.5 n + 149 bytes; the constants leave room to spare. `tests/test_event_size_bound.py` checks the
    bound against the exact size of adversarial bodies.
    """
    return SIZE_PER_BODY_BYTE * body_bytes + SIZE_OVERHEAD


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

    def __init__(
        self, cache_size: int = 2048, *, max_delivered_bytes: int = relayable.MAX_DELIVERED_BYTES
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self._size = cache_size
        self._limit = max_delivered_bytes
        self._cache: OrderedDict[str, events_pb2.WatchEventsResponse] = OrderedDict()
        # Messages built by `delivered_size` for events about to be appended, by event id, with their size.
        self._measured: OrderedDict[str, tuple[bytes, events_pb2.WatchEventsResponse, int]] = OrderedDict()
        self._measured_bytes = 0
        self.conversions = 0
        """How many events were parsed (cache misses)."""

    def response(self, stored: StoredEvent) -> events_pb2.WatchEventsResponse:
        """The `WatchEventsResponse` carrying `stored` (shared; do not modify)."""
        cached = self._cache.get(stored.cursor)
        if cached is not None:
            self._cache.move_to_end(stored.cursor)
            return cached
        response = self._measured_response(stored)
        if response is None:
            response = self._convert(stored)
            self.conversions += 1
        reduce_to_fit(response.event, self._limit)
        self._cache[stored.cursor] = response
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return response

    def delivered_size(
        self,
        raw: bytes,
        body: dict[str, Any],
        event_id: str,
        event_type: str,
        attempt: int,
        limit: int | None = None,
    ) -> int:
        """Serialized size of the complete stream message an event with these fields will be delivered as;
        with `limit`, that size or an upper bound of it that is at most `limit`.

        `body` is `raw` parsed, and found relayable (see `relayable`). When `delivered_size_bound` of the
        body's length is within `limit`, that bound is the answer and nothing is converted. Otherwise the
        size is measured on the real message (the widest cursor standing in for the one the log will
        assign), and the message is kept for the stream, which then does not convert the event again.
        """
        if limit is not None:
            bound = delivered_size_bound(len(raw))
            if bound <= limit:
                self._forget_measured(event_id)  # a copy measured earlier is not the one stored now
                return bound
        data = body.get("data")
        if not isinstance(data, dict):
            data = {}
        # The widest cursor and receive time (nanoseconds as a 5-byte varint) stand in for the ones the log
        # will assign, so the size never depends on the moment it is measured.
        received_at = math.floor(time.time()) + _WIDEST_FRACTION
        stand_in = StoredEvent(0, _WIDEST_CURSOR, event_id, event_type, received_at, attempt, bytes(raw))
        response = self._convert(stand_in, data)
        self.conversions += 1
        size = response.ByteSize()
        self._forget_measured(event_id)
        if size <= _MEASURED_BUDGET:
            self._measured[event_id] = (stand_in.raw, response, size)
            self._measured_bytes += size
            while self._measured_bytes > _MEASURED_BUDGET or len(self._measured) > _MEASURED_KEPT:
                self._forget_measured(next(iter(self._measured)))
        return size

    def _forget_measured(self, event_id: str) -> tuple[bytes, events_pb2.WatchEventsResponse, int] | None:
        measured = self._measured.pop(event_id, None)
        if measured is not None:
            self._measured_bytes -= measured[2]
        return measured

    def _measured_response(self, stored: StoredEvent) -> events_pb2.WatchEventsResponse | None:
        measured = self._forget_measured(stored.event_id)
        if measured is None or measured[0] != stored.raw:
            return None
        response = measured[1]
        # Only the identity differs from a fresh conversion (the cursor and time the log assigned).
        _identify(response.event, stored)
        return response

    def _convert(
        self, stored: StoredEvent, data: dict[str, Any] | None = None
    ) -> events_pb2.WatchEventsResponse:
        # Built in place: a nested message assigned through a constructor is copied by serialising it.
        response = events_pb2.WatchEventsResponse()
        try:
            to_event(stored, into=response.event, data=data)
            response.ByteSize()  # a message that cannot be serialised fails here, not in every stream
        except Exception:
            logger.exception("event_not_converted", event_id=stored.event_id, cursor=stored.cursor)
            response.Clear()
            _identify(response.event, stored)
            response.event.reduction = events_pb2.EVENT_REDUCTION_NOT_CONVERTIBLE
        return response


_MEASURED_KEPT = 256
"""Measured messages kept for the stream: far more than the webhooks one process has in flight at once."""
_MEASURED_BUDGET = 16 << 20
"""Bytes of measured messages kept at most (the oldest are dropped first; the stream converts those)."""
