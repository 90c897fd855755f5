"""The call state machine: one webhook event folded into one call's state, deterministically.

`apply(record, event)` returns the call's next record, or None when the event changes nothing. The rules
make the result depend on the events, not on the order Telnyx delivered them in:

* a state only moves forward: INITIATED → ANSWERED | BRIDGED | QUEUED → ENDED. Between the middle states
  the event that occurred last (`occurred_at`) wins; ENDED is final and reached once;
* each media operation kind (playback, speak, …), the hold flag and the client state follow the event of
  their kind that occurred last, so a late `call.speak.started` after its `call.speak.ended` does not
  restart the speech;
* a repeated event (the same event id, or the same type and `occurred_at`) changes nothing at all;
* after the call ended, events still count (`event_count`, the last event), but change nothing else.

Records are never modified in place: a change copies the record, so a published `Call` can be shared by
every reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from google.protobuf import timestamp_pb2

from voicesvc import jsontext, rfc3339
from voicesvc.events.log import StoredEvent
from voicesvc.transcode.descriptors import enum_maps
from voicesvc.v1 import calls_pb2, events_pb2

__all__ = ["CallEvent", "CallRecord", "apply", "parse_event"]

_RANK: dict[int, int] = {
    calls_pb2.CALL_STATE_UNSPECIFIED: 0,
    calls_pb2.CALL_STATE_INITIATED: 1,
    calls_pb2.CALL_STATE_ANSWERED: 2,
    calls_pb2.CALL_STATE_BRIDGED: 2,
    calls_pb2.CALL_STATE_QUEUED: 2,
    calls_pb2.CALL_STATE_ENDED: 3,
}

_STATE_OF: dict[str, int] = {
    "call.initiated": calls_pb2.CALL_STATE_INITIATED,
    "call.answered": calls_pb2.CALL_STATE_ANSWERED,
    "call.dequeued": calls_pb2.CALL_STATE_ANSWERED,
    "call.bridged": calls_pb2.CALL_STATE_BRIDGED,
    "call.enqueued": calls_pb2.CALL_STATE_QUEUED,
    "call.hangup": calls_pb2.CALL_STATE_ENDED,
}

# Media operations: the event types that show one running and those that end it, per kind.
_MEDIA_START: dict[str, int] = {
    "call.playback.started": calls_pb2.MEDIA_KIND_PLAYBACK,
    "call.speak.started": calls_pb2.MEDIA_KIND_SPEAK,
    "call.fork.started": calls_pb2.MEDIA_KIND_FORK,
    "streaming.started": calls_pb2.MEDIA_KIND_STREAMING,
    "siprec.started": calls_pb2.MEDIA_KIND_SIPREC,
    "call.transcription": calls_pb2.MEDIA_KIND_TRANSCRIPTION,
    "call.ai_gather.partial_results": calls_pb2.MEDIA_KIND_AI_GATHER,
    "call.ai_gather.message_history_updated": calls_pb2.MEDIA_KIND_AI_GATHER,
    "call.payment.progress": calls_pb2.MEDIA_KIND_PAYMENT,
}
_MEDIA_END: dict[str, int] = {
    "call.playback.ended": calls_pb2.MEDIA_KIND_PLAYBACK,
    "call.speak.ended": calls_pb2.MEDIA_KIND_SPEAK,
    "call.fork.stopped": calls_pb2.MEDIA_KIND_FORK,
    "streaming.stopped": calls_pb2.MEDIA_KIND_STREAMING,
    "streaming.failed": calls_pb2.MEDIA_KIND_STREAMING,
    "siprec.stopped": calls_pb2.MEDIA_KIND_SIPREC,
    "siprec.failed": calls_pb2.MEDIA_KIND_SIPREC,
    "call.ai_gather.ended": calls_pb2.MEDIA_KIND_AI_GATHER,
    "call.payment.completed": calls_pb2.MEDIA_KIND_PAYMENT,
}
_MEDIA_DETAIL = ("media_url", "media_name", "stream_url", "stream_type")

_HANGUP_CAUSES = enum_maps(events_pb2.HangupCause.DESCRIPTOR)[1]
_HANGUP_SOURCES = enum_maps(events_pb2.HangupSource.DESCRIPTOR)[1]
_DIRECTIONS = {"incoming": calls_pb2.CALL_DIRECTION_INCOMING, "outgoing": calls_pb2.CALL_DIRECTION_OUTGOING}

_SEEN_KEPT = 256
"""Repeat keys remembered per call: far more than the events of a typical call, so a late repeat of any of
its events is recognised, while a call with thousands of events stays bounded."""


def _nanos(value: object) -> int | None:
    """An RFC 3339 time as nanoseconds since the epoch; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    fast = rfc3339.seconds_and_nanos(value)
    if fast is not None:
        return fast[0] * 1_000_000_000 + fast[1]
    stamp = timestamp_pb2.Timestamp()
    try:
        stamp.FromJsonString(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp() * 1e9)
    return int(stamp.ToNanoseconds())


