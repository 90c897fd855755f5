"""Worker groups from the outside: the README's Python and Node examples run as written, and the
`voicesvc subscriptions …` / `voicesvc pull` commands, against a real `voicesvc serve`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.support.voicesvc_process import ServerProcess, running_server
from voicesvc.v1 import call_control_pb2, call_control_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "clients" / "node"
EXPECTED = ["call.initiated", "call.answered", "call.hangup"]


def code_block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
    return next(b for b in blocks if containing in b)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server() as srv:
        yield srv


def cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicesvc.cli", *args, "--target", server.target],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(server: ServerProcess, *args: str) -> Any:
    done = cli(server, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_python_worker_group_example_runs_as_written(server: ServerProcess) -> None:
    code = code_block("python", "client.subscribe").replace("127.0.0.1:50051", server.target)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == EXPECTED


def test_the_readme_node_worker_group_example_runs_as_written(server: ServerProcess) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules").is_dir():
        pytest.skip("node or clients/node/node_modules is missing (run `make node`)")
    code = code_block("js", "client.subscribe").replace("127.0.0.1:50051", server.target)
    code = code.replace("require('@voicesvc/client')", f"require({str(NODE_DIR)!r})")
    result = subprocess.run(
        [node, "-e", code], cwd=NODE_DIR, check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == EXPECTED


def test_subscriptions_commands_and_pull(server: ServerProcess) -> None:
    created = json.loads(
        ok(server, "subscriptions", "create", "cli-demo", "--type", "call.initiated", "--ack-deadline", "45")
    )
    assert created["name"] == "subscriptions/cli-demo"
    assert created["ack_deadline"] == "45s"
    assert created["filter"] == {"event_types": ["call.initiated"]}
    again = cli(server, "subscriptions", "create", "cli-demo")
    assert again.returncode == 1
    assert "ALREADY_EXISTS" in again.stderr
    listed = [json.loads(line) for line in ok(server, "subscriptions", "list").splitlines()]
    assert "subscriptions/cli-demo" in [s["name"] for s in listed]
    updated = json.loads(ok(server, "subscriptions", "update", "cli-demo", "--max-delivery-attempts", "2"))
    assert updated["max_delivery_attempts"] == 2
    with grpc.insecure_channel(server.target) as channel:
        stub = call_control_pb2_grpc.CallControlStub(channel)
        request = call_control_pb2.DialCallRequest(connection_id="cli-demo", to_string="+15552220000")
        setattr(request, "from", "+15551110000")  # `from` is a Python keyword
        dialled = stub.DialCall(request)
        stub.HangupCall(call_control_pb2.HangupCallRequest(call_control_id=dialled.call_control_id))
    pulled = [json.loads(line) for line in ok(server, "pull", "cli-demo", "--limit", "1").splitlines()]
    assert [(p["event_type"], p["call_control_id"], p["delivery_attempt"]) for p in pulled] == [
        ("call.initiated", dialled.call_control_id, 1)
    ]
    figures = json.loads(ok(server, "subscriptions", "get", "cli-demo"))
    assert figures["acked"] == "1"
    assert ok(server, "subscriptions", "dead-letters", "cli-demo") == ""
    assert json.loads(ok(server, "subscriptions", "redrive", "cli-demo")) == {}
    bad = cli(server, "subscriptions", "update", "cli-demo", "--ack-deadline", "0.2")
    assert bad.returncode == 1
    assert "subscription.ack_deadline" in bad.stderr
    ok(server, "subscriptions", "delete", "cli-demo")
    missing = cli(server, "subscriptions", "get", "cli-demo")
    assert missing.returncode == 1
    assert "NOT_FOUND" in missing.stderr
