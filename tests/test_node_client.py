"""The Node.js client (clients/node): its shipped protos match the contract, and its test suite passes
against a running voicesvc."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from google import api as google_api
from google import rpc as google_rpc

from tests.support.voicesvc_process import ROOT, ServerProcess, running_server

NODE_DIR = ROOT / "clients" / "node"
SHIPPED = NODE_DIR / "protos"
CONTRACT = ROOT / "protos" / "voicesvc" / "v1"
GOOGLE_FILES = {
    "google/api/annotations.proto": Path(google_api.__path__[0]) / "annotations.proto",
    "google/api/http.proto": Path(google_api.__path__[0]) / "http.proto",
    "google/api/field_behavior.proto": Path(google_api.__path__[0]) / "field_behavior.proto",
    "google/api/resource.proto": Path(google_api.__path__[0]) / "resource.proto",
    "google/rpc/status.proto": Path(google_rpc.__path__[0]) / "status.proto",
    "google/rpc/error_details.proto": Path(google_rpc.__path__[0]) / "error_details.proto",
}
SYNC_HINT = "the Node client's protos are out of date: run `node clients/node/scripts/sync-protos.js`"


def test_shipped_contract_protos_are_identical_to_the_sources() -> None:
    sources = {p.name: p.read_bytes() for p in CONTRACT.glob("*.proto")}
    shipped = {p.name: p.read_bytes() for p in (SHIPPED / "voicesvc" / "v1").glob("*.proto")}
    assert sorted(shipped) == sorted(sources), SYNC_HINT
    for name, content in sources.items():
        assert shipped[name] == content, f"{name}: {SYNC_HINT}"


def test_shipped_googleapis_protos_are_identical_to_the_sources() -> None:
    for rel, source in GOOGLE_FILES.items():
        assert (SHIPPED / rel).read_bytes() == source.read_bytes(), f"{rel}: {SYNC_HINT}"
    shipped_google = sorted(str(p.relative_to(SHIPPED)) for p in (SHIPPED / "google").rglob("*.proto"))
    assert shipped_google == sorted(GOOGLE_FILES)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server() as srv:
        yield srv


def test_node_client_suite_passes_against_voicesvc(server: ServerProcess) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.skip("clients/node/node_modules is missing: run `make node` (npm install in clients/node)")
    env = {**os.environ, "VOICESVC_TARGET": server.target}
    done = subprocess.run(
        [node, "--test", "--test-reporter=tap", "test/"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    report = f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"node --test failed:\n{report}"
    assert re.search(r"^# skipped 0$", done.stdout, re.MULTILINE), f"node tests were skipped:\n{report}"
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.MULTILINE)
    assert passed, report
    assert int(passed.group(1)) > 0, report
