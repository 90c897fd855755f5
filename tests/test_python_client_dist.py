"""voicesvc-client installs on its own: a fresh venv with only clients/python (no server dependencies)
imports the client, type-checks against its py.typed, and passes the client's own suite against a live
`voicesvc serve` started from this environment."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "clients" / "python"
SERVER_ONLY = ("nats-py", "aiohttp", "pynacl", "structlog", "prometheus-client", "voicesvc")


def _run(cmd: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600, **options)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("client-venv")
    venv.EnvBuilder(with_pip=True).create(home)
    python = home / "bin" / "python"
    # A plain (non-editable) install of the client with its test extra, and nothing else.
    installed = _run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"{CLIENT}[test]"]
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python


GOOD = """
from voicesvc.client import NotFound, VoiceClient
from voicesvc.v1 import calls_pb2


async def main() -> str:
    async with VoiceClient() as client:
        try:
            call: calls_pb2.Call = await client.calls.get("v3:x")
        except NotFound as error:
            return error.request_id
        return call.name
"""
BAD = GOOD.replace("return call.name", "return call.nam")


def test_mypy_reads_the_installed_client_types(client_venv: Path, tmp_path: Path) -> None:
    # protobuf ships no type stubs of its own: a project that type-checks adds types-protobuf.
    installed = _run([str(client_venv), "-m", "pip", "install", "--quiet", "mypy>=1.14", "types-protobuf"])
    assert installed.returncode == 0, installed.stderr
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text(BAD)
    mypy = [str(client_venv), "-m", "mypy", "--strict", "--no-incremental", "--ignore-missing-imports"]
    good = _run([*mypy, "good.py"], cwd=tmp_path)
    assert good.returncode == 0, good.stdout
    bad = _run([*mypy, "bad.py"], cwd=tmp_path)
    assert bad.returncode == 1
    assert '"Call" has no attribute "nam"' in bad.stdout, bad.stdout


PROBE = """
import pathlib
import voicesvc.backoff, voicesvc.client, voicesvc.options
import voicesvc.v1.call_control_pb2_grpc, voicesvc.v1.calls_pb2
from voicesvc.client import NotFound, SyncVoiceClient, VoiceClient
print(pathlib.Path(voicesvc.client.__file__).parent.joinpath("py.typed").exists(),
      pathlib.Path(voicesvc.v1.calls_pb2.__file__).with_suffix(".pyi").exists())
"""


def test_the_client_installs_without_the_server_dependencies(client_venv: Path) -> None:
    listed = _run([str(client_venv), "-m", "pip", "list", "--format=freeze"])
    names = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert "voicesvc-client" in names
    assert not names & set(SERVER_ONLY), names
    probe = _run(
        [
            str(client_venv),
            "-c",
            PROBE,
        ],
        cwd="/",
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["True", "True"]
    server_side = _run([str(client_venv), "-c", "import voicesvc.server"], cwd="/")
    assert server_side.returncode != 0


def test_the_client_suite_passes_in_the_client_only_venv(client_venv: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICESVC_", "PYTHONPATH"))}
    env["VOICESVC_SERVER_PYTHON"] = sys.executable  # the server runs from this (the repository's) venv
    result = _run(
        [str(client_venv), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CLIENT / "tests")],
        cwd=client_venv.parents[1],  # not clients/python: the installed package is what gets imported
        env=env,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert " failed" not in result.stdout
