"""The Node.js client (clients/node): its shipped protos and generated types match the contract, its test
suite passes against a running voicesvc, and its `npm pack` tarball installs into an empty project where the
README example runs and `tsc --strict` checks requests and responses against the protos."""

from __future__ import annotations

import json
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


def test_generated_typescript_types_match_the_protos() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    done = subprocess.run(
        [node, "scripts/gen-types.js", "--check"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    # One attempt per upstream request: what reaches Telnyx twice was repeated by the client itself.
    with running_server({"VOICESVC_RETRY_MAX_ATTEMPTS": "1"}) as srv:
        yield srv


def sandbox_url(server: ServerProcess) -> str:
    """The embedded sandbox's root URL (admin API under /_sandbox), from the server's first log line."""
    for line in server.log_path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.startswith("{") else {}
        if record.get("event") == "embedded_sandbox":
            return str(record["base_url"]).removesuffix("/v2")
    raise AssertionError("the server did not log its embedded sandbox")


def test_node_client_suite_passes_against_voicesvc(server: ServerProcess) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.skip("clients/node/node_modules is missing: run `make node` (npm install in clients/node)")
    env = {**os.environ, "VOICESVC_TARGET": server.target, "VOICESVC_SANDBOX_URL": sandbox_url(server)}
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


def npm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run npm quietly; fail the test with its output when it fails."""
    done = subprocess.run(
        ["npm", *args, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"npm {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty npm project with nothing but the packed tarball installed."""
    if shutil.which("npm") is None or not (NODE_DIR / "node_modules" / "typescript").is_dir():
        pytest.skip("npm or clients/node/node_modules is missing: run `make node`")
    packed = tmp_path_factory.mktemp("pack")
    out = npm("pack", "--json", "--pack-destination", str(packed), cwd=NODE_DIR).stdout
    listing = json.loads(out[out.index("\n[") :])  # after what the prepack checks print
    shipped = {entry["path"] for entry in listing[0]["files"]}
    assert {
        "protos/voicesvc/v1/call_control.proto",
        "protos/google/rpc/status.proto",
        "lib/contract.d.ts",
    } <= shipped
    assert not any(path.startswith(("test/", "scripts/", "node_modules/")) for path in shipped)
    root = tmp_path_factory.mktemp("project")
    (root / "package.json").write_text(
        json.dumps({"name": "uses-voicesvc", "version": "1.0.0", "private": True})
    )
    npm("install", str(packed / listing[0]["filename"]), cwd=root)
    return root


def readme_example() -> str:
    blocks = re.findall(r"```js\n(.*?)```", (NODE_DIR / "README.md").read_text(), flags=re.DOTALL)
    return next(b for b in blocks if "createClient" in b)


def test_the_packed_tarball_runs_the_readme_example_in_an_empty_project(
    project: Path, server: ServerProcess
) -> None:
    (project / "example.js").write_text(readme_example().replace("127.0.0.1:50051", server.target))
    done = subprocess.run(
        ["node", "example.js"], cwd=project, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "call.answered",
        "call.speak.ended",
        "CALL_STATE_ENDED HANGUP_CAUSE_NORMAL_CLEARING",
        "FailedPrecondition 90018",
    ]


def tsc(project: Path, sample: str) -> subprocess.CompletedProcess[str]:
    """`tsc --strict` (the package's own TypeScript) on one sample of clients/node/test/types in `project`."""
    shutil.copy(NODE_DIR / "test" / "types" / sample, project / sample)
    return subprocess.run(
        [
            str(NODE_DIR / "node_modules" / ".bin" / "tsc"),
            "--strict",
            "--noEmit",
            "--target",
            "es2022",
            "--module",
            "commonjs",
            "--moduleResolution",
            "node10",
            "--types",
            "node",
            sample,
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_tsc_strict_accepts_correct_use_of_the_installed_package(project: Path) -> None:
    done = tsc(project, "good.ts")
    assert done.returncode == 0, done.stdout


def test_tsc_strict_rejects_misspelled_fields_and_methods(project: Path) -> None:
    done = tsc(project, "bad.ts")
    sample = (NODE_DIR / "test" / "types" / "bad.ts").read_text().splitlines()
    expected = {n for n, line in enumerate(sample, start=1) if "// error:" in line}
    errors = re.findall(r"^bad\.ts\((\d+),\d+\): error (TS\d+): (.*)$", done.stdout, flags=re.MULTILINE)
    assert done.returncode != 0
    assert {int(line) for line, _, _ in errors} == expected, done.stdout
    assert len(errors) == len(expected), done.stdout
    messages = "\n".join(message for _, _, message in errors)
    assert "'conection_id' does not exist in type 'DialCallRequest'" in messages
    assert "Property 'speakTxt' does not exist on type 'VoiceClient'" in messages
    assert "Property 'call_control_idd' does not exist on type 'DialCallResponse'" in messages
