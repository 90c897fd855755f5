"""Generate the Python stubs of protos/voicesvc/v1 into `voicesvc.v1` (clients/python/voicesvc/v1).

    python tools/gen_stubs.py            regenerate clients/python/voicesvc/v1 (what `make proto` runs)
    python tools/gen_stubs.py --check    fail when those stubs differ from what the protos generate
    python tools/gen_stubs.py --third-party DIR
                                         copy the googleapis protos the contract imports into DIR (for buf)

The googleapis protos come from the installed googleapis-common-protos package and the well-known
types from grpcio-tools, so nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
PACKAGE = ROOT / "clients" / "python" / "voicesvc" / "v1"
GOOGLE_API = ("annotations.proto", "http.proto", "field_behavior.proto", "resource.proto")
INIT = '"""Generated protobuf and gRPC stubs of the voicesvc.v1 contract. Regenerate with `make proto`."""\n'


def googleapis_root() -> Path:
    """The include root of the googleapis protos shipped by googleapis-common-protos."""
    import google.api  # from googleapis-common-protos

    return Path(google.api.__path__[0]).parent.parent


def wkt_root() -> Path:
    """The include root of the well-known protos shipped by grpcio-tools."""
    return Path(str(resources.files("grpc_tools") / "_proto"))


def generate(out: Path) -> None:
    """Run protoc over protos/voicesvc/v1 into `out`, with mypy stubs, an `__init__.py` and `py.typed`."""
    bin_dir = Path(sys.executable).parent
    sources = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / "voicesvc" / "v1").glob("*.proto"))
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{googleapis_root()}",
        f"-I{wkt_root()}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *sources,
    ]
    result = subprocess.run(cmd, cwd=PROTOS, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"protoc failed with exit code {result.returncode}")
    generated = out / "voicesvc" / "v1"
    (generated / "__init__.py").write_text(INIT)
    (generated / "py.typed").write_text("")


def check() -> int:
    """0 when voicesvc/v1 matches freshly generated stubs, else 1 with the stale files named."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / "voicesvc" / "v1"
        names = {p.name for p in fresh.iterdir()} | {
            p.name for p in PACKAGE.iterdir() if p.is_file() and p.suffix in (".py", ".pyi", ".typed")
        }
        stale = sorted(
            n
            for n in names
            if not (fresh / n).exists()
            or not (PACKAGE / n).exists()
            or not filecmp.cmp(fresh / n, PACKAGE / n, shallow=False)
        )
    if stale:
        print(
            "clients/python/voicesvc/v1 is stale; run `make proto`. Differs: " + ", ".join(stale),
            file=sys.stderr,
        )
        return 1
    print("generated stubs match protos/")
    return 0


def copy_third_party(dest: Path) -> None:
    """Copy the googleapis protos the contract imports into `dest` (for buf)."""
    target = dest / "google" / "api"
    target.mkdir(parents=True, exist_ok=True)
    for name in GOOGLE_API:
        shutil.copyfile(googleapis_root() / "google" / "api" / name, target / name)


def main() -> int:
    """The command line; the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail when voicesvc/v1 is stale")
    parser.add_argument(
        "--third-party", type=Path, help="copy the imported googleapis protos into this folder"
    )
    args = parser.parse_args()
    if args.third_party:
        copy_third_party(args.third_party)
        return 0
    if args.check:
        return check()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        if PACKAGE.exists():
            shutil.rmtree(PACKAGE)
        shutil.copytree(Path(tmp) / "voicesvc" / "v1", PACKAGE)
    print(f"regenerated {PACKAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
