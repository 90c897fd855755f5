"""`voicesvc call` and `voicesvc watch` (voicesvc.client.cli) against a running voicesvc."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack import start_stack
from tests.support.tls import self_signed
from tests.support.voicesvc_process import ROOT, ServerProcess, running_server
from voicesvc.client.cli import main
from voicesvc.transcode.routes import ROUTES

TOKEN = "cli-test-token"
DIAL = {"connection_id": "1684641123236054244", "from": "+18005550101", "to": "+18005550100"}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server() as srv:
        yield srv


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def call(capsys: pytest.CaptureFixture[str], server: ServerProcess, method: str, body: Any) -> dict[str, Any]:
    code, out, err = run(capsys, "call", "--target", server.target, method, json.dumps(body))
    assert code == 0, err
    return json.loads(out)


def test_list_names_every_rpc_with_its_http_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "call", "--list")
    assert code == 0
    lines = out.splitlines()
    assert len([line for line in lines if line.split()[2].startswith("/")]) == len(ROUTES)
    dial = next(line for line in lines if line.startswith("CallControl.DialCall "))
    assert dial.split() == ["CallControl.DialCall", "POST", "/calls"]
    assert any(
        line.split()[:3] == ["CallControl.SpeakText", "POST", "/calls/{call_control_id}/actions/speak"]
        for line in lines
    )
    assert any(line.startswith("EventStream.WatchEvents") for line in lines)


def test_call_prints_telnyx_shaped_json(
    capsys: pytest.CaptureFixture[str], server: ServerProcess, tmp_path: Path
) -> None:
    dialed = call(capsys, server, "CallControl.DialCall", DIAL)
    assert dialed["call_control_id"]
    assert dialed["is_alive"] is True
    assert dialed["record_type"] == "call"
    ccid = dialed["call_control_id"]

    status = call(capsys, server, "voicesvc.v1.CallControl.GetCallStatus", {"call_control_id": ccid})
    assert status["call_control_id"] == ccid
    # Media waits for the answer, as Telnyx requires.
    session = ["--call-session-id", dialed["call_session_id"]]
    code, out, err = run(
        capsys, "calls", "watch", "--target", server.target, "--state", "answered", *session, "--limit", "1"
    )
    assert code == 0, err
    assert json.loads(out)["call"]["call_control_id"] == ccid
    speak = {"call_control_id": ccid, "payload": "Hello", "voice": "female"}
    spoke = call(capsys, server, "SpeakText", speak)
    assert spoke == {"result": "ok"}

    request = tmp_path / "hangup.json"
    request.write_text(json.dumps({"call_control_id": ccid}), encoding="utf-8")
    code, out, err = run(
        capsys,
        "call",
        "--target",
        server.target,
        "--compact",
        "/voicesvc.v1.CallControl/HangupCall",
        "--file",
        str(request),
    )
    assert code == 0, err
    assert out.strip() == '{"result": "ok"}'


def test_rpc_error_is_described_with_exit_code_1(
    capsys: pytest.CaptureFixture[str], server: ServerProcess
) -> None:
    body = {k: v for k, v in DIAL.items() if k != "to"}
    code, out, err = run(capsys, "call", "--target", server.target, "CallControl.DialCall", json.dumps(body))
    assert code == 1
    assert out == ""
    assert err.startswith("INVALID_ARGUMENT: ")
    assert "field to: " in err


def test_requests_that_cannot_be_built_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "call", "--target", "127.0.0.1:9", "CallControl.DialCall", '{"bogus": 1}')
    assert code == 2
    assert "/bogus" in err
    code, _, err = run(capsys, "call", "--target", "127.0.0.1:9", "CallControl.DialCall", '{"to": 5}')
    assert code == 2
    assert "/to" in err
    code, _, err = run(capsys, "call", "--target", "127.0.0.1:9", "CallControl.DialCal", "{}")
    assert code == 2
    assert "CallControl.DialCall" in err
    code, _, err = run(capsys, "call", "--target", "127.0.0.1:9", "CallControl.DialCall", "{not json")
    assert code == 2
    assert "not valid JSON" in err
    code, _, err = run(capsys, "call", "--target", "127.0.0.1:9", "CallControl.DialCall", "[]")
    assert code == 2


def test_watch_prints_events_as_json_lines(capsys: pytest.CaptureFixture[str], server: ServerProcess) -> None:
    ccid = call(capsys, server, "CallControl.DialCall", DIAL)["call_control_id"]
    call(capsys, server, "CallControl.HangupCall", {"call_control_id": ccid})

    code, out, err = run(
        capsys, "watch", "--target", server.target, "--oldest", "--call-control-id", ccid, "--limit", "2"
    )
    assert code == 0, err
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["event_type"] == "call.initiated"
    assert first["call_control_id"] == ccid
    assert first["data"]["event_type"] == "call.initiated"
    assert first["data"]["payload"]["call_control_id"] == ccid
    assert first["cursor"]
    assert second["cursor"] != first["cursor"]

    code, out, err = run(
        capsys,
        "watch",
        "--target",
        server.target,
        "--after",
        first["cursor"],
        "--call-control-id",
        ccid,
        "--limit",
        "1",
    )
    assert code == 0, err
    assert json.loads(out)["id"] == second["id"]

    code, out, err = run(
        capsys,
        "watch",
        "--target",
        server.target,
        "--oldest",
        "--call-control-id",
        ccid,
        "--type",
        "call.hangup",
        "--limit",
        "1",
    )
    assert code == 0, err
    assert json.loads(out)["event_type"] == "call.hangup"


def test_token_flag_and_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_server({"VOICESVC_AUTH_TOKENS": TOKEN}, token=TOKEN) as srv:
        code, _, err = run(capsys, "call", "--target", srv.target, "CallControl.DialCall", json.dumps(DIAL))
        assert code == 1
        assert err.startswith("UNAUTHENTICATED")
        code, out, err = run(
            capsys, "call", "--target", srv.target, "--token", TOKEN, "CallControl.DialCall", json.dumps(DIAL)
        )
        assert code == 0, err
        assert json.loads(out)["call_control_id"]
        monkeypatch.setenv("VOICESVC_TARGET", srv.target)
        monkeypatch.setenv("VOICESVC_TOKEN", TOKEN)
        code, out, err = run(
            capsys,
            "call",
            "CallControl.GetCallStatus",
            json.dumps({"call_control_id": json.loads(out)["call_control_id"]}),
        )
        assert code == 0, err


def test_voicesvc_command_reads_the_request_from_stdin(server: ServerProcess) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicesvc.cli",
            "call",
            "--target",
            server.target,
            "CallControl.DialCall",
            "--file",
            "-",
        ],
        input=json.dumps(DIAL),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["call_control_id"]


def test_a_reader_that_goes_away_ends_the_command_quietly(server: ServerProcess) -> None:
    # `voicesvc watch | head -1`: the reader closes the pipe while events are still being written.
    ccid = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "voicesvc.cli",
                "call",
                "--target",
                server.target,
                "CallControl.DialCall",
                json.dumps(DIAL),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=True,
        ).stdout
    )["call_control_id"]
    watch = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voicesvc.cli",
            "watch",
            "--target",
            server.target,
            "--oldest",
            "--call-control-id",
            ccid,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert watch.stdout is not None
    assert watch.stderr is not None
    assert json.loads(watch.stdout.readline())["call_control_id"] == ccid
    watch.stdout.close()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "voicesvc.cli",
            "call",
            "--target",
            server.target,
            "CallControl.HangupCall",
            json.dumps({"call_control_id": ccid}),
        ],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert watch.wait(timeout=30) == 141
    assert watch.stderr.read() == b""


async def test_call_over_mutual_tls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert, key = self_signed(tmp_path)
    async with start_stack(tls__cert=cert, tls__key=key, tls__client_ca=cert) as stack:
        target = "localhost:" + stack.service.grpc_target.rsplit(":", 1)[1]
        body = json.dumps({"connection_id": "c-tls", "from": "+15551110000", "to": "+15552220000"})
        base = ["call", "CallControl.DialCall", body, "--compact", "--target", target, "--ca-cert", str(cert)]
        code = await asyncio.to_thread(main, [*base, "--client-cert", str(cert), "--client-key", str(key)])
        out, err = capsys.readouterr()
        assert code == 0, err
        # The in-process server logs to the same stdout: pick the CLI's (compact, one-line) JSON answer.
        answers = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert any(a.get("call_control_id") for a in answers), out
        code = await asyncio.to_thread(main, base)  # no client certificate: the server refuses
        assert code == 1
        assert "UNAVAILABLE" in capsys.readouterr().err
