"""The committed `voicesvc.v1` stubs are exactly what `make proto` generates from protos/."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_stubs_match_the_protos() -> None:
    result = subprocess.run(
        [sys.executable, "tools/gen_stubs.py", "--check"],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
