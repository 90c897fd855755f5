"""Webhooks from the sandbox: the call flow, envelopes, Ed25519 signatures, retries and payload fields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.reference import reference
from tests.support.sandbox import (
    Api,
    Receiver,
    event_schema,
    fast_config,
    payload_keys,
    verify_standard,
    verify_telnyx,
    wait_until,
)
from voicesvc.sandbox import FaultRule, Sandbox


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = await Receiver().start()
    yield rec
    await rec.stop()


@pytest.fixture
async def api(receiver: Receiver) -> AsyncIterator[Api]:
    sandbox = Sandbox(fast_config(standard_webhooks=True))
    await sandbox.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session:
        yield Api(sandbox, session)
    await sandbox.stop()


async def _app(api: Api, receiver: Receiver, **extra: Any) -> str:
    reply = await api.call(
        "POST",
        "/call_control_applications",
        json_body={
            "application_name": "hooks",
            "webhook_event_url": receiver.url,
            **extra,
        },
    )
    assert reply.status == 201
    return reply.body["data"]["id"]


async def _dial(api: Api, connection_id: str, to: str = "+15557770000", **extra: Any) -> str:
    reply = await api.call(
        "POST",
        "/calls",
        json_body={
            "connection_id": connection_id,
            "from": "+15551110000",
            "to": to,
            **extra,
        },
    )
    assert reply.status == 200, reply.body
    return reply.body["data"]["call_control_id"]


async def test_dialled_call_from_initiated_to_hangup(api: Api, receiver: Receiver) -> None:
    app_id = await _app(api, receiver)
    cid = await _dial(api, app_id, client_state="c3RhcnQ=")
    await receiver.wait_for(lambda r: "call.answered" in r.types(cid))

    reply = await api.call("POST", f"/calls/{cid}/actions/hangup", json_body={"client_state": "ZW5k"})
    assert reply.body == {"data": {"result": "ok"}}
    await receiver.wait_for(lambda r: "call.hangup" in r.types(cid))

    assert receiver.types(cid) == ["call.initiated", "call.answered", "call.hangup"]
    initiated, answered, hangup = receiver.events(cid)
    assert initiated["payload"]["direction"] == "outgoing"
    assert initiated["payload"]["connection_id"] == app_id
    assert initiated["payload"]["client_state"] == "c3RhcnQ="
    assert answered["payload"]["state"] == "answered"
    assert hangup["payload"]["client_state"] == "ZW5k"
    assert hangup["payload"]["hangup_cause"] == "normal_clearing"
    status = await api.call("GET", f"/calls/{cid}")
    assert status.body["data"]["is_alive"] is False


async def test_envelope_and_signatures_verify_over_the_raw_body(api: Api, receiver: Receiver) -> None:
    cid = await _dial(api, await _app(api, receiver))
    await receiver.wait_for(lambda r: len(r.types(cid)) >= 2)
    for item in receiver.received:
        assert verify_telnyx(api.sandbox.public_key_b64, item.headers, item.raw)
        assert verify_standard(api.sandbox.public_key_b64, item.headers, item.raw)
        assert item.headers["webhook-id"] == item.event["id"]
        assert set(item.body) == {"data", "meta"}
        assert item.body["meta"] == {"attempt": 1, "delivered_to": receiver.url}
        assert set(item.event) == {"id", "event_type", "occurred_at", "payload", "record_type"}
        assert item.event["record_type"] == "event"
        tampered = item.raw.replace(b'"record_type":"event"', b'"record_type":"evil"')
        assert not verify_telnyx(api.sandbox.public_key_b64, item.headers, tampered)


async def test_failed_deliveries_are_retried_with_attempt_counting_up(api: Api, receiver: Receiver) -> None:
    receiver.statuses = [503, 500]
    cid = await _dial(api, await _app(api, receiver))
    await receiver.wait_for(lambda r: "call.answered" in r.types(cid))
    firsts = [item for item in receiver.received if item.event_type == "call.initiated"]
    assert [item.body["meta"]["attempt"] for item in firsts] == [1, 2, 3]
    assert len({item.event["id"] for item in firsts}) == 1
    # order per call holds: the answer waits behind the retried initiated event
    assert receiver.types(cid) == ["call.initiated", "call.answered"]


async def test_injected_delivery_failures_skip_the_first_attempts(api: Api, receiver: Receiver) -> None:
    api.sandbox.faults.add(FaultRule(kind="webhook_fail", count=2, event_type="call.initiated"))
    cid = await _dial(api, await _app(api, receiver))
    await receiver.wait_for(lambda r: "call.answered" in r.types(cid))
    first = next(item for item in receiver.received if item.event_type == "call.initiated")
    assert first.body["meta"]["attempt"] == 3
    log = (await api.admin("GET", "/webhooks", params={"event_type": "call.initiated"})).body["data"]
    attempts = [(a["attempt"], a["ok"], a["injected"]) for a in log]
    assert attempts == [(1, False, True), (2, False, True), (3, True, False)]


async def test_command_webhook_url_overrides_the_application(api: Api, receiver: Receiver) -> None:
    other = await Receiver().start()
    try:
        app_id = await _app(api, receiver)
        inbound = await api.admin("POST", "/calls/inbound", {"connection_id": app_id})
        cid = inbound.body["data"]["call_control_id"]
        await receiver.wait_for(lambda r: r.types(cid) == ["call.initiated"])
        assert receiver.events(cid)[0]["payload"]["direction"] == "incoming"
        await api.call("POST", f"/calls/{cid}/actions/answer", json_body={"webhook_url": other.url})
        await other.wait_for(lambda r: r.types(cid) == ["call.answered"])
    finally:
        await other.stop()


async def test_unknown_connection_uses_the_sandbox_default_url(receiver: Receiver) -> None:
    sandbox = Sandbox(fast_config(webhook_url=receiver.url))
    await sandbox.start()
    try:
        async with aiohttp.ClientSession() as session:
            cid = await _dial(Api(sandbox, session), "not-an-application")
        await receiver.wait_for(lambda r: "call.answered" in r.types(cid))
        assert "webhook-signature" not in receiver.received[0].headers
    finally:
        await sandbox.stop()


async def _exercise_every_feature(api: Api, receiver: Receiver) -> None:
    app_id = await _app(api, receiver, call_cost_in_webhooks=True)
    cid = await _dial(
        api,
        app_id,
        client_state="YQ==",
        answering_machine_detection="detect",
        deepfake_detection={"enabled": True},
        record="record-from-answer",
        stream_url="wss://media.example/stream",
    )
    machine = await _dial(api, app_id, to="+15550002000", answering_machine_detection="premium")
    beep = await _dial(api, app_id, to="+15550002000", answering_machine_detection="detect_beep")
    busy = await _dial(api, app_id, to="+15550001486")
    silent = await _dial(api, app_id, to="+15550002500", deepfake_detection={"enabled": True})
    legs = (cid, machine, beep, busy, silent)
    await wait_until(lambda: all(api.sandbox.engine.calls[c].state != "ringing" for c in legs))
    steps: list[tuple[str, dict[str, Any]]] = [
        ("playback_start", {"audio_url": "https://a.example/x.mp3"}),
        ("speak", {"payload": "hi", "voice": "female"}),
        ("gather", {"maximum_digits": 3}),
        ("gather_using_audio", {"audio_url": "https://a.example/p.mp3"}),
        ("gather_using_speak", {"payload": "press", "voice": "male"}),
        (
            "gather_using_ai",
            {"parameters": {"properties": {"name": {"type": "string"}}}, "send_partial_results": True},
        ),
        ("record_stop", {}),
        ("record_start", {"channels": "dual", "format": "wav", "transcription": True}),
        ("streaming_start", {"stream_url": "http://not-a-websocket"}),
        ("fork_start", {"stream_type": "decrypted"}),
        ("siprec_start", {"connector_name": "rec"}),
        ("siprec_start", {"connector_name": "failing"}),
        ("transcription_start", {}),
        ("refer", {"sip_address": "sip:a@b.example"}),
        ("refer", {"sip_address": "sip:fail@b.example"}),
        ("enqueue", {"queue_name": "support"}),
        ("leave_queue", {}),
        ("ai_assistant_start", {}),
        ("ai_assistant_stop", {}),
        ("pay", {"payment_method": "credit-card"}),
        ("playback_start", {"audio_url": "https://a.example/loop.mp3", "loop": "infinity"}),
        ("playback_stop", {}),
    ]
    for name, body in steps:
        reply = await api.call("POST", f"/calls/{cid}/actions/{name}", json_body=body)
        assert reply.status == 200, (name, reply.body)
    await api.admin("POST", f"/calls/{cid}/dtmf", {"digits": "5"})
    await api.admin("POST", f"/calls/{cid}/hold")
    await api.admin("POST", f"/calls/{cid}/unhold")
    await wait_until(lambda: "call.payment.completed" in receiver.types())
    await api.call("POST", f"/calls/{cid}/actions/record_stop", json_body={})
    await api.call("POST", f"/calls/{cid}/actions/fork_stop", json_body={})
    other = await _dial(api, app_id)
    await wait_until(lambda: api.sandbox.engine.calls[other].state == "answered")
    await api.call("POST", f"/calls/{cid}/actions/bridge", json_body={"call_control_id": other})
    record = {"channels": "single", "format": "mp3", "custom_file_name": "failing-upload"}
    await api.call("POST", f"/calls/{cid}/actions/record_start", json_body=record)
    await api.call("POST", f"/calls/{cid}/actions/hangup", json_body={})
    await wait_until(lambda: "call.deepfake_detection.error" in receiver.types(silent))
    assert await api.sandbox.dispatcher.drain(5)


async def test_every_payload_uses_only_reference_fields(api: Api, receiver: Receiver) -> None:
    await _exercise_every_feature(api, receiver)
    events = receiver.events()
    seen = {e["event_type"] for e in events}
    for ev in events:
        schema = event_schema(ev["event_type"])
        assert set(ev) <= set(schema["properties"]), ev["event_type"]
        extra = set(ev["payload"]) - payload_keys(ev["event_type"])
        assert not extra, (ev["event_type"], extra)
        if "call_leg_id" in payload_keys(ev["event_type"]):
            assert ev["payload"]["call_leg_id"]
    expected = {
        "call.initiated",
        "call.answered",
        "call.hangup",
        "call.bridged",
        "call.playback.started",
        "call.playback.ended",
        "call.speak.started",
        "call.speak.ended",
        "call.gather.ended",
        "call.ai_gather.message_history_updated",
        "call.ai_gather.ended",
        "call.recording.saved",
        "call.recording.transcription.saved",
        "streaming.started",
        "streaming.stopped",
        "streaming.failed",
        "call.fork.started",
        "call.fork.stopped",
        "siprec.started",
        "siprec.stopped",
        "siprec.failed",
        "call.transcription",
        "call.refer.started",
        "call.refer.completed",
        "call.refer.failed",
        "call.enqueued",
        "call.dequeued",
        "call.conversation.ended",
        "call.payment.progress",
        "call.payment.completed",
        "call.machine.detection.ended",
        "call.machine.greeting.ended",
        "call.machine.premium.detection.ended",
        "call.machine.premium.greeting.ended",
        "call.deepfake_detection.result",
        "call.dtmf.received",
        "call.cost",
    }
    assert expected <= seen, expected - seen


async def test_every_reference_event_type_is_emitted(api: Api, receiver: Receiver) -> None:
    await _exercise_every_feature(api, receiver)
    seen = {e["event_type"] for e in receiver.events()}
    reference_types = {item["event_type"] for item in reference()["webhook_events"]}
    assert len(reference_types) == 43
    assert seen == reference_types, (reference_types - seen, seen - reference_types)


async def test_recording_saved_carries_urls_and_client_state(api: Api, receiver: Receiver) -> None:
    cid = await _dial(api, await _app(api, receiver))
    await receiver.wait_for(lambda r: "call.answered" in r.types(cid))
    await api.call(
        "POST",
        f"/calls/{cid}/actions/record_start",
        json_body={"channels": "single", "format": "mp3", "client_state": "cmVj"},
    )
    await api.call("POST", f"/calls/{cid}/actions/record_stop", json_body={})
    await receiver.wait_for(lambda r: any(e["event_type"] == "call.recording.saved" for e in r.events()))
    saved = next(e for e in receiver.events() if e["event_type"] == "call.recording.saved")
    assert saved["payload"]["recording_urls"]["mp3"].endswith(".mp3")
    assert saved["payload"]["client_state"] == "cmVj"
    assert "call_control_id" not in saved["payload"]


async def test_gather_reports_the_pressed_digits(api: Api, receiver: Receiver) -> None:
    cid = await _dial(api, await _app(api, receiver))
    await receiver.wait_for(lambda r: "call.answered" in r.types(cid))
    await api.admin("POST", f"/calls/{cid}/dtmf", {"digits": "42#9"})
    await api.call("POST", f"/calls/{cid}/actions/gather", json_body={"maximum_digits": 4})
    await receiver.wait_for(lambda r: "call.gather.ended" in r.types(cid))
    ended = next(e for e in receiver.events(cid) if e["event_type"] == "call.gather.ended")
    assert (ended["payload"]["digits"], ended["payload"]["status"]) == ("42", "valid")
    dtmf = [e["payload"]["digit"] for e in receiver.events(cid) if e["event_type"] == "call.dtmf.received"]
    assert dtmf == ["4", "2", "#", "9"]


async def test_a_dials_own_webhook_url_receives_its_webhooks(api: Api, receiver: Receiver) -> None:
    # No application for this connection and no sandbox-wide URL: only the dial says where to send.
    cid = await _dial(api, "conn-without-app", webhook_url=receiver.url)
    await receiver.wait_for(lambda r: "call.answered" in r.types(cid))
    assert receiver.types(cid)[:2] == ["call.initiated", "call.answered"]
