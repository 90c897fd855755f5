"""Refuse contract changes that break existing clients: `buf breaking` (FILE rules) on protos/.

    python tools/check_breaking.py                  working tree against HEAD (before committing)
    python tools/check_breaking.py --against REF    working tree against any git revision (a release tag)

Both sides are compiled into descriptor images with grpcio-tools (googleapis protos from the installed
package), so the check needs no network and no buf module cache.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gen_stubs import PROTOS, ROOT, googleapis_root, wkt_root

RULES = "version: v2\nbreaking:\n  use:\n    - FILE\n"


def image(proto_root: Path, out: Path) -> Path:
    """A descriptor image (with imports and comments) of `proto_root/voicesvc/v1/*.proto`."""
    sources = sorted(str(p.relative_to(proto_root)) for p in (proto_root / "voicesvc" / "v1").glob("*.proto"))
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{googleapis_root()}",
        f"-I{wkt_root()}",
        "--include_imports",
        "--include_source_info",
        f"--descriptor_set_out={out}",
        *sources,
    ]
    result = subprocess.run(cmd, cwd=proto_root, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"protoc failed on {proto_root}:\n{result.stderr}")
    return out


def breaking_changes(old_root: Path, new_root: Path) -> list[str]:
    """The breaking-change findings (from buf) of `new_root` against `old_root`; empty when compatible."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old, new = image(old_root, work / "old.binpb"), image(new_root, work / "new.binpb")
        (work / "buf.yaml").write_text(RULES)
        buf = Path(sys.executable).parent / "buf"
        result = subprocess.run(
            [str(buf), "breaking", str(new), "--against", str(old), "--config", str(work / "buf.yaml")],
            check=False,
            capture_output=True,
            text=True,
        )
    if result.returncode not in (0, 100):
        raise SystemExit(f"buf breaking failed to run:\n{result.stderr}")
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


def export(ref: str, dest: Path) -> bool:
    """Write protos/ as of git revision `ref` into `dest`; False when that revision has none."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "protos"], cwd=ROOT, check=False, capture_output=True
    )
    if archive.returncode != 0:
        return False
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return (dest / "protos" / "voicesvc" / "v1").is_dir()


def main() -> int:
    """The command line; the exit status (1 when a change would break clients)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", default="HEAD", help="git revision to compare with (default: HEAD)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not export(args.against, Path(tmp)):
            print(f"{args.against} has no protos/: nothing to compare")
            return 0
        findings = breaking_changes(Path(tmp) / "protos", PROTOS)
    if findings:
        print(f"breaking changes against {args.against}:", *findings, sep="\n  ", file=sys.stderr)
        return 1
    print(f"protos/ is compatible with {args.against}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
