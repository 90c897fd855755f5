"""The call projection on its own: the state machine, repeats, late events, retention and its log reader."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

from tests.support.stack import eventually
from voicesvc.calls import CallProjection, CallStore, parse_event
from voicesvc.calls.reducer import CallEvent
from voicesvc.events import MemoryEventLog
from voicesvc.events.log import StoredEvent
from voicesvc.v1 import calls_pb2, events_pb2

CCID = "v3:leg-a"
BASE = "2026-01-01T10:00:00.000000Z"


def at(second: float) -> str:
    whole = int(second)
    micros = round((second - whole) * 1e6)
    return f"2026-01-01T10:00:{whole:02d}.{micros:06d}Z"


class Feeder:
    """Builds stored events in log order and folds them into a store."""

    def __init__(self, store: CallStore | None = None) -> None:
        # Events are stored at t=1000 by this clock: ended calls stay unless a test moves time on.
        self.store = store if store is not None else CallStore(clock=lambda: 1_000.0)
        self.seq = itertools.count(1)
        self.ids = itertools.count(1)

    def event(
        self,
        event_type: str,
        second: float,
        *,
        event_id: str | None = None,
        ccid: str = CCID,
        received_at: float = 1_000.0,
        **payload: Any,
    ) -> StoredEvent:
        body = {"call_control_id": ccid, "call_leg_id": f"leg-{ccid}", "call_session_id": "s-1", **payload}
        if ccid == "":
            del body["call_control_id"]
        data = {
            "id": event_id or f"ev-{next(self.ids)}",
            "event_type": event_type,
            "occurred_at": at(second),
            "payload": body,
        }
        seq = next(self.seq)
        raw = json.dumps({"data": data, "meta": {"attempt": 1}}).encode()
        return StoredEvent(seq, f"c{seq:08d}", str(data["id"]), event_type, received_at, 1, raw)

    def apply(self, stored: StoredEvent) -> int:
        """Fold one stored event; returns how many changes it made."""
        event = parse_event(stored)
        assert event is not None
        return len(self.store.apply(event))

    def feed(self, *events: StoredEvent) -> calls_pb2.Call:
        for stored in events:
            self.apply(stored)
        call = self.store.get(CCID)
        assert call is not None
        return call


def lifecycle(f: Feeder) -> list[StoredEvent]:
    """Telnyx's sequence for an outbound call that speaks and hangs up, with occurred_at increasing."""
    return [
        f.event(
            "call.initiated",
            1,
            direction="outgoing",
            state="bridging",
            start_time=at(1),
            **{"from": "+1"},  # type: ignore[arg-type]
        ),
        f.event("call.answered", 2, state="answered", client_state="YQ=="),
        f.event("call.speak.started", 3),
        f.event("call.speak.ended", 4, status="completed"),
        f.event(
            "call.hangup", 5, hangup_cause="normal_clearing", hangup_source="caller", sip_hangup_cause="200"
        ),
    ]


def public(call: calls_pb2.Call) -> calls_pb2.Call:
    """The call without the fields that name the log position (they follow delivery order)."""
    copy = calls_pb2.Call()
    copy.CopyFrom(call)
    copy.ClearField("last_event_cursor")
    copy.ClearField("last_event_type")
    return copy


