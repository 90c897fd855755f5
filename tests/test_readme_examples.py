"""The code examples of README.md and clients/README.md run as written against a real server."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.voicesvc_process import ServerProcess, running_server

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "clients" / "node"
EXPECTED = ["call.initiated", "call.answered", "call.speak.started", "call.speak.ended", "call.hangup"]


def code_block(doc: Path, language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", doc.read_text(), flags=re.DOTALL)
    return next(b for b in blocks if containing in b)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server() as srv:
        yield srv


def test_the_readme_python_example_dials_speaks_and_hangs_up(server: ServerProcess) -> None:
    code = code_block(ROOT / "README.md", "python", "VoiceClient").replace("127.0.0.1:50051", server.target)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    # The call ended as hung up, after exactly the webhooks of a dial, a speech and a hangup.
    assert result.stdout.split() == [
        "CALL_STATE_ENDED",
        "HANGUP_CAUSE_NORMAL_CLEARING",
        str(len(EXPECTED)),
        "events:",
        "call.hangup",
    ]


def test_the_readme_command_line_example_runs_in_order(server: ServerProcess) -> None:
    block = code_block(ROOT / "README.md", "sh", "voicesvc calls exec DialCall")
    lines = [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("voicesvc calls")]
    env = {**os.environ, "VOICESVC_TARGET": server.target}
    call_control_id = ""
    for line in lines:
        argv = shlex.split(line.replace("v3:…", call_control_id))
        done = subprocess.run(
            [sys.executable, "-m", "voicesvc.cli", *argv[1:]],
            cwd=ROOT,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"{line}: {done.stderr}"
        printed = json.loads(done.stdout)
        if "DialCall" in line:
            call_control_id = printed["response"]["call_control_id"]
            assert printed["outcome"]["event_type"] == "call.answered"
    assert printed["state"] == "CALL_STATE_ENDED"
    assert printed["hangup_cause"] == "HANGUP_CAUSE_NORMAL_CLEARING"


def test_the_clients_readme_node_example_dials_speaks_and_hangs_up(server: ServerProcess) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules").is_dir():
        pytest.skip("node or clients/node/node_modules is missing (run `make node`)")
    code = code_block(ROOT / "clients" / "README.md", "js", "dialCall").replace(
        "127.0.0.1:50051", server.target
    )
    code = code.replace("require('@voicesvc/client')", f"require({str(NODE_DIR)!r})")
    result = subprocess.run(
        [node, "-e", code], cwd=NODE_DIR, check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [*EXPECTED, "hangup", "cause:", "HANGUP_CAUSE_NORMAL_CLEARING"]
