"""The `buf generate` recipes of clients/README.md work with buf alone: `make third-party-protos` lays down
the googleapis imports without a venv, the TypeScript recipe's output has no dangling import and compiles
under `tsc --strict`, and the Go recipe generates the contract only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "clients" / "node"
BUF = ROOT / ".venv" / "bin" / "buf"
THIRD_PARTY = ROOT / "build" / "third_party"
SHIPPED_GOOGLE = NODE_DIR / "protos" / "google"


def run(
    argv: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output when it fails."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def third_party() -> Path:
    """`make third-party-protos` with a PATH that has no venv on it."""
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p)
    run(["make", "--no-print-directory", "third-party-protos"], env={**os.environ, "PATH": path})
    return THIRD_PARTY


def test_third_party_protos_holds_the_googleapis_imports_and_the_error_model(third_party: Path) -> None:
    shipped = sorted(p.relative_to(SHIPPED_GOOGLE) for p in SHIPPED_GOOGLE.rglob("*.proto"))
    assert [str(p) for p in shipped] == [
        "api/annotations.proto",
        "api/field_behavior.proto",
        "api/http.proto",
        "api/resource.proto",
        "rpc/error_details.proto",
        "rpc/status.proto",
    ]
    for rel in shipped:
        assert (third_party / "google" / rel).read_bytes() == (SHIPPED_GOOGLE / rel).read_bytes()


def test_the_typescript_recipe_generates_code_that_compiles(third_party: Path, tmp_path: Path) -> None:
    plugin_bin = NODE_DIR / "node_modules" / ".bin"
    if not (plugin_bin / "protoc-gen-es").exists() or not (plugin_bin / "tsc").exists():
        pytest.skip("clients/node/node_modules is missing: run `make node`")
    env = {**os.environ, "PATH": f"{plugin_bin}{os.pathsep}{os.environ['PATH']}"}
    run([str(BUF), "generate", "--template", "clients/buf/buf.gen.ts.yaml", "-o", str(tmp_path)], env=env)
    generated = tmp_path / "gen" / "ts"
    files = sorted(generated.rglob("*.ts"))
    assert generated / "voicesvc" / "v1" / "call_control_pb.ts" in files
    assert generated / "google" / "rpc" / "error_details_pb.ts" in files
    for file in files:
        for target in re.findall(r'from "(\.{1,2}/[^"]+)"', file.read_text()):
            assert (file.parent / f"{target}.ts").is_file(), f"{file.relative_to(tmp_path)} imports {target}"
    (tmp_path / "node_modules").symlink_to(NODE_DIR / "node_modules")
    (tmp_path / "use.ts").write_text(
        "import { create, fromBinary, toBinary } from '@bufbuild/protobuf';\n"
        "import { CallControl, DialCallRequestSchema } from './gen/ts/voicesvc/v1/call_control_pb';\n"
        "import { BadRequestSchema } from './gen/ts/google/rpc/error_details_pb';\n"
        "const dial = create(DialCallRequestSchema, { connectionId: 'c', from: '+15551110000',\n"
        "  to: { case: 'toString', value: '+15552220000' } });\n"
        "const again = fromBinary(DialCallRequestSchema, toBinary(DialCallRequestSchema, dial));\n"
        "const violations = create(BadRequestSchema, { fieldViolations: [{ field: 'from' }] });\n"
        "export const names: string[] = [CallControl.method.dialCall.name, again.connectionId ?? '',\n"
        "  violations.fieldViolations[0].field];\n"
    )
    done = subprocess.run(
        [str(plugin_bin / "tsc"), "--strict", "--noEmit", "--target", "es2022", "--module", "esnext",
         "--moduleResolution", "bundler", "use.ts"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout


def test_the_go_recipe_generates_the_contract_only(third_party: Path, tmp_path: Path) -> None:
    if shutil.which("protoc-gen-go") is None or shutil.which("protoc-gen-go-grpc") is None:
        pytest.skip("protoc-gen-go and protoc-gen-go-grpc are not installed (make polyglot installs them)")
    run([str(BUF), "generate", "--template", "clients/buf/buf.gen.go.yaml", "--path", "protos/voicesvc",
         "-o", str(tmp_path)])  # fmt: skip
    generated = sorted(
        str(p.relative_to(tmp_path / "gen" / "go")) for p in (tmp_path / "gen" / "go").rglob("*.go")
    )
    contract = sorted(p.stem for p in (ROOT / "protos" / "voicesvc" / "v1").glob("*.proto"))
    assert [g for g in generated if not g.endswith("_grpc.pb.go")] == [
        f"voicesvc/v1/{c}.pb.go" for c in contract
    ]
    source = (tmp_path / "gen" / "go" / "voicesvc" / "v1" / "call_control.pb.go").read_text()
    assert '"google.golang.org/genproto/googleapis/api/annotations"' in source