def test_in_order_events_walk_the_state_machine() -> None:
    f = Feeder()
    seen = []
    for stored in lifecycle(f):
        f.apply(stored)
        call = f.store.get(CCID)
        assert call is not None
        seen.append((call.state, [op.kind for op in call.media_operations]))
    assert seen == [
        (calls_pb2.CALL_STATE_INITIATED, []),
        (calls_pb2.CALL_STATE_ANSWERED, []),
        (calls_pb2.CALL_STATE_ANSWERED, [calls_pb2.MEDIA_KIND_SPEAK]),
        (calls_pb2.CALL_STATE_ANSWERED, []),
        (calls_pb2.CALL_STATE_ENDED, []),
    ]
    call = f.store.get(CCID)
    assert call is not None
    assert call.name == f"calls/{CCID}"
    assert call.direction == calls_pb2.CALL_DIRECTION_OUTGOING
    assert getattr(call, "from") == "+1"
    assert call.client_state == "YQ=="
    assert call.hangup_cause == events_pb2.HANGUP_CAUSE_NORMAL_CLEARING
    assert call.hangup_source == events_pb2.HANGUP_SOURCE_CALLER
    assert call.sip_hangup_cause == "200"
    assert call.answer_time.ToJsonString() == "2026-01-01T10:00:02Z"
    assert call.end_time.ToJsonString() == "2026-01-01T10:00:05Z"
    assert call.start_time.ToJsonString() == "2026-01-01T10:00:01Z"
    assert call.event_count == 5
    assert call.last_event_type == "call.hangup"


def test_a_late_answer_after_the_hangup_never_reopens_the_call() -> None:
    f = Feeder()
    initiated, answered, *_, hangup = lifecycle(f)
    call = f.feed(initiated, hangup, answered)
    assert call.state == calls_pb2.CALL_STATE_ENDED
    assert not call.HasField("answer_time")  # an ended call takes nothing more from late events
    assert call.event_count == 3


def test_repeats_by_id_or_by_type_and_time_change_nothing() -> None:
    f = Feeder()
    events = lifecycle(f)
    f.feed(*events[:3])
    before = f.store.get(CCID)
    assert f.apply(events[1]) == 0  # the same id again
    assert f.apply(f.event("call.speak.started", 3)) == 0  # a new id, same type and occurred_at
    assert f.store.get(CCID) is before


def test_a_call_ends_exactly_once() -> None:
    f = Feeder()
    events = lifecycle(f)
    kinds = []
    for stored in [*events, f.event("call.hangup", 6, hangup_cause="timeout")]:
        event = parse_event(stored)
        assert event is not None
        kinds += [c.kind for c in f.store.apply(event)]
    assert kinds.count(calls_pb2.CALL_CHANGE_KIND_ENDED) == 1
    call = f.store.get(CCID)
    assert call is not None
    assert call.hangup_cause == events_pb2.HANGUP_CAUSE_NORMAL_CLEARING


def test_a_late_media_start_after_its_end_does_not_restart_it() -> None:
    f = Feeder()
    events = lifecycle(f)
    call = f.feed(events[0], events[1], events[3], events[2])
    assert list(call.media_operations) == []
    call = f.feed(f.event("call.playback.started", 7, media_url="https://x/a.mp3"))
    assert [(op.kind, op.detail) for op in call.media_operations] == [
        (calls_pb2.MEDIA_KIND_PLAYBACK, "https://x/a.mp3")
    ]


def test_any_delivery_order_gives_the_same_call() -> None:
    f = Feeder()
    events = [
        *lifecycle(f)[:2],
        f.event("call.bridged", 2.5),
        f.event("call.hold", 2.6),
        f.event("call.playback.started", 2.7, media_url="u"),
        f.event("call.unhold", 2.8),
        f.event("call.playback.ended", 2.9, status="completed"),
        f.event("call.hold", 3.1),
        f.event("streaming.started", 3.2, stream_url="wss://s"),
        f.event("call.dtmf.received", 3.3, client_state="Yg==", digit="1"),
        f.event("call.answered", 1.5),  # late: the bridge occurred after it
    ]
    reference = public(f.feed(*events))
    assert reference.state == calls_pb2.CALL_STATE_BRIDGED
    assert reference.on_hold
    assert reference.client_state == "Yg=="
    assert [op.kind for op in reference.media_operations] == [calls_pb2.MEDIA_KIND_STREAMING]
    shuffler = random.Random(1)
    for _ in range(200):
        order = events[:]
        shuffler.shuffle(order)
        again = Feeder()
        order += [order[i] for i in range(0, len(order), 3)]  # and some repeats
        assert public(again.feed(*order)) == reference


