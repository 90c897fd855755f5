"""The client retries UNAVAILABLE with one `command_id` for every attempt: a command acts once even when
the first attempt reached Telnyx (here the sandbox runs it, then drops the connection)."""

from __future__ import annotations

import uuid

import pytest
from conftest import TOKEN, Server

from voicesvc.backoff import Backoff
from voicesvc.client import NO_RETRY, RetryPolicy, SyncVoiceClient, Unavailable, VoiceClient
from voicesvc.v1 import call_control_applications_pb2 as apps_pb2
from voicesvc.v1 import call_control_pb2

QUICK = RetryPolicy(max_attempts=3, backoff=Backoff(initial_s=0.01, max_s=0.05))


def _speaks(server: Server, call_control_id: str) -> int:
    rows = server.admin("GET", f"/executions?call_control_id={call_control_id}")
    return sum(row["count"] for row in rows if row["command"] == "speak")


async def _answered_call(client: VoiceClient) -> str:
    answered = await client.dial("+15552220000", "+15551110000", f"conn-{uuid.uuid4().hex[:8]}", wait=True)
    return answered.response.call_control_id


def _drop_first_speak(server: Server) -> None:
    server.admin("POST", "/faults", {"kind": "drop_after", "path": "/actions/speak$", "count": 1})


async def test_a_retried_command_runs_once(sandbox: Server) -> None:
    async with VoiceClient(sandbox.target, token=TOKEN, retry=QUICK) as client:
        call_control_id = await _answered_call(client)
        _drop_first_speak(sandbox)
        request = call_control_pb2.SpeakTextRequest(
            call_control_id=call_control_id, payload="hi", voice="female"
        )
        await client.call_control.SpeakText(request)
    assert request.command_id == ""  # the caller's message is left as it was
    journal = sandbox.admin("GET", f"/requests?path={call_control_id}/actions/speak")
    sent = [entry["body"]["command_id"] for entry in journal]
    assert len(sent) == 2, journal  # the dropped attempt and its retry
    assert sent[0] == sent[1] != ""
    assert _speaks(sandbox, call_control_id) == 1


async def test_without_retries_the_drop_is_unavailable_and_the_command_ran(sandbox: Server) -> None:
    async with VoiceClient(sandbox.target, token=TOKEN, retry=NO_RETRY) as client:
        call_control_id = await _answered_call(client)
        _drop_first_speak(sandbox)
        with pytest.raises(Unavailable):
            await client.speak(call_control_id, "hi")
    assert _speaks(sandbox, call_control_id) == 1


async def test_a_caller_command_id_is_kept(sandbox: Server) -> None:
    async with VoiceClient(sandbox.target, token=TOKEN, retry=QUICK) as client:
        call_control_id = await _answered_call(client)
        _drop_first_speak(sandbox)
        await client.speak(call_control_id, "hi", command_id="mine-1")
    journal = sandbox.admin("GET", f"/requests?path={call_control_id}/actions/speak")
    assert [entry["body"]["command_id"] for entry in journal] == ["mine-1", "mine-1"]
    assert _speaks(sandbox, call_control_id) == 1


async def test_a_request_without_a_command_id_is_not_retried(sandbox: Server) -> None:
    sandbox.admin(
        "POST", "/faults", {"kind": "drop_after", "path": "/call_control_applications$", "count": 1}
    )
    name = f"once-{uuid.uuid4().hex[:6]}"
    async with VoiceClient(sandbox.target, token=TOKEN, retry=QUICK) as client:
        with pytest.raises(Unavailable):
            await client.applications.CreateCallControlApplication(
                apps_pb2.CreateCallControlApplicationRequest(
                    application_name=name, webhook_event_url="https://example.com/hook"
                )
            )
        listed = [app async for app in client.list_call_control_applications(page_size=250)]
    assert [app.application_name for app in listed].count(name) == 1


def test_the_sync_client_retries_the_same_way(sandbox: Server) -> None:
    with SyncVoiceClient(sandbox.target, token=TOKEN, retry=QUICK) as client:
        answered = client.dial("+15552220000", "+15551110000", f"conn-{uuid.uuid4().hex[:8]}", wait=True)
        call_control_id = answered.response.call_control_id
        _drop_first_speak(sandbox)
        client.speak(call_control_id, "hi")
        assert client.get_call(call_control_id).name == f"calls/{call_control_id}"
    assert _speaks(sandbox, call_control_id) == 1
    journal = sandbox.admin("GET", f"/requests?path={call_control_id}/actions/speak")
    assert len(journal) == 2