def _stamp(nanos: int) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(nanos)
    return stamp


@dataclass(frozen=True, slots=True)
class CallEvent:
    """The parts of one stored webhook event the projection reads."""

    seq: int
    cursor: str
    event_id: str
    event_type: str
    occurred_at: int
    """Nanoseconds since the epoch: the event's `occurred_at`, else the time it was stored."""
    received_at: float
    call_control_id: str
    call_leg_id: str
    payload: dict[str, Any]


def parse_event(stored: StoredEvent) -> CallEvent | None:
    """The call event of `stored`, or None for an event that names no call leg."""
    try:
        body = jsontext.loads(stored.raw)
    except ValueError:
        return None
    data = body.get("data") if isinstance(body, dict) else None
    payload = data.get("payload") if isinstance(data, dict) else None
    if not isinstance(payload, dict):
        return None
    call_control_id = payload.get("call_control_id")
    call_leg_id = payload.get("call_leg_id")
    call_control_id = call_control_id if isinstance(call_control_id, str) else ""
    call_leg_id = call_leg_id if isinstance(call_leg_id, str) else ""
    if not call_control_id and not call_leg_id:
        return None
    assert isinstance(data, dict)
    occurred = _nanos(data.get("occurred_at"))
    return CallEvent(
        seq=stored.seq,
        cursor=stored.cursor,
        event_id=stored.event_id,
        event_type=stored.event_type,
        occurred_at=occurred if occurred is not None else int(stored.received_at * 1e9),
        received_at=stored.received_at,
        call_control_id=call_control_id,
        call_leg_id=call_leg_id,
        payload=payload,
    )


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call's public state and the bookkeeping its rules need."""

    call: calls_pb2.Call
    seen: tuple[int, ...] = ()
    """Repeat keys of the events applied (hashes of the id and of type + occurred_at), newest last."""
    state_at: int = 0
    """`occurred_at` of the event that set the current state."""
    media_at: dict[int, int] = field(default_factory=dict)
    """Per media kind, `occurred_at` of the newest event of that kind applied."""
    hold_at: int = 0
    client_state_at: int = 0
    start_from_payload: bool = False
    ended_received_at: float = 0.0
    """When the event that ended the call was stored (the retention of ended calls counts from it)."""

    @property
    def ended(self) -> bool:
        """True once the call reached ENDED."""
        return self.call.state == calls_pb2.CALL_STATE_ENDED


def _keys(event: CallEvent) -> tuple[int, int]:
    return hash(("id", event.event_id)), hash((event.event_type, event.occurred_at))


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


