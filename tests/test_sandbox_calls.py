"""Call state, command_id de-duplication, errors, applications, call events and paging in the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.sandbox import Api, fast_config, wait_until
from voicesvc.sandbox import Sandbox


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    sandbox = Sandbox(fast_config())
    await sandbox.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session:
        yield Api(sandbox, session)
    await sandbox.stop()


async def _dial(api: Api, to: str = "+15557770000", connection_id: str = "conn", **extra: Any) -> str:
    body = {"connection_id": connection_id, "from": "+1555", "to": to, **extra}
    reply = await api.call("POST", "/calls", json_body=body)
    assert reply.status == 200, reply.body
    return reply.body["data"]["call_control_id"]


def _state(api: Api, cid: str) -> str:
    return api.sandbox.engine.calls[cid].state


def _webhooks(api: Api, cid: str) -> list[dict[str, Any]]:
    return [
        e.metadata
        for e in api.sandbox.engine.events._events
        if e.type == "webhook" and e.call_control_id == cid
    ]


def _hangup_cause(api: Api, cid: str) -> str:
    return next(w["payload"]["hangup_cause"] for w in _webhooks(api, cid) if w["event_type"] == "call.hangup")


async def test_missing_or_wrong_key_is_401_with_telnyx_envelope(api: Api) -> None:
    for key in (None, "KEY_wrong"):
        reply = await api.call("GET", "/call_control_applications", key=key)
        assert reply.status == 401
        assert reply.body["errors"][0]["code"] == "10009"
        assert reply.body["errors"][0]["title"] == "Authentication failed"


async def test_unknown_ids_are_404(api: Api) -> None:
    cases: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/calls/v3:nope", None),
        ("POST", "/calls/v3:nope/actions/hangup", {}),
        ("GET", "/call_control_applications/123", None),
        ("DELETE", "/call_control_applications/123", None),
        ("GET", "/connections/999/active_calls", None),
        ("GET", "/no_such_resource", None),
    ]
    for method, path, body in cases:
        reply = await api.call(method, path, json_body=body)
        assert reply.status == 404, path
        assert reply.body["errors"][0]["code"] == "10005"


async def test_command_on_an_ended_call_is_422_90018(api: Api) -> None:
    cid = await _dial(api)
    assert (await api.call("POST", f"/calls/{cid}/actions/hangup", json_body={})).status == 200
    speak = {"payload": "hi", "voice": "female"}
    reply = await api.call("POST", f"/calls/{cid}/actions/speak", json_body=speak)
    assert reply.status == 422
    assert reply.body["errors"][0]["code"] == "90018"
    assert reply.body["errors"][0]["title"] == "Call has already ended"


async def test_same_command_id_is_acknowledged_but_runs_once(api: Api) -> None:
    cid = await _dial(api)
    await wait_until(lambda: _state(api, cid) == "answered")
    body = {"payload": "hello", "voice": "female", "command_id": "speak-1"}
    first = await api.call("POST", f"/calls/{cid}/actions/speak", json_body=body)
    second = await api.call("POST", f"/calls/{cid}/actions/speak", json_body=body)
    assert first.status == second.status == 200
    assert first.body == second.body
    other = await api.call("POST", f"/calls/{cid}/actions/speak", json_body={**body, "command_id": "speak-2"})
    assert other.status == 200
    counts = (await api.admin("GET", "/executions", params={"call_control_id": cid})).body["data"]
    assert {"call_control_id": cid, "command": "speak", "count": 2} in counts
    started = [w for w in _webhooks(api, cid) if w["event_type"] == "call.speak.started"]
    assert len(started) == 2


def _of_type(api: Api, cid: str, event_type: str) -> list[dict[str, Any]]:
    return [w for w in _webhooks(api, cid) if w["event_type"] == event_type]


async def test_overlapping_speaks_each_end_and_a_gather_after_one_still_gathers(api: Api) -> None:
    cid = await _dial(api)
    await wait_until(lambda: _state(api, cid) == "answered")
    speak = {"payload": "hello", "voice": "female"}
    assert (await api.call("POST", f"/calls/{cid}/actions/speak", json_body=speak)).status == 200
    reply = await api.call("POST", f"/calls/{cid}/actions/gather_using_speak", json_body=speak)
    assert reply.status == 200
    await wait_until(lambda: _of_type(api, cid, "call.gather.ended"))
    assert len(_of_type(api, cid, "call.speak.ended")) == 2

    # Speeches still playing when the call ends each end with `call_hangup`.
    other = await _dial(api)
    await wait_until(lambda: _state(api, other) == "answered")
    for _ in range(2):
        await api.call("POST", f"/calls/{other}/actions/speak", json_body=speak)
    await api.call("POST", f"/calls/{other}/actions/hangup", json_body={})
    ended = _of_type(api, other, "call.speak.ended")
    assert [w["payload"]["status"] for w in ended] == ["call_hangup", "call_hangup"]


async def test_a_far_end_hangup_takes_only_contract_causes_with_their_sip_code(api: Api) -> None:
    cid = await _dial(api)
    await wait_until(lambda: _state(api, cid) == "answered")
    for bad in ("BUSY please", {"a": 1}, 486):
        reply = await api.admin("POST", f"/calls/{cid}/hangup", json_body={"cause": bad})
        assert reply.status == 400
        assert reply.body["errors"][0]["source"]["pointer"] == "/cause"
    assert _state(api, cid) == "answered"
    assert (await api.admin("POST", f"/calls/{cid}/hangup", json_body={"cause": "user_busy"})).status == 200
    [hangup] = _of_type(api, cid, "call.hangup")
    assert (hangup["payload"]["hangup_cause"], hangup["payload"]["sip_hangup_cause"]) == ("user_busy", "486")


async def test_retried_hangup_with_same_command_id_still_acknowledged(api: Api) -> None:
    cid = await _dial(api)
    body = {"command_id": "bye"}
    assert (await api.call("POST", f"/calls/{cid}/actions/hangup", json_body=body)).status == 200
    again = await api.call("POST", f"/calls/{cid}/actions/hangup", json_body=body)
    assert again.status == 200
    assert again.body == {"data": {"result": "ok"}}


async def test_dial_with_same_command_id_creates_one_call(api: Api) -> None:
    body = {"connection_id": "conn", "from": "+1", "to": "+2", "command_id": "dial-1"}
    first = await api.call("POST", "/calls", json_body=body)
    second = await api.call("POST", "/calls", json_body=body)
    assert first.body == second.body
    assert len(api.sandbox.engine.calls) == 1


@pytest.mark.parametrize(
    ("to", "cause"),
    [
        ("+15550001486", "user_busy"),
        ("+15550001408", "timeout"),
        ("+15550001404", "not_found"),
        ("+15550001603", "call_rejected"),
    ],
)
async def test_special_destinations_fail_the_call(api: Api, to: str, cause: str) -> None:
    cid = await _dial(api, to)
    await wait_until(lambda: _state(api, cid) == "ended")
    assert _hangup_cause(api, cid) == cause
    types = [w["event_type"] for w in _webhooks(api, cid)]
    assert types == ["call.initiated", "call.hangup"]


async def test_answering_machine_reported_when_amd_requested(api: Api) -> None:
    human = await _dial(api, answering_machine_detection="detect")
    machine = await _dial(api, "+15550002000", answering_machine_detection="detect_beep")
    quiet = await _dial(api, "+15550002000")
    await wait_until(lambda: all(_state(api, c) == "answered" for c in (human, machine, quiet)))
    results = {
        c: [(w["event_type"], w["payload"].get("result")) for w in _webhooks(api, c)][2:]
        for c in (human, machine, quiet)
    }
    assert results[human] == [("call.machine.detection.ended", "human")]
    assert results[machine] == [
        ("call.machine.detection.ended", "machine"),
        ("call.machine.greeting.ended", "beep_detected"),
    ]
    assert results[quiet] == []


async def test_inbound_call_answer_and_reject(api: Api) -> None:
    answered = (await api.admin("POST", "/calls/inbound", {"connection_id": "conn"})).body["data"]
    rejected = (await api.admin("POST", "/calls/inbound", {"connection_id": "conn"})).body["data"]
    ok = await api.call("POST", f"/calls/{answered['call_control_id']}/actions/answer", json_body={})
    assert ok.status == 200
    assert _state(api, answered["call_control_id"]) == "answered"
    again = await api.call("POST", f"/calls/{answered['call_control_id']}/actions/answer", json_body={})
    assert again.status == 422
    no = await api.call(
        "POST", f"/calls/{rejected['call_control_id']}/actions/reject", json_body={"cause": "USER_BUSY"}
    )
    assert no.status == 200
    assert _hangup_cause(api, rejected["call_control_id"]) == "user_busy"


async def test_bridge_then_hangup_ends_both_legs(api: Api) -> None:
    a, b = await _dial(api), await _dial(api)
    await wait_until(lambda: _state(api, a) == _state(api, b) == "answered")
    bridged = await api.call("POST", f"/calls/{a}/actions/bridge", json_body={"call_control_id": b})
    assert bridged.status == 200
    assert [w["event_type"] for w in _webhooks(api, b)][-1] == "call.bridged"
    await api.call("POST", f"/calls/{a}/actions/hangup", json_body={})
    assert _state(api, a) == _state(api, b) == "ended"
    assert _webhooks(api, b)[-1]["event_type"] == "call.hangup"


async def test_bridge_with_unknown_leg_names_the_field(api: Api) -> None:
    a = await _dial(api)
    reply = await api.call("POST", f"/calls/{a}/actions/bridge", json_body={"call_control_id": "v3:none"})
    assert reply.status == 422
    assert reply.body["errors"][0]["source"]["pointer"] == "/call_control_id"


async def test_transfer_dials_and_bridges_a_new_leg(api: Api) -> None:
    a = await _dial(api)
    await wait_until(lambda: _state(api, a) == "answered")
    await api.call("POST", f"/calls/{a}/actions/transfer", json_body={"to": "+15558889999"})
    await wait_until(lambda: api.sandbox.engine.calls[a].bridged_with is not None)
    b = api.sandbox.engine.calls[a].bridged_with
    assert b is not None
    assert api.sandbox.engine.calls[b].to == "+15558889999"


async def test_active_calls_list_only_live_legs_of_the_connection(api: Api) -> None:
    app = (
        await api.call(
            "POST",
            "/call_control_applications",
            json_body={"application_name": "x", "webhook_event_url": "http://127.0.0.1:9/hooks"},
        )
    ).body["data"]
    live, gone = await _dial(api, connection_id=app["id"]), await _dial(api, connection_id=app["id"])
    await _dial(api, connection_id="elsewhere")
    await api.call("POST", f"/calls/{gone}/actions/hangup", json_body={})
    reply = await api.call("GET", f"/connections/{app['id']}/active_calls")
    assert [c["call_control_id"] for c in reply.body["data"]] == [live]
    assert reply.body["meta"]["total_results"] == 1


async def test_applications_crud_filters_sort_and_paging(api: Api) -> None:
    ids = []
    for name in ("beta", "alpha", "gamma"):
        reply = await api.call(
            "POST",
            "/call_control_applications",
            json_body={"application_name": name, "webhook_event_url": "http://127.0.0.1:9/hooks"},
        )
        ids.append(reply.body["data"]["id"])
        assert reply.body["data"]["created_at"] == reply.body["data"]["updated_at"]
    patched = await api.call(
        "PATCH",
        f"/call_control_applications/{ids[2]}",
        json_body={
            "application_name": "gamma2",
            "webhook_event_url": "http://127.0.0.1:9/hooks",
            "active": False,
            "inbound": {"channel_limit": 3},
        },
    )
    assert patched.body["data"]["active"] is False
    assert patched.body["data"]["inbound"]["channel_limit"] == 3
    assert patched.body["data"]["inbound"]["sip_subdomain_receive_settings"] == "from_anyone"

    by_name = await api.call("GET", "/call_control_applications", params={"sort": "connection_name"})
    assert [a["application_name"] for a in by_name.body["data"]] == ["alpha", "beta", "gamma2"]
    by_active = await api.call("GET", "/call_control_applications", params={"sort": "active"})
    assert by_active.body["data"][-1]["id"] == ids[2]
    found = await api.call(
        "GET", "/call_control_applications", params={"filter[application_name][contains]": "ALP"}
    )
    assert [a["id"] for a in found.body["data"]] == [ids[1]]
    bad_sort = await api.call("GET", "/call_control_applications", params={"sort": "size"})
    assert bad_sort.status == 422

    page = {"page[number]": "2", "page[size]": "2"}
    page2 = await api.call("GET", "/call_control_applications", params=page)
    assert page2.body["meta"] == {"page_number": 2, "page_size": 2, "total_pages": 2, "total_results": 3}
    assert [a["id"] for a in page2.body["data"]] == [ids[2]]

    deleted = await api.call("DELETE", f"/call_control_applications/{ids[0]}")
    assert deleted.body["data"]["id"] == ids[0]
    assert (await api.call("GET", f"/call_control_applications/{ids[0]}")).status == 404


async def test_page_size_limits(api: Api) -> None:
    for size in ("0", "251"):
        reply = await api.call("GET", "/call_events", params={"page[size]": size})
        assert reply.status == 422
        assert "page[size]" in reply.body["errors"][0]["source"]["pointer"]


async def test_call_events_record_commands_and_webhooks_with_filters(api: Api) -> None:
    a = await _dial(api)
    b = await _dial(api)
    await wait_until(lambda: _state(api, a) == "answered")
    await api.call("POST", f"/calls/{a}/actions/hangup", json_body={})
    leg_a = api.sandbox.engine.calls[a].call_leg_id

    def names(reply: Any) -> list[tuple[str, str]]:
        return [(e["type"], e["name"]) for e in reply.body["data"]]

    mine = await api.call("GET", "/call_events", params={"filter[leg_id]": leg_a})
    assert names(mine) == [
        ("command", "dial"),
        ("webhook", "call.initiated"),
        ("webhook", "call.answered"),
        ("command", "hangup"),
        ("webhook", "call.hangup"),
    ]
    commands = await api.call("GET", "/call_events", params={"filter[type]": "command"})
    assert [n for _, n in names(commands)] == ["dial", "dial", "hangup"]
    hangups = await api.call("GET", "/call_events", params={"filter[name]": "call.hangup"})
    assert len(hangups.body["data"]) == 1
    session = api.sandbox.engine.calls[b].call_session_id
    by_session = await api.call("GET", "/call_events", params={"filter[application_session_id]": session})
    assert {e["call_session_id"] for e in by_session.body["data"]} == {session}
    first_ts = mine.body["data"][0]["event_timestamp"]
    after = await api.call(
        "GET", "/call_events", params={"filter[leg_id]": leg_a, "filter[occurred_at][gt]": first_ts}
    )
    assert len(after.body["data"]) == 4
    bad = await api.call("GET", "/call_events", params={"filter[type]": "telepathy"})
    assert bad.status == 422
    assert bad.body["errors"][0]["source"]["pointer"] == "/filter/type"


async def test_reset_forgets_everything(api: Api) -> None:
    await _dial(api)
    await api.admin("POST", "/reset")
    assert api.sandbox.engine.calls == {}
    assert (await api.admin("GET", "/requests")).body["data"] == []
