"""The Python helpers and the `voicesvc calls` commands against a `voicesvc serve` process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest

from tests.support.voicesvc_process import ServerProcess, running_server
from voicesvc.client import VoiceClient, error_details
from voicesvc.client.cli import main
from voicesvc.v1 import call_control_pb2, calls_pb2

TO, FROM, CONNECTION = "+18005550100", "+18005550101", "conn-clients"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(
        {"VOICESVC_SANDBOX_ANSWER_DELAY": "0.05", "VOICESVC_SANDBOX_MEDIA_DELAY": "0.02"}
    ) as srv:
        yield srv


async def test_dial_with_wait_then_get_list_and_watch(server: ServerProcess) -> None:
    async with VoiceClient(server.target) as client:
        async with client.watch_calls(states=[calls_pb2.CALL_STATE_ENDED]) as watch:
            await watch.ready()
            answered = await client.dial(TO, FROM, CONNECTION, wait=True)
            ccid = answered.response.call_control_id
            assert answered.outcome.call_answered.call_control_id == ccid
            call = await client.calls.get(ccid)
            assert call.state == calls_pb2.CALL_STATE_ANSWERED
            assert (await client.calls.get(f"calls/{ccid}")) == call
            gathered = await client.execute(call_control_pb2.GatherDigitsRequest(call_control_id=ccid))
            assert gathered.outcome.call_gather_ended.digits
            await client.speak(ccid, "Hello", wait=True)
            await client.hangup(ccid, wait=True)
            async for change in watch:
                if change.call.call_control_id == ccid:
                    assert change.kind == calls_pb2.CALL_CHANGE_KIND_ENDED
                    break
            assert watch.synced
            assert watch.last_cursor
        second = await client.dial(TO, FROM, CONNECTION, wait=True)
        names = [c.name async for c in client.calls.list(page_size=1)]
        assert names == sorted(names)
        assert {f"calls/{ccid}", f"calls/{second.response.call_control_id}"} <= set(names)
        ended = [c.name async for c in client.calls.list(states=[calls_pb2.CALL_STATE_ENDED])]
        assert f"calls/{ccid}" in ended
        assert f"calls/{second.response.call_control_id}" not in ended
        with pytest.raises(ValueError, match="own RPC"):
            await client.execute(call_control_pb2.SendDtmfRequest(call_control_id=ccid, digits="1"))


async def test_a_dial_that_is_not_answered_raises_with_the_hangup_cause(server: ServerProcess) -> None:
    async with VoiceClient(server.target) as client:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await client.dial("+15550001408", FROM, CONNECTION, wait=True)
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    [info] = [d for d in error_details(failure.value) if d.DESCRIPTOR.name == "ErrorInfo"]
    assert info.metadata["hangup_cause"] == "timeout"  # type: ignore[attr-defined]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_exec_get_list_and_watch(capsys: pytest.CaptureFixture[str], server: ServerProcess) -> None:
    target = ["--target", server.target]
    dial = json.dumps({"connection_id": CONNECTION, "from": FROM, "to": TO})
    code, out, err = run(capsys, "calls", "exec", *target, "DialCall", dial)
    assert code == 0, err
    done = json.loads(out)
    assert done["succeeded"] is True
    assert done["outcome"]["event_type"] == "call.answered"
    ccid = done["response"]["call_control_id"]

    code, out, err = run(capsys, "calls", "get", *target, ccid)
    assert code == 0, err
    assert json.loads(out)["state"] == "CALL_STATE_ANSWERED"

    code, out, _ = run(capsys, "calls", "list", *target, "--state", "answered", "--direction", "outgoing")
    assert code == 0
    assert ccid in {json.loads(line)["call_control_id"] for line in out.splitlines()}

    session = done["response"]["call_session_id"]
    code, out, _ = run(capsys, "calls", "watch", *target, "--call-session-id", session, "--limit", "1")
    assert code == 0
    change = json.loads(out)
    assert (change["kind"], change["call"]["call_control_id"]) == ("CALL_CHANGE_KIND_EXISTING", ccid)

    code, _, err = run(capsys, "calls", "get", *target, "v3:never-seen")
    assert code == 1
    assert "NOT_FOUND" in err
    code, _, err = run(capsys, "calls", "exec", *target, "SendDtmf", json.dumps({"call_control_id": ccid}))
    assert code == 2
    assert "own RPC" in err
