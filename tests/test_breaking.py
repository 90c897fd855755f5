"""`tools/check_breaking.py` (`make breaking`) refuses changes that would break generated clients."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from check_breaking import breaking_changes  # noqa: E402

DIAL_FROM = "optional string from = 2 ["


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    return tmp_path / "protos"


def _edit(root: Path, old: str, new: str) -> None:
    path = root / "voicesvc" / "v1" / "call_control.proto"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_an_unchanged_contract_is_compatible(copy: Path) -> None:
    assert breaking_changes(ROOT / "protos", copy) == []


def test_a_renumbered_field_is_refused(copy: Path) -> None:
    _edit(copy, DIAL_FROM, "optional string from = 900 [")
    findings = breaking_changes(ROOT / "protos", copy)
    assert any('"from"' in f and "DialCallRequest" in f for f in findings), findings


def test_a_new_field_is_compatible(copy: Path) -> None:
    _edit(
        copy,
        "message DialCallRequest {",
        "message DialCallRequest {\n  // A new field.\n  optional string x = 901;",
    )
    assert breaking_changes(ROOT / "protos", copy) == []