def test_an_event_naming_only_the_leg_reaches_its_call() -> None:
    f = Feeder()
    f.feed(*lifecycle(f)[:2])
    call = f.feed(f.event("call.recording.saved", 4, ccid="", call_leg_id=f"leg-{CCID}"))
    assert call.event_count == 3
    assert call.last_event_type == "call.recording.saved"


def test_two_legs_of_a_session_bridged_together_name_each_other() -> None:
    f = Feeder()
    f.feed(f.event("call.answered", 1), f.event("call.answered", 1, ccid="v3:leg-b"))
    f.feed(f.event("call.bridged", 2), f.event("call.bridged", 2, ccid="v3:leg-b"))
    a, b = f.store.get(CCID), f.store.get("v3:leg-b")
    assert a is not None
    assert b is not None
    assert (a.bridged_with, b.bridged_with) == ("v3:leg-b", CCID)


def test_ended_calls_are_kept_for_the_retention_then_forgotten_for_good() -> None:
    now = [1_000.0]
    f = Feeder(CallStore(ended_retention_s=60, clock=lambda: now[0]))
    f.feed(*lifecycle(f))
    now[0] += 59
    f.apply(f.event("call.initiated", 1, ccid="v3:other"))
    assert f.store.get(CCID) is not None
    now[0] += 2
    f.apply(f.event("call.answered", 2, ccid="v3:other"))
    assert f.store.get(CCID) is None
    # A late event of the forgotten call does not bring it back half-known.
    assert f.apply(f.event("call.speak.ended", 4.5)) == 0
    assert f.store.get(CCID) is None


def test_the_number_of_calls_is_bounded_ended_ones_going_first() -> None:
    f = Feeder(CallStore(max_calls=3, clock=lambda: 1_000.0))
    f.feed(*lifecycle(f))
    for n in range(3):
        f.apply(f.event("call.initiated", 1, ccid=f"v3:live-{n}"))
    assert len(f.store) == 3
    assert f.store.get(CCID) is None
    f.apply(f.event("call.initiated", 1, ccid="v3:live-3"))
    assert [c.call_control_id for c in f.store.calls()] == ["v3:live-1", "v3:live-2", "v3:live-3"]
    assert f.store.evicted_live == 1
    # The name index follows: pages are read from it in name order.
    assert [c.name for c in f.store.by_name()] == ["calls/v3:live-1", "calls/v3:live-2", "calls/v3:live-3"]
    assert [c.name for c in f.store.by_name("calls/v3:live-1")] == ["calls/v3:live-2", "calls/v3:live-3"]


def test_events_without_a_call_only_move_the_position() -> None:
    raw = json.dumps({"data": {"id": "x", "event_type": "call.cost", "payload": {}}}).encode()
    assert parse_event(StoredEvent(1, "c", "x", "call.cost", 1.0, 1, raw)) is None
    assert parse_event(StoredEvent(1, "c", "x", "call.cost", 1.0, 1, b"not json")) is None


async def test_the_projection_rebuilds_from_the_log_and_says_when_it_has_caught_up() -> None:
    log = MemoryEventLog()
    f = Feeder()
    for stored in lifecycle(f):
        await log.append(stored.raw, stored.event_id, stored.event_type)
    projection = CallProjection(log, CallStore())
    await projection.start()
    try:
        assert await projection.wait_ready(5)
        call = projection.store.get(CCID)
        assert call is not None
        assert call.state == calls_pb2.CALL_STATE_ENDED
        # And it follows what comes next.
        extra = f.event("call.initiated", 9, ccid="v3:new")
        await log.append(extra.raw, extra.event_id, extra.event_type)
        await eventually(lambda: projection.store.get("v3:new") is not None)
    finally:
        await projection.close()
        await log.close()


def test_parse_falls_back_to_the_stored_time_without_occurred_at() -> None:
    raw = json.dumps({"data": {"id": "x", "payload": {"call_control_id": CCID}}}).encode()
    event = parse_event(StoredEvent(3, "c3", "x", "call.answered", 12.5, 1, raw))
    assert isinstance(event, CallEvent)
    assert event.occurred_at == 12_500_000_000
