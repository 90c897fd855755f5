"""WatchEvents end to end: signed webhooks POSTed to a running voicesvc over HTTP, read back over gRPC."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import grpc
import pytest

from tests.support.events import Watcher, WebhookPoster, error_info, webhook_body
from tests.support.stack import FAST_SANDBOX, FAST_SERVICE
from voicesvc.config import Settings
from voicesvc.embedded import embedded
from voicesvc.events import MemoryEventLog
from voicesvc.sandbox import SandboxConfig
from voicesvc.server.app import VoiceService
from voicesvc.v1 import call_control_pb2 as cc_pb2
from voicesvc.v1 import call_control_pb2_grpc as cc_grpc
from voicesvc.v1 import events_pb2
from voicesvc.webhooks import Signer

MAX_BODY = 64 * 1024


class Running:
    """A voicesvc in embedded sandbox mode that also trusts `signer`, with a channel and an HTTP session."""

    def __init__(self, service: VoiceService, channel: grpc.aio.Channel, poster: WebhookPoster) -> None:
        self.service = service
        self.channel = channel
        self.poster = poster

    async def watch(self, **request: Any) -> Watcher:
        return await Watcher.open(self.channel, **request)

    async def metrics(self) -> str:
        async with self.poster.http.get(self.service.http_url + "/metrics") as response:
            return await response.text()


@contextlib.asynccontextmanager
async def running(**overrides: Any) -> AsyncIterator[Running]:
    signer = Signer.generate()
    settings = Settings.from_values(
        {
            **FAST_SERVICE,
            "webhooks.public_keys": (signer.public_key_b64,),
            "webhooks.max_body_bytes": MAX_BODY,
            **overrides,
        }
    )
    async with embedded(settings, SandboxConfig(**FAST_SANDBOX)) as running:
        service = running.service
        async with aiohttp.ClientSession() as http, grpc.aio.insecure_channel(service.grpc_target) as channel:
            yield Running(service, channel, WebhookPoster(http, service.http_url, signer))
        await service.stop(grace_s=0)


@pytest.fixture
async def svc() -> AsyncIterator[Running]:
    async with running() as it:
        yield it


# ------------------------------------------------------------------ ingress over HTTP


async def test_each_rejection_gets_its_4xx_and_is_never_relayed(svc: Running) -> None:
    watcher = await svc.watch()
    poster = svc.poster
    raw, _ = webhook_body("call.answered", {"call_control_id": "v3:rejected"})
    now = int(time.time())
    oversized, _ = webhook_body("call.answered", {"pad": "x" * MAX_BODY})
    cases = [
        ("missing_headers", 401, raw, {}),
        ("bad_signature", 401, raw, Signer.generate().sign_telnyx(raw, now)),
        ("bad_signature", 401, raw, poster.signer.sign_telnyx(raw + b" ", now)),
        ("stale_timestamp", 401, raw, poster.signer.sign_telnyx(raw, now - 3600)),
        ("future_timestamp", 401, raw, poster.signer.sign_telnyx(raw, now + 3600)),
        ("body_too_large", 413, oversized, poster.signer.sign_telnyx(oversized, now)),
        ("malformed_json", 400, b"{not json", poster.signer.sign_telnyx(b"{not json", now)),
    ]
    for reason, status, body, headers in cases:
        got_status, answer = await poster.post(body, headers)
        assert (got_status, answer["error"]["reason"]) == (status, reason), answer
        assert answer["error"]["message"]

    # Events arrive in acceptance order, so the first one on the stream proves nothing was relayed before.
    accepted_id, cursor = await poster.deliver("call.answered", call_control_id="v3:accepted")
    event = await watcher.event()
    assert (event.id, event.cursor, event.call_control_id) == (accepted_id, cursor, "v3:accepted")
    text = await svc.metrics()
    for reason in {case[0] for case in cases}:
        assert f'voicesvc_webhooks_total{{outcome="rejected",reason="{reason}"}}' in text


async def test_standard_webhooks_signatures_are_accepted(svc: Running) -> None:
    watcher = await svc.watch()
    raw, event_id = webhook_body("call.hold", {"call_control_id": "v3:std"})
    status, _ = await svc.poster.post(raw, svc.poster.signer.sign_standard(raw, "msg_1", int(time.time())))
    assert status == 200
    assert (await watcher.event()).id == event_id


async def test_duplicate_deliveries_are_stored_once(svc: Running) -> None:
    watcher = await svc.watch()
    raw, event_id = webhook_body("call.answered", {"call_control_id": "v3:dup"}, attempt=1)
    again, _ = webhook_body("call.answered", {"call_control_id": "v3:dup"}, event_id=event_id, attempt=2)
    first_status, first = await svc.poster.post_signed(raw)
    second_status, second = await svc.poster.post_signed(again)
    assert (first_status, second_status) == (200, 200)
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert first["cursor"] == second["cursor"]
    closer, _ = await svc.poster.deliver("call.hangup")

    events = await watcher.events_until(closer)
    assert [e.id for e in events] == [event_id, closer]
    assert events[0].attempt == 1


async def test_a_stored_event_protobuf_cannot_carry_ends_no_stream(svc: Running) -> None:
    # Ingress refuses such bodies now; a log written before it did may still hold one.
    everything = await svc.watch()
    other_call = await svc.watch(event_types=["call."], call_control_ids=["v3:mine"])
    too_big = b"9" * 400  # an integer no double holds
    poison = b'{"data": {"id": "poison", "event_type": "call.answered", "payload": {"x": ' + too_big + b"}}}"
    assert svc.service.event_log is not None
    await svc.service.event_log.append(poison, "poison", "call.answered")
    mine, _ = await svc.poster.deliver("call.hangup", call_control_id="v3:mine")

    events = await everything.events_until(mine)
    assert [e.id for e in events] == ["poison", mine]
    assert not events[0].raw.fields
    assert [e.id for e in await other_call.events_until(mine)] == [mine]


# ------------------------------------------------------------------ filters


def ids_of(call_control_id: str, call_session_id: str, connection_id: str) -> dict[str, str]:
    return {
        "call_control_id": call_control_id,
        "call_session_id": call_session_id,
        "connection_id": connection_id,
    }


async def test_filters_by_type_exact_and_prefix_and_by_ids(svc: Running) -> None:
    watchers = {
        "all": await svc.watch(),
        "exact": await svc.watch(event_types=["call.answered"]),
        "prefix": await svc.watch(event_types=["call.recording."]),
        "call": await svc.watch(event_types=["call."]),
        "leg": await svc.watch(call_control_ids=["v3:b", "v3:x"]),
        "session": await svc.watch(call_session_ids=["s-2"]),
        "connection": await svc.watch(connection_ids=["conn-3", "conn-4"]),
        "type_and_leg": await svc.watch(event_types=["call.hangup"], call_control_ids=["v3:b"]),
    }
    sent: list[tuple[str, dict[str, Any]]] = [
        ("call.answered", ids_of("v3:a", "s-1", "conn-1")),
        ("call.recording.saved", ids_of("v3:b", "s-2", "conn-3")),
        ("streaming.started", ids_of("v3:a", "s-2", "conn-9")),
        ("call.hangup", ids_of("v3:b", "s-1", "conn-4")),
        ("call.hangup", ids_of("v3:c", "s-3", "conn-3")),
        ("call.recording.error", {"call_control_id": "v3:c"}),
        ("siprec.started", {}),
    ]
    ids = [(await svc.poster.deliver(t, **p))[0] for t, p in sent]
    # Each stream ends with a last event it matches, so nothing unexpected can hide after its expectations.
    closer, _ = await svc.poster.deliver(
        "call.hangup", call_control_id="v3:b", call_session_id="s-2", connection_id="conn-3"
    )
    last_answered, _ = await svc.poster.deliver("call.answered")
    last_recording, _ = await svc.poster.deliver("call.recording.saved")
    last = {"exact": last_answered, "prefix": last_recording}
    expected = {
        "all": [0, 1, 2, 3, 4, 5, 6],
        "exact": [0],
        "prefix": [1, 5],
        "call": [0, 1, 3, 4, 5],
        "leg": [1, 3],
        "session": [1, 2],
        "connection": [1, 3, 4],
        "type_and_leg": [3],
    }
    for name, watcher in watchers.items():
        final = last.get(name, closer)
        got = [e.id for e in await watcher.events_until(final)]
        assert got == [ids[i] for i in expected[name]] + [final], name
        watcher.cancel()


async def test_invalid_requests_are_invalid_argument_naming_the_problem(svc: Running) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"event_types": ["call..answered"]}, "call..answered"),
        ({"event_types": ["call.*"]}, "call.*"),
        ({"event_types": [""]}, "event_types"),
        ({"call_control_ids": [""]}, "call_control_ids"),
        ({"after_cursor": "not-a-cursor"}, "after_cursor"),
    ]
    for request, named in cases:
        failure = await Watcher.start(svc.channel, **request).failure()
        assert failure.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert named in failure.details(), failure.details()


# ------------------------------------------------------------------ cursors: resume, retention, heartbeats


async def test_resume_after_disconnect_misses_nothing_and_repeats_nothing(svc: Running) -> None:
    first = await svc.watch(event_types=["call."])
    before = [(await svc.poster.deliver("call.dtmf.received", digit=str(i)))[0] for i in range(4)]
    got = [(await first.event()).id for _ in range(2)]
    resume_at = first.last_cursor
    first.cancel()
    during = [(await svc.poster.deliver("call.dtmf.received", digit=str(i)))[0] for i in range(3)]

    second = await svc.watch(event_types=["call."], after_cursor=resume_at)
    after = [(await svc.poster.deliver("call.dtmf.received", digit=str(i)))[0] for i in range(2)]
    got += [e.id for e in await second.events_until(after[-1])]
    assert got == before + during + after

    oldest = await svc.watch(oldest=True)
    assert [e.id for e in await oldest.events_until(after[-1])] == got


async def test_cursor_older_than_retention_is_out_of_range_naming_the_oldest_cursor() -> None:
    async with running(**{"events.max_events": 3}) as svc:
        cursors = [(await svc.poster.deliver("call.answered", n=i))[1] for i in range(5)]
        failure = await Watcher.start(svc.channel, after_cursor=cursors[0]).failure()
        assert failure.code() == grpc.StatusCode.OUT_OF_RANGE
        info = error_info(failure)
        assert info is not None
        assert info.reason == "CURSOR_EXPIRED"
        oldest = info.metadata["oldest_cursor"]
        assert oldest == cursors[1]
        assert oldest in failure.details()

        # The named cursor replays everything that is still retained.
        resumed = await svc.watch(after_cursor=oldest)
        assert [(await resumed.event()).cursor for _ in range(3)] == cursors[2:]


async def test_heartbeats_carry_the_checkpoint_of_a_filtered_stream(svc: Running) -> None:
    watcher = await svc.watch(event_types=["call.hangup"], heartbeat_s=0.1)
    skipped = [(await svc.poster.deliver("call.answered"))[1] for _ in range(3)]
    async with asyncio.timeout(15):
        while (beat := await watcher.heartbeat()).cursor != skipped[-1]:
            assert beat.cursor < skipped[-1]
            assert beat.sent_at.seconds > 0
    watcher.cancel()

    # Resuming after the heartbeat's cursor starts right after the skipped events.
    resumed = await svc.watch(after_cursor=beat.cursor)
    next_id, _ = await svc.poster.deliver("call.answered")
    assert (await resumed.event()).id == next_id


async def test_the_opening_heartbeat_names_the_start_position(svc: Running) -> None:
    # Even an empty log has a position, its start: resuming after it misses nothing appended meanwhile.
    empty = await Watcher.start(svc.channel).heartbeat()
    assert empty.cursor
    first, _ = await svc.poster.deliver("call.answered")
    assert (await Watcher.start(svc.channel, after_cursor=empty.cursor).event()).id == first
    _, cursor = await svc.poster.deliver("call.answered")
    assert (await Watcher.start(svc.channel).heartbeat()).cursor == cursor
    assert (await Watcher.start(svc.channel, after_cursor=cursor).heartbeat()).cursor == cursor


# ------------------------------------------------------------------ typed events from a sandbox call


async def test_a_sandbox_call_arrives_typed_from_initiated_to_hangup(svc: Running) -> None:
    watcher = await svc.watch(event_types=["call."])
    calls = cc_grpc.CallControlStub(svc.channel)
    fields: dict[str, Any] = {
        "connection_id": "conn-typed",
        "from": "+15550100000",
        "to_string": "+15550100001",
    }
    dialled = await calls.DialCall(cc_pb2.DialCallRequest(**fields))
    leg = dialled.call_control_id

    async def next_of_leg() -> events_pb2.Event:
        while True:
            event = await watcher.event()
            if event.call_control_id == leg:
                return event

    initiated = await next_of_leg()
    assert initiated.event_type == "call.initiated"
    assert initiated.WhichOneof("payload") == "call_initiated"
    assert initiated.call_initiated.direction == events_pb2.CALL_INITIATED_PAYLOAD_DIRECTION_OUTGOING
    assert getattr(initiated.call_initiated, "from") == "+15550100000"
    assert initiated.call_initiated.to == "+15550100001"
    assert initiated.call_leg_id == dialled.call_leg_id
    assert initiated.call_session_id == dialled.call_session_id
    assert initiated.connection_id == "conn-typed"
    assert initiated.HasField("occurred_at")
    assert initiated.HasField("received_at")
    assert initiated.raw["payload"]["call_control_id"] == leg  # type: ignore[index]

    answered = await next_of_leg()
    assert answered.event_type == "call.answered"
    assert answered.call_answered.call_control_id == leg

    await calls.SpeakText(cc_pb2.SpeakTextRequest(call_control_id=leg, payload="Hello", voice="female"))
    started, ended = await next_of_leg(), await next_of_leg()
    assert (started.event_type, ended.event_type) == ("call.speak.started", "call.speak.ended")
    assert started.WhichOneof("payload") == "call_speak_started"
    assert ended.call_speak_ended.status == events_pb2.CALL_SPEAK_ENDED_PAYLOAD_STATUS_COMPLETED

    await calls.HangupCall(cc_pb2.HangupCallRequest(call_control_id=leg))
    hangup = await next_of_leg()
    assert hangup.event_type == "call.hangup"
    assert hangup.call_hangup.hangup_cause == events_pb2.HANGUP_CAUSE_NORMAL_CLEARING
    assert hangup.call_hangup.hangup_source == events_pb2.HANGUP_SOURCE_CALLER
    assert hangup.call_hangup.call_session_id == dialled.call_session_id
    assert hangup.call_session_id == dialled.call_session_id

    # The same call, replayed and filtered by its leg.
    replay = await svc.watch(call_control_ids=[leg], oldest=True)
    replayed = await replay.events_until(hangup.id)
    assert [e.event_type for e in replayed] == [
        "call.initiated",
        "call.answered",
        "call.speak.started",
        "call.speak.ended",
        "call.hangup",
    ]
    assert [e.cursor for e in replayed] == sorted(e.cursor for e in replayed)


# ------------------------------------------------------------------ scale and shutdown


async def test_a_subscriber_that_stops_reading_holds_up_neither_webhooks_nor_other_subscribers(
    svc: Running,
) -> None:
    stalled = await svc.watch()
    reader = await svc.watch()
    # Far more than gRPC's flow-control windows: the stalled stream stops being written to long before.
    padding = "x" * 32 * 1024
    sent = [(await svc.poster.deliver("call.dtmf.received", padding=padding))[0] for _ in range(200)]
    assert [e.id for e in await reader.events_until(sent[-1])] == sent
    # The stalled subscriber missed nothing: it reads everything at its own pace.
    assert [e.id for e in await stalled.events_until(sent[-1])] == sent


async def test_1500_idle_subscribers_all_receive_a_published_event(svc: Running) -> None:
    channels = [grpc.aio.insecure_channel(svc.service.grpc_target) for _ in range(6)]
    log = svc.service.event_log
    assert isinstance(log, MemoryEventLog)
    # The service's own readers (the calls projection) park too.
    own = log.parked_readers
    try:
        watchers = await asyncio.gather(
            *(
                Watcher.open(channels[i % len(channels)], event_types=["call."] if i % 2 else [])
                for i in range(1500)
            )
        )
        event_id, _ = await svc.poster.deliver("call.answered", call_control_id="v3:fanout")
        received = await asyncio.gather(*(w.event(within=60) for w in watchers))
        assert {e.id for e in received} == {event_id}
        assert log.parked_readers == own + 1500
        for watcher in watchers:
            watcher.cancel()
        # Cancelled streams release their subscriptions.
        async with asyncio.timeout(30):
            while True:
                if log.parked_readers == own:
                    break
                await asyncio.sleep(0.05)
    finally:
        for channel in channels:
            await channel.close()


async def test_shutdown_ends_streams_with_unavailable() -> None:
    async with running() as svc:
        idle = await svc.watch()
        busy = await svc.watch(event_types=["call."])
        await svc.poster.deliver("call.answered")
        await busy.event()
        await svc.service.stop(grace_s=1.0)
        for watcher in (idle, busy):
            failure = await watcher.failure()
            assert failure.code() == grpc.StatusCode.UNAVAILABLE
            assert "resume from your last cursor" in failure.details()
            info = error_info(failure)
            assert info is not None
            assert info.reason == "SHUTTING_DOWN"