def apply(record: CallRecord | None, event: CallEvent) -> CallRecord | None:
    """The record after `event`, or None when the event changes nothing (a repeat)."""
    keys = _keys(event)
    if record is not None and (keys[0] in record.seen or keys[1] in record.seen):
        return None
    call = calls_pb2.Call()
    if record is None:
        record = CallRecord(call)
    else:
        call.CopyFrom(record.call)
    seen = (*record.seen, *keys)[-_SEEN_KEPT:]
    changes: dict[str, Any] = {"call": call, "seen": seen}
    payload = event.payload
    occurred = event.occurred_at
    _identify(call, event)
    call.event_count += 1
    call.last_event_cursor = event.cursor
    call.last_event_type = event.event_type
    if occurred > call.last_event_time.ToNanoseconds():
        call.last_event_time.CopyFrom(_stamp(occurred))
    start = _nanos(payload.get("start_time"))
    if start is not None and not record.start_from_payload:
        call.start_time.CopyFrom(_stamp(start))
        changes["start_from_payload"] = True
    elif not record.start_from_payload and (
        not call.HasField("start_time") or occurred < call.start_time.ToNanoseconds()
    ):
        call.start_time.CopyFrom(_stamp(occurred))
    if event.event_type == "call.initiated" and not call.direction:
        call.direction = _DIRECTIONS.get(_text(payload, "direction"), calls_pb2.CALL_DIRECTION_UNSPECIFIED)
    if record.ended:
        return replace(record, **changes)
    client_state = _text(payload, "client_state")
    if client_state and occurred >= record.client_state_at:
        call.client_state = client_state
        changes["client_state_at"] = occurred
    _state(call, record, event, changes)
    if call.state == calls_pb2.CALL_STATE_ENDED:
        _end(call, event)
        changes["ended_received_at"] = event.received_at
        return replace(record, **changes)
    if event.event_type == "call.answered" and (
        not call.HasField("answer_time") or occurred < call.answer_time.ToNanoseconds()
    ):
        call.answer_time.CopyFrom(_stamp(occurred))
    if event.event_type in ("call.hold", "call.unhold") and occurred >= record.hold_at:
        call.on_hold = event.event_type == "call.hold"
        changes["hold_at"] = occurred
    _media(call, record, event, changes)
    return replace(record, **changes)


def _identify(call: calls_pb2.Call, event: CallEvent) -> None:
    payload = event.payload
    if event.call_control_id and not call.call_control_id:
        call.call_control_id = event.call_control_id
        call.name = f"calls/{event.call_control_id}"
    if event.call_leg_id and not call.call_leg_id:
        call.call_leg_id = event.call_leg_id
    for name in ("call_session_id", "connection_id", "from", "to"):
        value = _text(payload, name)
        if value and not getattr(call, name):
            setattr(call, name, value)


def _state(call: calls_pb2.Call, record: CallRecord, event: CallEvent, changes: dict[str, Any]) -> None:
    target = _STATE_OF.get(event.event_type)
    if target is None:
        return
    current, wanted = _RANK[call.state], _RANK[target]
    later = wanted == current and target != call.state and event.occurred_at >= record.state_at
    if wanted > current or later:
        call.state = target  # type: ignore[assignment]
        changes["state_at"] = event.occurred_at


def _end(call: calls_pb2.Call, event: CallEvent) -> None:
    payload = event.payload
    call.end_time.CopyFrom(_stamp(event.occurred_at))
    call.hangup_cause = _HANGUP_CAUSES.get(_text(payload, "hangup_cause"), 0)  # type: ignore[assignment]
    call.hangup_source = _HANGUP_SOURCES.get(_text(payload, "hangup_source"), 0)  # type: ignore[assignment]
    call.sip_hangup_cause = _text(payload, "sip_hangup_cause")
    call.on_hold = False
    del call.media_operations[:]


def _media(call: calls_pb2.Call, record: CallRecord, event: CallEvent, changes: dict[str, Any]) -> None:
    kind = _MEDIA_START.get(event.event_type)
    starts = kind is not None
    if kind is None:
        kind = _MEDIA_END.get(event.event_type)
    if kind is None or event.occurred_at < record.media_at.get(kind, 0):
        return
    changes["media_at"] = {**record.media_at, kind: event.occurred_at}
    running = [i for i, op in enumerate(call.media_operations) if op.kind == kind]
    if starts and not running:
        detail = next((_text(event.payload, k) for k in _MEDIA_DETAIL if _text(event.payload, k)), "")
        call.media_operations.add(kind=kind, start_time=_stamp(event.occurred_at), detail=detail)
    elif not starts:
        for index in reversed(running):
            del call.media_operations[index]
