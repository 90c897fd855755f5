"""The sandbox's less common webhooks: partial AI gather results, deepfake detection, recording errors,
conversation insights, hold/unhold and multi-destination dials, each with the reference's payload keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.reference import reference
from tests.support.sandbox import Api, Receiver, fast_config, payload_keys
from voicesvc.sandbox import Sandbox
from voicesvc.sandbox.payloads import CALL_FIELDS

STATE = "c2FuZGJveA=="


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = await Receiver().start()
    yield rec
    await rec.stop()


@pytest.fixture
async def api(receiver: Receiver) -> AsyncIterator[Api]:
    sandbox = Sandbox(fast_config())
    await sandbox.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session:
        yield Api(sandbox, session)
    await sandbox.stop()


@pytest.fixture
async def app_id(api: Api, receiver: Receiver) -> str:
    reply = await api.call(
        "POST",
        "/call_control_applications",
        json_body={
            "application_name": "events",
            "webhook_event_url": receiver.url,
        },
    )
    assert reply.status == 201
    return str(reply.body["data"]["id"])


async def _dial(api: Api, app_id: str, to: Any = "+15557770000", **extra: Any) -> dict[str, Any]:
    reply = await api.call(
        "POST",
        "/calls",
        json_body={
            "connection_id": app_id,
            "from": "+15551110000",
            "to": to,
            "client_state": STATE,
            **extra,
        },
    )
    assert reply.status == 200, reply.body
    return dict(reply.body["data"])


async def _answered(api: Api, receiver: Receiver, app_id: str, **extra: Any) -> str:
    cid = str((await _dial(api, app_id, **extra))["call_control_id"])
    await receiver.wait_for(lambda r: "call.answered" in r.types(cid))
    return cid


async def _action(api: Api, cid: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    reply = await api.call("POST", f"/calls/{cid}/actions/{name}", json_body=body or {})
    assert reply.status == 200, (name, reply.body)
    return dict(reply.body["data"])


def _of_type(receiver: Receiver, event_type: str, cid: str | None = None) -> list[dict[str, Any]]:
    return [e["payload"] for e in receiver.events(cid) if e["event_type"] == event_type]


def _by_session(receiver: Receiver, event_type: str, session: str) -> list[dict[str, Any]]:
    return [p for p in _of_type(receiver, event_type) if p["call_session_id"] == session]


def _assert_complete(payload: dict[str, Any], event_type: str) -> None:
    """Every key is one the reference lists for the type, and every listed key is there."""
    assert set(payload) == payload_keys(event_type), event_type
    assert payload["client_state"] == STATE


def test_every_reference_event_type_has_a_payload_shape() -> None:
    reference_types = {item["event_type"] for item in reference()["webhook_events"]}
    assert set(CALL_FIELDS) == reference_types


async def test_ai_gather_sends_partial_results_before_it_ends(
    api: Api, receiver: Receiver, app_id: str
) -> None:
    cid = await _answered(api, receiver, app_id)
    params = {"properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    await _action(api, cid, "gather_using_ai", {"parameters": params, "send_partial_results": True})
    await receiver.wait_for(lambda r: "call.ai_gather.ended" in r.types(cid))

    ai_types = [t for t in receiver.types(cid) if t.startswith("call.ai_gather.")]
    assert ai_types == [
        "call.ai_gather.message_history_updated",
        "call.ai_gather.partial_results",
        "call.ai_gather.partial_results",
        "call.ai_gather.ended",
    ]
    partials = _of_type(receiver, "call.ai_gather.partial_results", cid)
    assert [p["partial_results"] for p in partials] == [{"name": "sandbox"}, {"name": "sandbox", "age": 1}]
    for payload in partials:
        _assert_complete(payload, "call.ai_gather.partial_results")
        assert payload["call_control_id"] == cid


async def test_ai_gather_without_partial_results_sends_none(
    api: Api, receiver: Receiver, app_id: str
) -> None:
    cid = await _answered(api, receiver, app_id)
    await _action(api, cid, "gather_using_ai", {"parameters": {"properties": {"name": {"type": "string"}}}})
    await receiver.wait_for(lambda r: "call.ai_gather.ended" in r.types(cid))
    assert "call.ai_gather.partial_results" not in receiver.types(cid)


async def test_deepfake_detection_reports_a_result_after_answer(
    api: Api, receiver: Receiver, app_id: str
) -> None:
    cid = await _answered(api, receiver, app_id, deepfake_detection={"enabled": True})
    await receiver.wait_for(lambda r: "call.deepfake_detection.result" in r.types(cid))
    types = receiver.types(cid)
    assert types.index("call.answered") < types.index("call.deepfake_detection.result")
    result = _of_type(receiver, "call.deepfake_detection.result", cid)[0]
    _assert_complete(result, "call.deepfake_detection.result")
    assert result["result"] == "real"


async def test_deepfake_detection_on_a_silent_line_reports_an_error(
    api: Api, receiver: Receiver, app_id: str
) -> None:
    cid = await _answered(api, receiver, app_id, to="+15550002500", deepfake_detection={"enabled": True})
    await receiver.wait_for(lambda r: "call.deepfake_detection.error" in r.types(cid))
    error = _of_type(receiver, "call.deepfake_detection.error", cid)[0]
    _assert_complete(error, "call.deepfake_detection.error")
    assert error["error_message"] == "rtp_timeout"
    assert "call.deepfake_detection.result" not in receiver.types(cid)


async def test_deepfake_detection_requested_on_answer(api: Api, receiver: Receiver, app_id: str) -> None:
    inbound = await api.admin("POST", "/calls/inbound", {"connection_id": app_id, "from": "+15550002500"})
    cid = inbound.body["data"]["call_control_id"]
    await _action(api, cid, "answer", {"deepfake_detection": {"enabled": True}, "client_state": STATE})
    await receiver.wait_for(lambda r: "call.deepfake_detection.error" in r.types(cid))
    error = _of_type(receiver, "call.deepfake_detection.error", cid)[0]
    _assert_complete(error, "call.deepfake_detection.error")


async def test_deepfake_detection_is_off_unless_enabled(api: Api, receiver: Receiver, app_id: str) -> None:
    cid = await _answered(api, receiver, app_id, deepfake_detection={"enabled": False})
    await _action(api, cid, "hangup")
    await receiver.wait_for(lambda r: "call.hangup" in r.types(cid))
    assert not [t for t in receiver.types(cid) if t.startswith("call.deepfake_detection.")]


async def test_recording_with_a_failing_file_name_ends_in_an_error(
    api: Api, receiver: Receiver, app_id: str
) -> None:
    cid = await _answered(api, receiver, app_id)
    record = {"channels": "single", "format": "mp3", "custom_file_name": "fail-upload", "transcription": True}
    await _action(api, cid, "record_start", record)
    await _action(api, cid, "record_stop")
    await receiver.wait_for(lambda r: "call.recording.error" in r.types(cid))
    error = _of_type(receiver, "call.recording.error", cid)[0]
    _assert_complete(error, "call.recording.error")
    assert error["reason"] == "Internal server error"
    types = receiver.types(cid)
    assert "call.recording.saved" not in types
    assert "call.recording.transcription.saved" not in types


async def test_recording_from_answer_with_a_failing_file_name_errors_at_hangup(
    api: Api, receiver: Receiver, app_id: str
) -> None:
    cid = await _answered(
        api, receiver, app_id, record="record-from-answer", record_custom_file_name="failing.mp3"
    )
    await _action(api, cid, "hangup")
    await receiver.wait_for(lambda r: "call.recording.error" in r.types(cid))
    types = receiver.types(cid)
    assert types.index("call.hangup") < types.index("call.recording.error")
    assert "call.recording.saved" not in types


async def test_stopped_assistant_sends_conversation_insights(
    api: Api, receiver: Receiver, app_id: str
) -> None:
    cid = await _answered(api, receiver, app_id)
    started = await _action(api, cid, "ai_assistant_start", {"assistant": {"id": "assistant-1"}})
    await _action(api, cid, "ai_assistant_stop")
    await receiver.wait_for(lambda r: "call.conversation_insights.generated" in r.types(cid))

    ended = _of_type(receiver, "call.conversation.ended", cid)
    assert [(e["conversation_id"], e["assistant_id"], e["reason"]) for e in ended] == [
        (started["conversation_id"], "assistant-1", "assistant_stopped"),
    ]
    assert set(ended[0]) <= payload_keys("call.conversation.ended")
    types = receiver.types(cid)
    assert types.index("call.conversation.ended") < types.index("call.conversation_insights.generated")
    insights = _of_type(receiver, "call.conversation_insights.generated", cid)[0]
    _assert_complete(insights, "call.conversation_insights.generated")
    assert insights["results"]
    assert all(set(r) == {"insight_id", "result"} for r in insights["results"])


async def test_assistant_from_dial_ends_its_conversation_at_hangup(
    api: Api, receiver: Receiver, app_id: str
) -> None:
    cid = await _answered(api, receiver, app_id, assistant={"id": "assistant-2"})
    await _action(api, cid, "hangup")
    await receiver.wait_for(lambda r: "call.conversation_insights.generated" in r.types(cid))
    types = receiver.types(cid)
    assert types.index("call.hangup") < types.index("call.conversation.ended")
    ended = _of_type(receiver, "call.conversation.ended", cid)[0]
    assert (ended["assistant_id"], ended["reason"]) == ("assistant-2", "call_hangup")
    assert types.count("call.conversation_insights.generated") == 1


async def test_assistant_on_answer_sends_insights_once_stopped(
    api: Api, receiver: Receiver, app_id: str
) -> None:
    inbound = await api.admin("POST", "/calls/inbound", {"connection_id": app_id})
    cid = inbound.body["data"]["call_control_id"]
    await _action(api, cid, "answer", {"assistant": {"id": "assistant-3"}, "client_state": STATE})
    await _action(api, cid, "ai_assistant_stop")
    await _action(api, cid, "hangup")
    await receiver.wait_for(lambda r: "call.hangup" in r.types(cid))
    assert receiver.types(cid).count("call.conversation_insights.generated") == 1


async def test_far_end_hold_and_unhold(api: Api, receiver: Receiver, app_id: str) -> None:
    cid = await _answered(api, receiver, app_id)
    held = await api.admin("POST", f"/calls/{cid}/hold")
    assert held.status == 200
    assert held.body["data"]["on_hold"] is True
    again = await api.admin("POST", f"/calls/{cid}/hold")
    assert again.status == 200
    unheld = await api.admin("POST", f"/calls/{cid}/unhold")
    assert unheld.body["data"]["on_hold"] is False
    await receiver.wait_for(lambda r: "call.unhold" in r.types(cid))

    assert [t for t in receiver.types(cid) if t.endswith("hold")] == ["call.hold", "call.unhold"]
    for event_type in ("call.hold", "call.unhold"):
        payload = _of_type(receiver, event_type, cid)[0]
        _assert_complete(payload, event_type)
        assert payload["call_control_id"] == cid


async def test_hold_needs_an_answered_live_call(api: Api, app_id: str) -> None:
    inbound = await api.admin("POST", "/calls/inbound", {"connection_id": app_id})
    cid = inbound.body["data"]["call_control_id"]
    ringing = await api.admin("POST", f"/calls/{cid}/hold")
    assert ringing.status == 422
    await api.admin("POST", f"/calls/{cid}/hangup")
    ended = await api.admin("POST", f"/calls/{cid}/unhold")
    assert ended.status == 422
    assert (await api.admin("POST", "/calls/v3:unknown/hold")).status == 404


async def test_dial_to_several_destinations_first_answer_wins(
    api: Api, receiver: Receiver, app_id: str
) -> None:
    busy, first, second = "+15550001486", "+15557770001", "+15557770002"
    data = await _dial(api, app_id, to=[busy, first, second])
    session = data["call_session_id"]
    await receiver.wait_for(lambda r: len(_by_session(r, "call.hangup", session)) == 2)

    initiated = _by_session(receiver, "call.initiated", session)
    assert sorted(p["to"] for p in initiated) == sorted([busy, first, second])
    assert data["call_control_id"] == next(p["call_control_id"] for p in initiated if p["to"] == busy)
    assert [p["to"] for p in _by_session(receiver, "call.answered", session)] == [first]
    hangups = _by_session(receiver, "call.hangup", session)
    causes = {p["to"]: (p["hangup_cause"], p["hangup_source"]) for p in hangups}
    assert causes == {busy: ("user_busy", "callee"), second: ("originator_cancel", "caller")}
    winner = next(p["call_control_id"] for p in initiated if p["to"] == first)
    legs = (await api.admin("GET", "/calls")).body["data"]
    alive = [leg["call_control_id"] for leg in legs if leg["call_session_id"] == session and leg["is_alive"]]
    assert alive == [winner]


async def test_dial_to_an_empty_destination_list_is_refused(api: Api, app_id: str) -> None:
    reply = await api.call("POST", "/calls", json_body={"connection_id": app_id, "from": "+1555", "to": []})
    assert reply.status == 422
    assert reply.body["errors"][0]["source"]["pointer"] == "/to"
